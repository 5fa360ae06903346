package observe

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// Socket is one line of an ss listing: an MPTCP connection (Netid
// "mptcp", the kernel's msk) or one of its subflows (Netid "tcp"), with
// the fields ss prints for it. Kernel sockets come from sock_diag (package
// internal/sockdiag), our stack's from ConnInfo (SocketsOf), so both print
// alike.
type Socket struct {
	Netid   string         `json:"netid"` // "mptcp" or "tcp"
	State   string         `json:"state"` // ss's words: ESTAB, SYN-SENT, LISTEN, ...
	RecvQ   uint32         `json:"recv_q"`
	SendQ   uint32         `json:"send_q"`
	Local   netip.AddrPort `json:"local"`
	Peer    netip.AddrPort `json:"peer"`
	Iface   string         `json:"iface,omitempty"` // the device a subflow is bound to
	MPTCP   *MPTCPInfo     `json:"mptcp,omitempty"`
	TCP     *TCPInfo       `json:"tcp,omitempty"`
	Subflow *SubflowInfo   `json:"subflow,omitempty"`
}

// MPTCPInfo holds what ss -M prints after an MPTCP socket, the kernel's
// struct mptcp_info.
type MPTCPInfo struct {
	Subflows            uint8  `json:"subflows"`
	AddAddrSignal       uint8  `json:"add_addr_signal"`
	AddAddrAccepted     uint8  `json:"add_addr_accepted"`
	SubflowsMax         uint8  `json:"subflows_max"`
	AddAddrSignalMax    uint8  `json:"add_addr_signal_max"`
	AddAddrAcceptedMax  uint8  `json:"add_addr_accepted_max"`
	Fallback            bool   `json:"fallback"`
	RemoteKey           bool   `json:"remote_key"`
	Token               uint32 `json:"token"`
	WriteSeq            uint64 `json:"write_seq"`
	SndUna              uint64 `json:"snd_una"`
	RcvNxt              uint64 `json:"rcv_nxt"`
	BytesSent           uint64 `json:"bytes_sent"`
	BytesReceived       uint64 `json:"bytes_received"`
	BytesAcked          uint64 `json:"bytes_acked"`
	SubflowsTotal       uint8  `json:"subflows_total"`
	Checksum            bool   `json:"csum_enabled"`
	FallbackReason      string `json:"fallback_reason,omitempty"` // ours only
	Scheduler           string `json:"scheduler,omitempty"`       // ours only
	RecentSchedule      []int  `json:"recent_schedule,omitempty"` // ours only: subflow IDs of the latest mappings, oldest first
	PathManager         string `json:"path_manager,omitempty"`    // ours only
	CongestionControl   string `json:"congestion_control,omitempty"`
	ReceiveBuffer       int    `json:"receive_buffer,omitempty"`
	ReceiveBufferFilled int    `json:"receive_buffered,omitempty"`
}

// SubflowInfo is what ss prints after "tcp-ulp-mptcp" for a subflow: the
// kernel's MPTCP_SUBFLOW_ATTR_* attributes.
type SubflowInfo struct {
	Flags    string `json:"flags"` // M m J j B b e c v, as ss prints them
	TokenRem uint32 `json:"token_rem"`
	TokenLoc uint32 `json:"token_loc"`
	IDRem    uint8  `json:"id_rem"`
	IDLoc    uint8  `json:"id_loc"`
	Seq      uint64 `json:"seq"`
	SfSeq    uint32 `json:"sfseq"`
	SsnOff   uint32 `json:"ssnoff"`
	MapLen   uint16 `json:"maplen"`
}

// TCPInfo holds the ss -i fields of a subflow (the kernel's tcp_info and
// congestion control name). Durations are what ss prints in ms.
type TCPInfo struct {
	CC            string        `json:"cc"`
	SndWscale     uint8         `json:"snd_wscale"`
	RcvWscale     uint8         `json:"rcv_wscale"`
	Wscale        bool          `json:"wscale"`
	RTO           time.Duration `json:"rto"`
	RTT           time.Duration `json:"r_t_t"`
	RTTVar        time.Duration `json:"r_t_t_var"`
	ATO           time.Duration `json:"ato"`
	MSS           uint32        `json:"m_s_s"`
	PMTU          uint32        `json:"p_m_t_u"`
	RcvMSS        uint32        `json:"rcv_m_s_s"`
	AdvMSS        uint32        `json:"adv_m_s_s"`
	Cwnd          uint32        `json:"cwnd"` // segments
	Ssthresh      uint32        `json:"ssthresh"`
	BytesSent     uint64        `json:"bytes_sent"`
	BytesRetrans  uint64        `json:"bytes_retrans"`
	BytesAcked    uint64        `json:"bytes_acked"`
	BytesReceived uint64        `json:"bytes_received"`
	SegsOut       uint64        `json:"segs_out"`
	SegsIn        uint64        `json:"segs_in"`
	DataSegsOut   uint64        `json:"data_segs_out"`
	DataSegsIn    uint64        `json:"data_segs_in"`
	PacingRate    uint64        `json:"pacing_rate"` // bytes/s
	DeliveryRate  uint64        `json:"delivery_rate"`
	Delivered     uint32        `json:"delivered"`
	AppLimited    bool          `json:"app_limited"`
	Busy          time.Duration `json:"busy"`
	RwndLimited   time.Duration `json:"rwnd_limited"`
	SndbufLimited time.Duration `json:"sndbuf_limited"`
	DsackDups     uint32        `json:"dsack_dups"`
	RcvRTT        time.Duration `json:"rcv_rtt"`
	Retrans       uint32        `json:"retrans"`
	TotalRetrans  uint32        `json:"total_retrans"`
	Lost          uint32        `json:"lost"`
	Unacked       uint32        `json:"unacked"`
	RcvSpace      uint32        `json:"rcv_space"`
	RcvSsthresh   uint32        `json:"rcv_ssthresh"`
	MinRTT        time.Duration `json:"minrtt"`
	SndWnd        uint32        `json:"snd_wnd"`
	RcvWnd        uint32        `json:"rcv_wnd"`
	// Loss and reordering state beside Lost and Retrans.
	Backoff     uint8  `json:"backoff"` // RTO backoff exponent (timeouts in a row)
	Sacked      uint32 `json:"sacked"`  // segments
	Fackets     uint32 `json:"fackets"`
	Reordering  uint32 `json:"reordering"` // the reordering degree; 0 if not known
	ReordSeen   uint32 `json:"reord_seen"`
	RcvOOOPack  uint32 `json:"rcv_ooopack"` // out-of-order packets received
	Notsent     uint32 `json:"notsent"`     // bytes written, not yet sent
	DeliveredCE uint32 `json:"delivered_ce"`
	Rehash      uint32 `json:"rehash"`
	// Since: time since the last data sent, received, and ACK received.
	LastSnd time.Duration `json:"last_snd"`
	LastRcv time.Duration `json:"last_rcv"`
	LastAck time.Duration `json:"last_ack"`
}

// FormatOptions choose what Format prints, as ss's flags do.
type FormatOptions struct {
	// Info prints the ss -i line after each socket. Addresses are
	// always numeric (ss -n): names are never resolved.
	Info bool
}

// Format writes socks as ss -M (-t, -i) prints them: a header, one line per
// socket, and with Info an indented line of its details.
func Format(w io.Writer, socks []Socket, o FormatOptions) error {
	netid := false
	for _, s := range socks {
		if s.Netid != "mptcp" {
			netid = true
		}
	}
	rows := [][]string{{"State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Process"}}
	if netid {
		rows[0] = append([]string{"Netid"}, rows[0]...)
	}
	for _, s := range socks {
		local := s.Local.Addr().String()
		if s.Iface != "" {
			local += "%" + s.Iface
		}
		r := []string{s.State, fmt.Sprint(s.RecvQ), fmt.Sprint(s.SendQ), addrPort(local, s.Local.Port()), addrPort(s.Peer.Addr().String(), s.Peer.Port()), ""}
		if netid {
			r = append([]string{s.Netid}, r...)
		}
		rows = append(rows, r)
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for i, r := range rows {
		for j, c := range r {
			switch {
			case j == len(r)-1:
				b.WriteString(c)
			case isRight(rows[0][j]):
				fmt.Fprintf(&b, "%*s ", width[j], c)
			default:
				fmt.Fprintf(&b, "%-*s ", width[j], c)
			}
		}
		b.WriteString("\n")
		if i > 0 && o.Info {
			if d := details(&socks[i-1]); d != "" {
				b.WriteString("\t" + d + "\n") // ss too starts it with a tab and a space
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func isRight(h string) bool {
	return h == "Local Address:Port"
}

func addrPort(a string, port uint16) string {
	if strings.Contains(a, ":") {
		a = "[" + a + "]"
	}
	return fmt.Sprintf("%s:%d", a, port)
}

// details is the ss -i line of a socket.
func details(s *Socket) string {
	var b strings.Builder
	if m := s.MPTCP; m != nil {
		writeMPTCP(&b, m)
	}
	if t := s.TCP; t != nil {
		writeTCP(&b, t)
	}
	if sf := s.Subflow; sf != nil {
		fmt.Fprintf(&b, " tcp-ulp-mptcp flags:%s token:%04x(id:%d)/%04x(id:%d) seq:%x sfseq:%x ssnoff:%x maplen:%x",
			sf.Flags, sf.TokenRem, sf.IDRem, sf.TokenLoc, sf.IDLoc, sf.Seq, sf.SfSeq, sf.SsnOff, sf.MapLen)
	}
	return b.String()
}

// writeMPTCP prints struct mptcp_info as iproute2's ss does: fields that
// are zero are left out.
func writeMPTCP(b *strings.Builder, m *MPTCPInfo) {
	num := func(name string, v uint64, hex bool) {
		switch {
		case v == 0:
		case hex:
			fmt.Fprintf(b, " %s:%x", name, v)
		default:
			fmt.Fprintf(b, " %s:%d", name, v)
		}
	}
	num("subflows", uint64(m.Subflows), false)
	num("add_addr_signal", uint64(m.AddAddrSignal), false)
	num("add_addr_accepted", uint64(m.AddAddrAccepted), false)
	num("subflows_max", uint64(m.SubflowsMax), false)
	num("add_addr_signal_max", uint64(m.AddAddrSignalMax), false)
	num("add_addr_accepted_max", uint64(m.AddAddrAcceptedMax), false)
	if m.Fallback {
		b.WriteString(" fallback")
	}
	if m.RemoteKey {
		b.WriteString(" remote_key")
	}
	num("token", uint64(m.Token), true)
	num("write_seq", m.WriteSeq, true)
	num("snd_una", m.SndUna, true)
	num("rcv_nxt", m.RcvNxt, true)
	if m.Scheduler != "" {
		fmt.Fprintf(b, " sched:%s pm:%s cc:%s", m.Scheduler, m.PathManager, m.CongestionControl)
	}
	if m.FallbackReason != "" {
		fmt.Fprintf(b, " fallback_reason:%s", m.FallbackReason)
	}
	if len(m.RecentSchedule) > 0 {
		b.WriteString(" recent_sched:")
		for i, id := range m.RecentSchedule {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(b, id)
		}
	}
}

// ms prints a duration in milliseconds as ss does ("%g", three decimals
// at most).
func ms(d time.Duration) string {
	return fmt.Sprintf("%g", float64(d.Microseconds())/1000)
}

// bps prints a rate in bit/s as ss does.
func bps(bytesPerSec float64) string { return fmt.Sprintf("%.0fbps", bytesPerSec*8) }

// writeTCP prints the ss -i fields of tcp_info, in ss's order.
func writeTCP(b *strings.Builder, t *TCPInfo) {
	if t.CC != "" {
		fmt.Fprintf(b, " %s", t.CC)
	}
	if t.Wscale {
		fmt.Fprintf(b, " wscale:%d,%d", t.SndWscale, t.RcvWscale)
	}
	if t.RTO > 0 {
		fmt.Fprintf(b, " rto:%s", ms(t.RTO))
	}
	if t.Backoff > 0 {
		fmt.Fprintf(b, " backoff:%d", t.Backoff)
	}
	if t.RTT > 0 {
		fmt.Fprintf(b, " rtt:%s/%s", ms(t.RTT), ms(t.RTTVar))
	}
	if t.ATO > 0 {
		fmt.Fprintf(b, " ato:%s", ms(t.ATO))
	}
	if t.MSS > 0 {
		fmt.Fprintf(b, " mss:%d", t.MSS)
	}
	if t.PMTU > 0 {
		fmt.Fprintf(b, " pmtu:%d", t.PMTU)
	}
	if t.RcvMSS > 0 {
		fmt.Fprintf(b, " rcvmss:%d", t.RcvMSS)
	}
	if t.AdvMSS > 0 {
		fmt.Fprintf(b, " advmss:%d", t.AdvMSS)
	}
	fmt.Fprintf(b, " cwnd:%d", t.Cwnd)
	if t.Ssthresh > 0 && t.Ssthresh < 0x7fffffff {
		fmt.Fprintf(b, " ssthresh:%d", t.Ssthresh)
	}
	u := func(name string, v uint64) {
		if v > 0 {
			fmt.Fprintf(b, " %s:%d", name, v)
		}
	}
	u("bytes_sent", t.BytesSent)
	u("bytes_retrans", t.BytesRetrans)
	u("bytes_acked", t.BytesAcked)
	u("bytes_received", t.BytesReceived)
	u("segs_out", t.SegsOut)
	u("segs_in", t.SegsIn)
	u("data_segs_out", t.DataSegsOut)
	u("data_segs_in", t.DataSegsIn)
	if t.RTT > 0 && t.MSS > 0 && t.Cwnd > 0 {
		fmt.Fprintf(b, " send %s", bps(float64(t.Cwnd)*float64(t.MSS)/t.RTT.Seconds()))
	}
	u("lastsnd", uint64(t.LastSnd.Milliseconds()))
	u("lastrcv", uint64(t.LastRcv.Milliseconds()))
	u("lastack", uint64(t.LastAck.Milliseconds()))
	if t.PacingRate > 0 {
		fmt.Fprintf(b, " pacing_rate %s", bps(float64(t.PacingRate)))
	}
	if t.DeliveryRate > 0 {
		fmt.Fprintf(b, " delivery_rate %s", bps(float64(t.DeliveryRate)))
	}
	u("delivered", uint64(t.Delivered))
	u("delivered_ce", uint64(t.DeliveredCE))
	if t.AppLimited {
		b.WriteString(" app_limited")
	}
	if t.Busy > 0 {
		fmt.Fprintf(b, " busy:%dms", t.Busy.Milliseconds())
		limited := func(name string, d time.Duration) {
			if d > 0 {
				fmt.Fprintf(b, " %s:%dms(%.1f%%)", name, d.Milliseconds(), 100*d.Seconds()/t.Busy.Seconds())
			}
		}
		limited("rwnd_limited", t.RwndLimited)
		limited("sndbuf_limited", t.SndbufLimited)
	}
	if t.Unacked > 0 {
		fmt.Fprintf(b, " unacked:%d", t.Unacked)
	}
	if t.Retrans > 0 || t.TotalRetrans > 0 {
		fmt.Fprintf(b, " retrans:%d/%d", t.Retrans, t.TotalRetrans)
	}
	u("lost", uint64(t.Lost))
	u("sacked", uint64(t.Sacked))
	u("dsack_dups", uint64(t.DsackDups))
	u("fackets", uint64(t.Fackets))
	if t.Reordering != 0 && t.Reordering != 3 { // ss leaves out the default, 3
		fmt.Fprintf(b, " reordering:%d", t.Reordering)
	}
	u("reord_seen", uint64(t.ReordSeen))
	if t.RcvRTT > 0 {
		fmt.Fprintf(b, " rcv_rtt:%s", ms(t.RcvRTT))
	}
	u("rcv_space", uint64(t.RcvSpace))
	u("rcv_ssthresh", uint64(t.RcvSsthresh))
	u("notsent", uint64(t.Notsent))
	if t.MinRTT > 0 {
		fmt.Fprintf(b, " minrtt:%s", ms(t.MinRTT))
	}
	u("rcv_ooopack", uint64(t.RcvOOOPack))
	u("snd_wnd", uint64(t.SndWnd))
	// rcv_wnd and rehash stay in the JSON: ss prints them from iproute2
	// 6.2 on, and the listing follows Debian's ss (6.1).
}
