//go:build linux

package sockdiag

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp/observe"
)

// inet_diag constants (linux/inet_diag.h, linux/mptcp.h).
const (
	diagInfo      = 2  // INET_DIAG_INFO
	diagCong      = 4  // INET_DIAG_CONG
	diagULPInfo   = 19 // INET_DIAG_ULP_INFO
	reqProtocol   = 3  // INET_DIAG_REQ_PROTOCOL
	ulpName       = 1  // INET_ULP_INFO_NAME
	ulpMPTCP      = 3  // INET_ULP_INFO_MPTCP
	diagMsgLen    = 72 // struct inet_diag_msg
	sfTokenRem    = 1  // MPTCP_SUBFLOW_ATTR_TOKEN_REM
	sfTokenLoc    = 2
	sfRelWriteSeq = 3
	sfMapSeq      = 4
	sfMapSfSeq    = 5
	sfSsnOffset   = 6
	sfMapDataLen  = 7
	sfFlags       = 8
	sfIDRem       = 9
	sfIDLoc       = 10
	infoFallback  = 1 << 0 // MPTCP_INFO_FLAG_FALLBACK
	infoRemoteKey = 1 << 1 // MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED
	optWscale     = 4      // TCPI_OPT_WSCALE
)

// ssStates are the TCP states by the kernel's number, as ss names them.
var ssStates = [...]string{1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
	6: "TIME-WAIT", 7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING"}

// Options choose what List returns.
type Options struct {
	// TCP includes TCP sockets (subflows among them), as ss -t.
	TCP bool
	// Listening includes listening sockets, as ss -l (else every state
	// but LISTEN and CLOSE, ss's default).
	Listening bool
}

// List returns the MPTCP sockets of the current network namespace, and
// with o.TCP its TCP sockets, in ss -Mt's order (TCP first, IPv4 before
// IPv6).
func List(o Options) ([]observe.Socket, error) {
	c, err := netlink.Dial(unix.NETLINK_SOCK_DIAG, nil)
	if err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	defer c.Close()
	states := uint32(0xfff) &^ (1<<10 | 1<<7)
	if o.Listening {
		states = 1 << 10
	}
	var out []observe.Socket
	protos := []uint32{unix.IPPROTO_MPTCP}
	if o.TCP {
		protos = []uint32{unix.IPPROTO_TCP, unix.IPPROTO_MPTCP}
	}
	for _, proto := range protos {
		for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
			socks, err := dump(c, fam, proto, states)
			if err != nil {
				return nil, err
			}
			out = append(out, socks...)
		}
	}
	return out, nil
}

// dump asks for one family's sockets of one protocol.
func dump(c *netlink.Conn, family uint8, proto, states uint32) ([]observe.Socket, error) {
	req := make([]byte, 56) // struct inet_diag_req_v2
	req[0] = family
	req[1] = uint8(proto) // IPPROTO_MPTCP does not fit: the attribute below says it
	req[2] = 1<<(diagInfo-1) | 1<<(diagCong-1)
	binary.NativeEndian.PutUint32(req[4:], states)
	if proto > 255 {
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(reqProtocol, proto)
		b, err := ae.Encode()
		if err != nil {
			return nil, err
		}
		req = append(req, b...)
	}
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.SOCK_DIAG_BY_FAMILY, Flags: netlink.Request | netlink.Dump},
		Data:   req,
	})
	if err != nil {
		return nil, fmt.Errorf("sock_diag dump (family %d, protocol %d): %w", family, proto, err)
	}
	var out []observe.Socket
	for _, m := range msgs {
		s, err := parse(m.Data, proto == unix.IPPROTO_MPTCP)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// parse decodes one struct inet_diag_msg and its attributes.
func parse(b []byte, mptcp bool) (observe.Socket, error) {
	if len(b) < diagMsgLen {
		return observe.Socket{}, fmt.Errorf("sock_diag: message of %d bytes", len(b))
	}
	s := observe.Socket{Netid: "tcp"}
	if mptcp {
		s.Netid = "mptcp"
	}
	if int(b[1]) < len(ssStates) {
		s.State = ssStates[b[1]]
	}
	addr := func(raw []byte) netip.Addr {
		if b[0] == unix.AF_INET {
			return netip.AddrFrom4([4]byte(raw[:4]))
		}
		return netip.AddrFrom16([16]byte(raw[:16]))
	}
	id := b[4:52] // struct inet_diag_sockid
	s.Local = netip.AddrPortFrom(addr(id[4:20]), binary.BigEndian.Uint16(id[0:2]))
	s.Peer = netip.AddrPortFrom(addr(id[20:36]), binary.BigEndian.Uint16(id[2:4]))
	if ifi := binary.NativeEndian.Uint32(id[36:40]); ifi != 0 {
		if nif, err := net.InterfaceByIndex(int(ifi)); err == nil {
			s.Iface = nif.Name
		}
	}
	s.RecvQ = binary.NativeEndian.Uint32(b[56:60])
	s.SendQ = binary.NativeEndian.Uint32(b[60:64])
	ad, err := netlink.NewAttributeDecoder(b[diagMsgLen:])
	if err != nil {
		return s, fmt.Errorf("sock_diag attributes: %w", err)
	}
	var cc string
	for ad.Next() {
		switch ad.Type() {
		case diagInfo:
			if mptcp {
				s.MPTCP = mptcpInfo(ad.Bytes())
			} else {
				s.TCP = tcpInfo(ad.Bytes())
			}
		case diagCong:
			cc = ad.String()
		case diagULPInfo:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				s.Subflow = ulpInfo(nad)
				return nil
			})
		}
	}
	if err := ad.Err(); err != nil {
		return s, fmt.Errorf("sock_diag attributes: %w", err)
	}
	if s.TCP != nil {
		s.TCP.CC = cc
	}
	return s, nil
}

// mptcpInfo decodes struct mptcp_info (linux/mptcp.h); a shorter one from
// an older kernel leaves the later fields zero.
func mptcpInfo(raw []byte) *observe.MPTCPInfo {
	b := make([]byte, 96)
	copy(b, raw)
	le := binary.NativeEndian
	flags := le.Uint32(b[8:])
	return &observe.MPTCPInfo{
		Subflows: b[0], AddAddrSignal: b[1], AddAddrAccepted: b[2], SubflowsMax: b[3],
		AddAddrSignalMax: b[4], AddAddrAcceptedMax: b[5],
		Fallback: flags&infoFallback != 0, RemoteKey: flags&infoRemoteKey != 0,
		Token: le.Uint32(b[12:]), WriteSeq: le.Uint64(b[16:]), SndUna: le.Uint64(b[24:]), RcvNxt: le.Uint64(b[32:]),
		Checksum: b[42] != 0, BytesSent: le.Uint64(b[56:]), BytesReceived: le.Uint64(b[64:]), BytesAcked: le.Uint64(b[72:]),
		SubflowsTotal: b[80],
	}
}

// tcpInfo decodes struct tcp_info.
func tcpInfo(raw []byte) *observe.TCPInfo {
	var ti unix.TCPInfo
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&ti)), unsafe.Sizeof(ti))
	copy(buf, raw)
	us := func(v uint32) time.Duration { return time.Duration(v) * time.Microsecond }
	msd := func(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }
	t := &observe.TCPInfo{
		Wscale: ti.Options&optWscale != 0, SndWscale: buf[6] & 0xf, RcvWscale: buf[6] >> 4,
		RTO: us(ti.Rto), RTT: us(ti.Rtt), RTTVar: us(ti.Rttvar), ATO: us(ti.Ato),
		MSS: ti.Snd_mss, PMTU: ti.Pmtu, RcvMSS: ti.Rcv_mss, AdvMSS: ti.Advmss, Cwnd: ti.Snd_cwnd,
		BytesSent: ti.Bytes_sent, BytesRetrans: ti.Bytes_retrans, BytesAcked: ti.Bytes_acked, BytesReceived: ti.Bytes_received,
		SegsOut: uint64(ti.Segs_out), SegsIn: uint64(ti.Segs_in), DataSegsOut: uint64(ti.Data_segs_out), DataSegsIn: uint64(ti.Data_segs_in),
		DeliveryRate: ti.Delivery_rate, Delivered: ti.Delivered, AppLimited: buf[7]&1 != 0,
		Busy: time.Duration(ti.Busy_time) * time.Microsecond, RwndLimited: time.Duration(ti.Rwnd_limited) * time.Microsecond,
		SndbufLimited: time.Duration(ti.Sndbuf_limited) * time.Microsecond, DsackDups: ti.Dsack_dups, RcvRTT: us(ti.Rcv_rtt),
		Retrans: ti.Retrans, TotalRetrans: ti.Total_retrans, Lost: ti.Lost, Unacked: ti.Unacked,
		RcvSpace: ti.Rcv_space, RcvSsthresh: ti.Rcv_ssthresh, MinRTT: us(ti.Min_rtt), SndWnd: ti.Snd_wnd,
		LastSnd: msd(ti.Last_data_sent), LastRcv: msd(ti.Last_data_recv), LastAck: msd(ti.Last_ack_recv),
		RcvWnd: ti.Rcv_wnd, Backoff: ti.Backoff, Sacked: ti.Sacked, Fackets: ti.Fackets, Reordering: ti.Reordering,
		ReordSeen: ti.Reord_seen, RcvOOOPack: ti.Rcv_ooopack, Notsent: ti.Notsent_bytes, DeliveredCE: ti.Delivered_ce,
		Rehash: ti.Rehash,
	}
	if ti.Snd_ssthresh < 0xffff {
		t.Ssthresh = ti.Snd_ssthresh
	}
	if ti.Pacing_rate != ^uint64(0) {
		t.PacingRate = ti.Pacing_rate
	}
	return t
}

// ulpInfo decodes INET_DIAG_ULP_INFO; nil unless the ULP is mptcp.
func ulpInfo(ad *netlink.AttributeDecoder) *observe.SubflowInfo {
	var sf *observe.SubflowInfo
	mptcp := false
	for ad.Next() {
		switch ad.Type() {
		case ulpName:
			mptcp = ad.String() == "mptcp"
		case ulpMPTCP:
			sf = &observe.SubflowInfo{}
			ad.Nested(func(n *netlink.AttributeDecoder) error {
				var flags uint32
				for n.Next() {
					switch n.Type() {
					case sfTokenRem:
						sf.TokenRem = n.Uint32()
					case sfTokenLoc:
						sf.TokenLoc = n.Uint32()
					case sfMapSeq:
						sf.Seq = n.Uint64()
					case sfMapSfSeq:
						sf.SfSeq = n.Uint32()
					case sfSsnOffset:
						sf.SsnOff = n.Uint32()
					case sfMapDataLen:
						sf.MapLen = n.Uint16()
					case sfFlags:
						flags = n.Uint32()
					case sfIDRem:
						sf.IDRem = n.Uint8()
					case sfIDLoc:
						sf.IDLoc = n.Uint8()
					}
				}
				sf.Flags = subflowFlags(flags)
				return nil
			})
		}
	}
	if !mptcp {
		return nil
	}
	return sf
}

// subflowFlags spells MPTCP_SUBFLOW_FLAG_* as ss does.
func subflowFlags(f uint32) string {
	const letters = "MmJjBbecv"
	var b []byte
	for i := range len(letters) {
		if f&(1<<i) != 0 {
			b = append(b, letters[i])
		}
	}
	return string(b)
}
