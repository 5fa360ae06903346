package simrun

import (
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// demux runs several stacks on one simulated host, as a server that
// answers each client with the congestion control that client's scenario
// entry names: the MPTCP server takes every packet but those from a
// competitor, which go to that competitor's own plain-TCP server stack.
type demux struct {
	def    netsim.Stack
	byPeer map[netip.Addr]netsim.Stack
	all    []netsim.Stack // def first, then the others in scenario order
}

func newDemux(def netsim.Stack) *demux {
	return &demux{def: def, byPeer: map[netip.Addr]netsim.Stack{}, all: []netsim.Stack{def}}
}

// add routes packets from peer to st.
func (d *demux) add(peer netip.Addr, st netsim.Stack) {
	d.byPeer[peer] = st
	d.all = append(d.all, st)
}

// Deliver implements netsim.Stack.
func (d *demux) Deliver(now time.Time, pkt []byte) {
	st := d.def
	if src, _, _, _, err := wire.ParseIP(pkt); err == nil {
		if s, ok := d.byPeer[src]; ok {
			st = s
		}
	}
	st.Deliver(now, pkt)
}

// Poll implements netsim.Stack: every stack sends, and the host is polled
// again at the earliest time any of them asked for.
func (d *demux) Poll(now time.Time, send func([]byte)) time.Time { return pollAll(d.all, now, send) }

// pollAll polls every stack of a host and returns the earliest time any
// of them asked to be polled again.
func pollAll(stacks []netsim.Stack, now time.Time, send func([]byte)) time.Time {
	var next time.Time
	for _, st := range stacks {
		t := st.Poll(now, send)
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}
