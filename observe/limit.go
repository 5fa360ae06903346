package observe

import (
	"fmt"
	"net/netip"
	"sort"
	"time"
)

// PathUse is what the connections of a listing carried over one local
// address (one uplink): the sums of their subflows there.
type PathUse struct {
	Local         netip.Addr `json:"local"`
	Iface         string     `json:"iface,omitempty"`
	Subflows      int        `json:"subflows"`
	BytesAcked    uint64     `json:"bytes_acked"` // sent and acknowledged
	BytesReceived uint64     `json:"bytes_received"`
	BytesRetrans  uint64     `json:"bytes_retrans"`
}

// Paths sums a listing's subflows (its "tcp" sockets with MPTCP subflow
// information) by local address, in address order. keep, if set, selects
// the sockets to count.
func Paths(socks []Socket, keep func(*Socket) bool) []PathUse {
	by := map[netip.Addr]*PathUse{}
	for i := range socks {
		s := &socks[i]
		if s.Netid != "tcp" || s.Subflow == nil || s.TCP == nil || (keep != nil && !keep(s)) {
			continue
		}
		a := s.Local.Addr().Unmap()
		p := by[a]
		if p == nil {
			p = &PathUse{Local: a, Iface: s.Iface}
			by[a] = p
		}
		p.Subflows++
		p.BytesAcked += s.TCP.BytesAcked
		p.BytesReceived += s.TCP.BytesReceived
		p.BytesRetrans += s.TCP.BytesRetrans
	}
	out := make([]PathUse, 0, len(by))
	for _, p := range by {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Local.Less(out[j].Local) })
	return out
}

// The limits Diagnose names, in the order it tests them.
const (
	LimitReceiveBuffer = "receive buffer" // the connection's receive buffer is full
	LimitApplication   = "application"    // the sender has nothing to send
	LimitWindow        = "receive window" // the connection's bytes in flight fill the peer's window (or it is closed)
	LimitLoss          = "loss"           // over 2% of the bytes sent were retransmitted
	LimitCwnd          = "congestion window"
	LimitRTT           = "rtt" // over twice the fastest subflow's RTT: the scheduler prefers the others
	// LimitCPU is the machine's CPU: it is busy, or the process uses every
	// core it may; Diagnose does not see it (a socket listing does not
	// tell), the caller that measured it sets it (the proxy's status).
	LimitCPU  = "cpu"
	LimitNone = ""
)

// SubflowLimit is one subflow of ConnLimit.
type SubflowLimit struct {
	Local        netip.AddrPort `json:"local"`
	Peer         netip.AddrPort `json:"peer"`
	RTT          time.Duration  `json:"rtt"`
	Cwnd         uint32         `json:"cwnd"` // segments
	DeliveryRate uint64         `json:"delivery_rate"`
	Limit        string         `json:"limit,omitempty"`
}

// ConnLimit says what holds an MPTCP connection's throughput back: per
// subflow, the first of the limits (LimitLoss, ...) that applies; for
// the whole connection its receive buffer, when that is full.
type ConnLimit struct {
	Token    string         `json:"token"`
	Local    netip.AddrPort `json:"local"`
	Peer     netip.AddrPort `json:"peer"`
	Limit    string         `json:"limit,omitempty"` // LimitReceiveBuffer, LimitCPU or ""
	Subflows []SubflowLimit `json:"subflows"`
}

// Diagnose diagnoses each MPTCP connection of a listing (as mptcp stat -t
// -i lists them, for our stack or the kernel's) from its subflows'
// counters. It is a reading of one instant: a window or cwnd limit shows
// while data is in flight, so call it during a transfer. keep, if set,
// selects the connections (by their "mptcp" socket).
func Diagnose(socks []Socket, keep func(*Socket) bool) []ConnLimit {
	subs := map[uint32][]*Socket{}
	for i := range socks {
		s := &socks[i]
		if s.Netid == "tcp" && s.Subflow != nil && s.TCP != nil {
			subs[s.Subflow.TokenLoc] = append(subs[s.Subflow.TokenLoc], s)
		}
	}
	var out []ConnLimit
	for i := range socks {
		s := &socks[i]
		if s.Netid != "mptcp" || s.MPTCP == nil || (keep != nil && !keep(s)) {
			continue
		}
		cl := ConnLimit{Token: fmt.Sprintf("%08x", s.MPTCP.Token), Local: s.Local, Peer: s.Peer, Subflows: []SubflowLimit{}}
		if m := s.MPTCP; m.ReceiveBuffer > 0 && m.ReceiveBufferFilled*10 >= m.ReceiveBuffer*9 {
			cl.Limit = LimitReceiveBuffer
		}
		sfs := subs[s.MPTCP.Token]
		c := connView{sendQ: s.SendQ}
		for _, sf := range sfs {
			if sf.TCP.RTT > 0 && (c.fastest == 0 || sf.TCP.RTT < c.fastest) {
				c.fastest = sf.TCP.RTT
			}
			c.inFlight += uint64(sf.TCP.Unacked) * uint64(max(sf.TCP.MSS, 1))
		}
		for _, sf := range sfs {
			cl.Subflows = append(cl.Subflows, SubflowLimit{Local: sf.Local, Peer: sf.Peer, RTT: sf.TCP.RTT, Cwnd: sf.TCP.Cwnd,
				DeliveryRate: sf.TCP.DeliveryRate, Limit: subflowLimit(sf, c)})
		}
		out = append(out, cl)
	}
	return out
}

// connView is what subflowLimit needs of a subflow's connection.
type connView struct {
	sendQ    uint32        // unsent and unacknowledged bytes
	inFlight uint64        // bytes in flight on all its subflows
	fastest  time.Duration // the smallest RTT of its subflows
}

// subflowLimit is the first limit that applies to a subflow. The peer's
// receive window is the connection's, shared by its subflows (RFC 8684,
// section 3.3.4): it holds a subflow back when the connection's bytes in
// flight on all of them fill it, not only the subflow's own, and when it
// is closed (0). It comes before loss: while it is full, no recovery from
// loss would let more out.
func subflowLimit(sf *Socket, c connView) string {
	t := sf.TCP
	mss := uint64(max(t.MSS, 1))
	switch {
	case t.Unacked == 0 && c.sendQ == 0:
		return LimitApplication
	case t.SndWnd == 0 && t.Unacked == 0, // closed, nothing in flight (a kernel without tcpi_snd_wnd reports 0 too)
		t.SndWnd > 0 && max(c.inFlight, uint64(t.Unacked)*mss)+mss >= uint64(t.SndWnd):
		return LimitWindow
	case t.BytesSent > 0 && t.BytesRetrans*50 > t.BytesSent:
		return LimitLoss
	case t.Cwnd > 0 && t.Unacked+1 >= t.Cwnd:
		return LimitCwnd
	case c.fastest > 0 && t.RTT > 2*c.fastest:
		return LimitRTT
	}
	return LimitNone
}
