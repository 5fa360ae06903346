package observe

import (
	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/tcp"
)

// ssState names a TCP state as ss does.
var ssState = map[tcp.State]string{
	tcp.StateClosed: "CLOSE", tcp.StateListen: "LISTEN", tcp.StateSynSent: "SYN-SENT",
	tcp.StateSynReceived: "SYN-RECV", tcp.StateEstablished: "ESTAB", tcp.StateFinWait1: "FIN-WAIT-1",
	tcp.StateFinWait2: "FIN-WAIT-2", tcp.StateCloseWait: "CLOSE-WAIT", tcp.StateClosing: "CLOSING",
	tcp.StateLastAck: "LAST-ACK", tcp.StateTimeWait: "TIME-WAIT",
}

// connState names a connection's state as ss -M does for the kernel's
// MPTCP socket.
func connState(ci *core.ConnInfo) string {
	switch ci.State {
	case core.StateEstablished:
		if len(ci.Subflows) > 0 {
			if s := ci.Subflows[0].State; s != tcp.StateEstablished && s != tcp.StateSynReceived && s != tcp.StateSynSent {
				return ssState[s] // closing: the kernel's msk follows its TCP states too
			}
		}
		return "ESTAB"
	case core.StateConnecting:
		if ci.Server {
			return "SYN-RECV"
		}
		return "SYN-SENT"
	}
	return "CLOSE"
}

// SocketsOf describes our stack's connections as ss -Mt lists the
// kernel's: per connection an "mptcp" line, then one "tcp" line per live
// subflow. sched, if not nil, gives each connection's recent scheduling
// choices by token (Recorder.Schedule).
func SocketsOf(conns []core.ConnInfo, limits Limits, sched func(token uint32) []int) []Socket {
	var out []Socket
	for i := range conns {
		ci := &conns[i]
		m := &MPTCPInfo{
			Subflows: uint8(max(0, len(ci.Subflows)-1)), SubflowsMax: uint8(limits.Subflows),
			AddAddrAcceptedMax: uint8(limits.AddAddrAccepted),
			Fallback:           ci.FellBack, RemoteKey: ci.RemoteToken != 0, Token: ci.LocalToken,
			WriteSeq: ci.WriteSeq, SndUna: ci.SndUna, RcvNxt: ci.RcvNxt,
			BytesSent: ci.BytesSent, BytesReceived: ci.BytesReceived, BytesAcked: ci.BytesAcked,
			SubflowsTotal: uint8(len(ci.Subflows)), Checksum: ci.Checksum, FallbackReason: ci.FallbackReason,
			Scheduler: ci.Scheduler, PathManager: ci.PathManager, CongestionControl: ci.CongestionControl,
			ReceiveBuffer: ci.ReceiveBuffer, ReceiveBufferFilled: ci.ReceiveBuffered,
		}
		if sched != nil {
			m.RecentSchedule = sched(ci.LocalToken)
		}
		ms := Socket{Netid: "mptcp", State: connState(ci), RecvQ: uint32(ci.ReceiveBuffered), SendQ: uint32(ci.SendBuffered), MPTCP: m}
		if len(ci.Subflows) > 0 {
			ms.Local, ms.Peer = ci.Subflows[0].Local, ci.Subflows[0].Remote
		}
		for _, sf := range ci.Subflows {
			if sf.Initial {
				ms.Local, ms.Peer = sf.Local, sf.Remote
			}
		}
		var subs []Socket
		for _, sf := range ci.Subflows {
			subs = append(subs, subflowSocket(ci, &sf))
		}
		// ss lists the subflows before their connection's socket.
		out = append(out, subs...)
		out = append(out, ms)
	}
	return out
}

// subflowSocket describes one of our subflows as ss -ti does a kernel
// subflow, with its tcp-ulp-mptcp part.
func subflowSocket(ci *core.ConnInfo, sf *core.SubflowInfo) Socket {
	st := sf.TCP
	flags := ""
	// The kernel's flags: M the peer's MP_CAPABLE, m ours (client), J
	// a join, j we sent it; token rem is set on the joining side only.
	var tokenRem uint32
	if sf.Initial && !ci.FellBack && ci.RemoteToken != 0 {
		flags += "M"
	}
	if sf.Initial && sf.Active && !ci.FellBack {
		flags += "m"
	}
	if sf.Join {
		flags += "J"
	}
	if sf.Join && sf.Active {
		flags += "j"
		tokenRem = ci.RemoteToken
	}
	if sf.PeerBackup {
		flags += "B"
	}
	if sf.LocalBackup {
		flags += "b"
	}
	if sf.Established {
		flags += "e"
	}
	if st.State >= tcp.StateEstablished {
		flags += "c"
	}
	t := &TCPInfo{
		CC: ci.CongestionControl, RTO: st.RTO, RTT: st.SRTT, RTTVar: st.RTTVar, MSS: uint32(st.MSS), AdvMSS: uint32(st.MSS),
		BytesSent: st.BytesSent, BytesRetrans: st.BytesRetrans, BytesAcked: st.BytesAcked, BytesReceived: st.BytesReceived,
		SegsOut: st.SegsOut, SegsIn: st.SegsIn, DataSegsOut: st.DataSegsOut, DataSegsIn: st.DataSegsIn,
		PacingRate: uint64(st.PacingRate), DeliveryRate: uint64(st.DeliveryRate), TotalRetrans: uint32(st.Retransmits),
		MinRTT: st.MinRTT, SndWnd: uint32(st.SendWindow), RcvSpace: uint32(st.ReceiveBuffer),
		Backoff: uint8(min(st.RTOsInRow, 255)), ReordSeen: uint32(st.ReorderSeen), RcvOOOPack: uint32(st.OutOfOrderSegs),
		DsackDups: uint32(st.DSACKsReceived),
	}
	if st.MSS > 0 {
		t.Cwnd = uint32(st.Cwnd / st.MSS)
		if th := st.Ssthresh / st.MSS; th < 0xffff { // ss leaves out an infinite one
			t.Ssthresh = uint32(th)
		}
		t.Unacked = uint32(st.InFlight / st.MSS)
		t.Lost = uint32(st.Lost / st.MSS)
		t.Sacked = uint32(st.SACKed / st.MSS)
	}
	return Socket{
		Netid: "tcp", State: ssState[st.State], Local: sf.Local, Peer: sf.Remote, TCP: t,
		Subflow: &SubflowInfo{Flags: flags, TokenRem: tokenRem, TokenLoc: ci.LocalToken, IDRem: sf.RemoteID, IDLoc: sf.LocalID},
	}
}

// Limits are a stack's path-manager limits, which ss -M shows as
// subflows_max and add_addr_accepted_max.
type Limits struct {
	Subflows, AddAddrAccepted int
}
