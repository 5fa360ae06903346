package simtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/netsim/middlebox"
	"github.com/mptcp-go/mptcp/wire"
)

// mbCase is one middlebox scenario: install puts processors on the net;
// check looks at the counters once every byte arrived intact.
type mbCase struct {
	name    string
	paths   int
	opts    Options
	install func(n *Net)
	check   func(t *testing.T, n *Net, p *Pair)
}

func twoPaths(k int) []Path {
	ps := []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 10e6, Delay: 25 * time.Millisecond}}
	return ps[:k]
}

func wantFallback(cause core.Counter) func(t *testing.T, n *Net, p *Pair) {
	return func(t *testing.T, n *Net, p *Pair) {
		t.Helper()
		if !p.C.Conn.FellBack() && !p.S.Conn.FellBack() {
			t.Errorf("no fallback")
		}
		if n.CS.MIB().Get(cause)+n.SS.MIB().Get(cause) == 0 {
			t.Errorf("%v not counted", cause)
		}
	}
}

func TestMiddleboxes(t *testing.T) {
	cases := []mbCase{
		{name: "strip MP_CAPABLE from SYN", paths: 1,
			install: func(n *Net) {
				n.PathLinks[0].AB().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.SYN})
			},
			check: func(t *testing.T, n *Net, p *Pair) {
				wantFallback(core.MPCapableFallbackSYNACK)(t, n, p)
				if n.SS.MIB().Get(core.MPCapableSYNRX) != 0 {
					t.Error("server saw MP_CAPABLE")
				}
			}},
		{name: "strip MP_CAPABLE from SYN/ACK", paths: 1,
			install: func(n *Net) {
				n.PathLinks[0].BA().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.SYNACK})
			},
			check: func(t *testing.T, n *Net, p *Pair) {
				wantFallback(core.MPCapableFallbackSYNACK)(t, n, p)
				// The client's third ACK carries data here, so the
				// server counts the data form of the cause.
				if n.SS.MIB().Get(core.MPCapableFallbackACK)+n.SS.MIB().Get(core.MPCapableDataFallback) != 1 {
					t.Error("server did not count MPCapableFallbackACK or MPCapableDataFallback")
				}
			}},
		{name: "strip options from data, one path", paths: 1,
			install: func(n *Net) {
				n.PathLinks[0].AB().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.Data})
			},
			check: wantFallback(core.DssFallback)},
		{name: "strip options from everything after the handshake, one path", paths: 1,
			install: func(n *Net) {
				// Let the third ACK through, then strip both directions.
				var seen int
				m := func(s *middlebox.Segment) bool {
					if s.Flags.Has(wire.FlagSYN) {
						return false
					}
					seen++
					return seen > 3
				}
				n.PathLinks[0].AB().AddProcessor(&middlebox.StripMPTCP{Match: m})
				n.PathLinks[0].BA().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.And(middlebox.NotSYN, func(*middlebox.Segment) bool { return seen > 3 })})
			},
			check: wantFallback(core.DssFallback)},
		{name: "strip options from data on the first of two paths", paths: 2,
			install: func(n *Net) {
				n.PathLinks[0].AB().AddProcessor(&middlebox.StripMPTCP{Match: middlebox.Data})
			},
			check: func(t *testing.T, n *Net, p *Pair) {
				if p.C.Conn.FellBack() {
					return // stripped before the join: a fallback is right too
				}
				if n.SS.MIB().Get(core.MPRstTx)+n.SS.MIB().Get(core.DssFallback) == 0 {
					t.Error("stripped subflow neither reset nor fallen back")
				}
			}},
		{name: "sequence numbers rewritten", paths: 2,
			install: func(n *Net) {
				for _, l := range n.PathLinks {
					r := middlebox.NewSeqRewriter(n.Sim.Rand("seqrw"))
					l.AB().AddProcessor(r.Out)
					l.BA().AddProcessor(r.In)
				}
			},
			check: func(t *testing.T, n *Net, p *Pair) {
				if p.C.Conn.FellBack() {
					t.Error("fell back because of sequence rewriting")
				}
			}},
		{name: "segments split", paths: 2,
			install: func(n *Net) {
				n.PathLinks[0].BA().AddProcessor(&middlebox.Splitter{Max: 536})
				n.PathLinks[1].AB().AddProcessor(&middlebox.Splitter{Max: 300})
			},
			check: func(t *testing.T, n *Net, p *Pair) {
				if p.C.Conn.FellBack() {
					t.Error("fell back because of splitting")
				}
			}},
		{name: "segments coalesced, one path", paths: 1,
			install: func(n *Net) {
				n.PathLinks[0].BA().AddProcessor(&middlebox.Coalescer{Sim: n.Sim, Hold: time.Millisecond})
			}},
		{name: "segments coalesced, two paths", paths: 2,
			install: func(n *Net) {
				n.PathLinks[0].BA().AddProcessor(&middlebox.Coalescer{Sim: n.Sim, Hold: time.Millisecond})
			}},
		{name: "payload rewritten with checksums, one path", paths: 1,
			opts: Options{Client: func(c *core.Config) { c.Checksum = true }},
			install: func(n *Net) {
				var k int
				n.PathLinks[0].BA().AddProcessor(&middlebox.PayloadRewriter{Limit: 1, Match: func(s *middlebox.Segment) bool {
					k++
					return k == 40
				}})
			},
			check: func(t *testing.T, n *Net, p *Pair) {
				if n.CS.MIB().Get(core.DataCsumErr) == 0 {
					t.Error("checksum failure not detected")
				}
				wantFallback(core.DSSCorruptionFallback)(t, n, p)
			}},
		{name: "payload rewritten with checksums, two paths", paths: 2,
			opts: Options{Server: func(c *core.Config) { c.Checksum = true }},
			install: func(n *Net) {
				var k int
				n.PathLinks[0].BA().AddProcessor(&middlebox.PayloadRewriter{Limit: 4, Match: func(s *middlebox.Segment) bool {
					k++
					return k >= 200
				}})
			},
			check: func(t *testing.T, n *Net, p *Pair) {
				if n.CS.MIB().Get(core.DataCsumErr) == 0 {
					t.Error("checksum failure not detected")
				}
			}},
	}
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	for _, tc := range cases {
		for seed := range seeds {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				n, err := NewNet(uint64(seed+7), twoPaths(tc.paths), tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				tc.install(n)
				up, down := 500<<10, 2<<20
				p := transferOK(t, n, up, down, core.ConnOptions{}, 120*time.Second)
				if tc.check != nil {
					tc.check(t, n, p)
					if t.Failed() {
						logState(t, n, p)
					}
				}
			})
		}
	}
}

var _ = netsim.Epoch
