package torture

import (
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/netsim/middlebox"
	"github.com/mptcp-go/mptcp/wire"
)

// Case is one scenario of the matrix.
type Case struct {
	Name  string
	Paths int
	// MayEnd: RFC 8684 lets the connection end here (no path can carry
	// MPTCP and falling back is no longer possible); an orderly error is
	// then a pass, corruption and hanging never are.
	MayEnd  bool
	Loss    float64 // random loss on every path, both ways
	Options simtest.Options
	// Install puts the middleboxes or attackers on the net.
	Install func(n *simtest.Net)
	// During, if set, runs once at DuringAt after the transfer started.
	During   func(n *simtest.Net)
	DuringAt time.Duration
	// Live, if set, makes this a live case (LiveCases): the fields above
	// are unused.
	Live *Attack
}

// paths returns the access paths of a case: unequal rates and delays.
func (c *Case) paths() []simtest.Path {
	ps := []simtest.Path{
		{Rate: 20e6, Delay: 10 * time.Millisecond, Loss: c.Loss},
		{Rate: 10e6, Delay: 25 * time.Millisecond, Loss: c.Loss},
		{Rate: 5e6, Delay: 40 * time.Millisecond, Loss: c.Loss},
	}
	return ps[:c.Paths]
}

// pipes returns both directions of the paths named (nil: all).
func pipes(n *simtest.Net, which ...int) []*netsim.Pipe {
	var out []*netsim.Pipe
	for i, l := range n.PathLinks {
		if which != nil && !contains(which, i) {
			continue
		}
		out = append(out, l.AB(), l.BA())
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// pureACK matches segments without payload, SYN, FIN or RST.
func pureACK(s *middlebox.Segment) bool {
	return len(s.Payload) == 0 && s.Flags&(wire.FlagSYN|wire.FlagFIN|wire.FlagRST) == 0
}

// afterFirst matches what m matches, except its first match on the pipe
// (the third ACK of the handshake, say).
func afterFirst(m middlebox.Match) middlebox.Match {
	seen := 0
	return func(s *middlebox.Segment) bool {
		if !m(s) {
			return false
		}
		seen++
		return seen > 1
	}
}

func csumClient(c *core.Config) { c.Checksum = true }

// Cases returns the matrix, in a fixed order.
func Cases() []Case {
	return []Case{
		{Name: "clean/1", Paths: 1},
		{Name: "clean/3", Paths: 3},
		{Name: "loss1%/2", Paths: 2, Loss: 0.01},
		{Name: "loss5%/2", Paths: 2, Loss: 0.05},
		{Name: "strip-mpc-syn/2", Paths: 2, Install: func(n *simtest.Net) {
			n.PathLinks[0].AB().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.SYN})
		}},
		{Name: "strip-mpc-synack/2", Paths: 2, Install: func(n *simtest.Net) {
			n.PathLinks[0].BA().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.SYNACK})
		}},
		{Name: "drop-mpc-syn/1", Paths: 1, Install: func(n *simtest.Net) {
			n.PathLinks[0].AB().AddProcessor(&middlebox.Drop{Match: middlebox.And(middlebox.SYN, middlebox.HasMPTCP)})
		}},
		{Name: "strip-data/1", Paths: 1, Install: func(n *simtest.Net) {
			n.PathLinks[0].AB().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.Data})
		}},
		{Name: "strip-data-path0/2", Paths: 2, MayEnd: true, Install: func(n *simtest.Net) {
			n.PathLinks[0].AB().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.Data})
		}},
		{Name: "strip-acks/1", Paths: 1, Install: func(n *simtest.Net) {
			for _, p := range pipes(n) {
				p.AddProcessor(&middlebox.StripMPTCP{Match: afterFirst(pureACK)})
			}
		}},
		{Name: "strip-acks-path1/2", Paths: 2, Install: func(n *simtest.Net) {
			for _, p := range pipes(n, 1) {
				p.AddProcessor(&middlebox.StripMPTCP{Match: afterFirst(pureACK)})
			}
		}},
		{Name: "strip-acks-all/2", Paths: 2, MayEnd: true, Install: func(n *simtest.Net) {
			for _, p := range pipes(n) {
				p.AddProcessor(&middlebox.StripMPTCP{Match: afterFirst(pureACK)})
			}
		}},
		{Name: "seq-rewrite/2", Paths: 2, Install: func(n *simtest.Net) {
			for _, l := range n.PathLinks {
				r := middlebox.NewSeqRewriter(n.Sim.Rand("seqrw"))
				l.AB().AddProcessor(r.Out)
				l.BA().AddProcessor(r.In)
			}
		}},
		{Name: "split/2", Paths: 2, Install: func(n *simtest.Net) {
			n.PathLinks[0].BA().AddProcessor(&middlebox.Splitter{Max: 536})
			n.PathLinks[1].AB().AddProcessor(&middlebox.Splitter{Max: 300})
		}},
		{Name: "coalesce/1", Paths: 1, Install: coalesceAll},
		{Name: "coalesce-all/2", Paths: 2, Install: coalesceAll},
		{Name: "rewrite-payload-csum/1", Paths: 1, Options: simtest.Options{Client: csumClient}, Install: func(n *simtest.Net) {
			k := 0
			n.PathLinks[0].BA().AddProcessor(&middlebox.PayloadRewriter{Limit: 1, Match: func(*middlebox.Segment) bool { k++; return k == 40 }})
		}},
		{Name: "rewrite-payload-csum/2", Paths: 2, Options: simtest.Options{Client: csumClient}, Install: func(n *simtest.Net) {
			k := 0
			n.PathLinks[0].BA().AddProcessor(&middlebox.PayloadRewriter{Limit: 4, Match: func(*middlebox.Segment) bool { k++; return k >= 200 }})
		}},
		spoofedPlainACKs(),
		forgedTSVal(),
		forgedOOODSS(),
		forgedShrunkOffset(1),
		forgedShrunkOffset(2),
		forgedFastclose(),
		forgedHoleThenPathDown(),
		{Name: "path-down/2", Paths: 2, DuringAt: 300 * time.Millisecond, During: func(n *simtest.Net) {
			n.PathLinks[0].SetUp(false)
		}},
	}
}

func coalesceAll(n *simtest.Net) {
	for _, p := range pipes(n) {
		p.AddProcessor(&middlebox.Coalescer{Sim: n.Sim, Hold: time.Millisecond})
	}
}

// spoofedPlainACKs injects option-less ACKs at the server's RCV.NXT into
// the live first subflow, as an off-path attacker who learnt the
// sequence numbers would.
func spoofedPlainACKs() Case {
	var last struct {
		src, dst netip.Addr
		t        []byte
	}
	return Case{Name: "spoofed-plain-acks/2", Paths: 2, DuringAt: 500 * time.Millisecond,
		Install: func(n *simtest.Net) {
			n.PathLinks[0].AB().AddProcessor(netsim.ProcessorFunc(func(_ time.Time, pkt []byte, emit func([]byte)) {
				if src, dst, _, payload, err := wire.ParseIP(pkt); err == nil {
					last.src, last.dst, last.t = src, dst, append(last.t[:0], payload...)
				}
				emit(pkt)
			}))
		},
		During: func(n *simtest.Net) {
			tc, err := wire.ParseTCP(last.t)
			if err != nil {
				return
			}
			for range 3 {
				f := wire.TCPFields{SrcPort: tc.SrcPort(), DstPort: tc.DstPort(), Seq: tc.Seq() + uint32(len(tc.Payload())),
					Ack: tc.Ack(), Flags: wire.FlagACK, Window: tc.Window()}
				_ = n.Inject(wire.AppendTCPPacket(nil, last.src, last.dst, &f, nil, nil))
			}
		}}
}
