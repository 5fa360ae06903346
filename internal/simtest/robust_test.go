package simtest

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/netsim/middlebox"
	"github.com/mptcp-go/mptcp/wire"
)

// TestCloseWithoutData closes a client connection that never carried data
// while the server keeps its side open and sends nothing (issue 21
// finding 1): the client's DATA_FIN must go out although the server never
// acknowledged the client's key at data level, in a handful of segments,
// not a storm of repeated MP_CAPABLE ACKs.
func TestCloseWithoutData(t *testing.T) {
	for _, closeNow := range []bool{false, true} {
		t.Run(map[bool]string{false: "after the handshake", true: "while connecting"}[closeNow], func(t *testing.T) {
			n, err := NewNet(3, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			n.ServerKeepsOpen = true
			n.ClientKeepsOpen = !closeNow
			p, err := n.StartTransfer(0, 0, core.ConnOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !closeNow {
				n.Sim.RunFor(time.Second)
				if p.S == nil {
					t.Fatal("not accepted")
				}
				_ = p.C.Conn.CloseWrite()
				p.C.Host.Wake() // an application call from outside a poll
			}
			n.Sim.RunFor(5 * time.Second)
			// A handshake, the DATA_FIN and an ACK or two: far fewer than
			// 50 segments from the client.
			if sent := n.Client.Stats().Sent; sent > 50 {
				t.Errorf("client sent %d segments for an empty connection", sent)
			}
			if p.S == nil || !p.S.EOF {
				logState(t, n, p)
				t.Fatal("the server never saw the client's DATA_FIN")
			}
			_ = p.S.Conn.Close()
			p.S.Host.Wake()
			if err := n.CheckClosed(p, 10*time.Second); err != nil {
				logState(t, n, p)
				t.Fatal(err)
			}
		})
	}
}

// pureACK matches segments without payload, SYN, FIN or RST.
func pureACK(s *middlebox.Segment) bool {
	return len(s.Payload) == 0 && !s.Flags.Has(wire.FlagSYN) && !s.Flags.Has(wire.FlagFIN) && !s.Flags.Has(wire.FlagRST)
}

// stripACKOptions strips the MPTCP options from every pure ACK after the
// first on the pipe.
func stripACKOptions(pp *netsim.Pipe) {
	var seen int
	pp.AddProcessor(&middlebox.StripMPTCP{Match: func(s *middlebox.Segment) bool {
		if !pureACK(s) {
			return false
		}
		seen++
		return seen > 1
	}})
}

// TestStripOptionsFromACKs runs transfers through a middlebox that strips
// the MPTCP options from pure ACKs only, in both directions (issue 21
// finding 2). RFC 8684 section 3.7: a single path falls back; with one
// clean path the connection goes on with DATA_ACKs from there; where no
// path carries DATA_ACKs and falling back is no longer possible the
// connection may end, but must not hang.
func TestStripOptionsFromACKs(t *testing.T) {
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	for _, tc := range []struct {
		name     string
		paths    int
		stripped []int
		mayEnd   bool
	}{
		{"one path", 1, []int{0}, false},
		{"second of two paths", 2, []int{1}, false},
		{"both of two paths", 2, []int{0, 1}, true},
	} {
		for seed := range seeds {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				n, err := NewNet(uint64(seed+11), twoPaths(tc.paths), Options{})
				if err != nil {
					t.Fatal(err)
				}
				for _, i := range tc.stripped {
					stripACKOptions(n.PathLinks[i].AB())
					stripACKOptions(n.PathLinks[i].BA())
				}
				const up, down = 300 << 10, 1 << 20
				p, err := n.StartTransfer(up, down, core.ConnOptions{})
				if err != nil {
					t.Fatal(err)
				}
				n.RunUntilDone(p, 120*time.Second)
				err = p.Check(up, down)
				switch {
				case p.C.Bad+p.S.Bad > 0:
					t.Fatalf("corrupted: %v", err)
				case err == nil:
				case !tc.mayEnd:
					logState(t, n, p)
					t.Fatal(err)
				case p.C.Conn.State() != core.StateClosed || p.S.Conn.State() != core.StateClosed:
					logState(t, n, p)
					t.Fatalf("neither finished nor ended: %v", err)
				}
			})
		}
	}
}

// TestSpoofedPlainACKs injects option-less pure ACKs at the server's
// RCV.NXT into a live subflow (issue 21 finding 2): the kernel ignores
// them, and so must we.
func TestSpoofedPlainACKs(t *testing.T) {
	n, err := NewNet(12, twoPaths(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var last struct {
		src, dst netip.Addr
		t        []byte
	}
	n.PathLinks[0].AB().AddProcessor(processorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		if src, dst, _, payload, err := wire.ParseIP(pkt); err == nil {
			last.src, last.dst, last.t = src, dst, append(last.t[:0], payload...)
		}
		emit(pkt)
	}))
	const up, down = 2 << 20, 2 << 20
	p, err := n.StartTransfer(up, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(500 * time.Millisecond)
	tc, err := wire.ParseTCP(last.t)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f := wire.TCPFields{SrcPort: tc.SrcPort(), DstPort: tc.DstPort(), Seq: tc.Seq() + uint32(len(tc.Payload())),
			Ack: tc.Ack(), Flags: wire.FlagACK, Window: tc.Window()}
		if err := n.Inject(wire.AppendTCPPacket(nil, last.src, last.dst, &f, nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	n.RunUntilDone(p, 60*time.Second)
	if err := p.Check(up, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
	if rst := n.SS.MIB().Get(core.MPRstTx); rst != 0 {
		logState(t, n, p)
		t.Errorf("server reset %d subflows on spoofed plain ACKs", rst)
	}
}

// TestIdleGoesQuiet keeps a two-path connection open and idle after a
// transfer (issue 21 finding 5): the liveness probes of the two sides
// must not answer each other forever.
func TestIdleGoesQuiet(t *testing.T) {
	n, err := NewNet(13, twoPaths(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.ClientKeepsOpen, n.ServerKeepsOpen = true, true
	const up, down = 200 << 10, 200 << 10
	p, err := n.StartTransfer(up, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(10 * time.Second)
	if p.S == nil || p.C.Got != down || p.S.Got != up {
		logState(t, n, p)
		t.Fatal("transfer did not complete")
	}
	before := n.Client.Stats().Sent + n.Server.Stats().Sent
	n.Sim.RunFor(60 * time.Second)
	// Keepalives are off; a probe or two as the activity ends is fine.
	if k := n.Client.Stats().Sent + n.Server.Stats().Sent - before; k > 10 {
		t.Errorf("%d segments in 60 s of an idle connection", k)
	}
}

// TestCoalescedEverywhere coalesces segments in both directions of every
// path (issue 21 finding 4: a GRO-like middlebox keeps the first segment's
// options, so a mapping starting in the second is lost; the transfer used
// to stall in reset/recreate cycles). Mappings repeat on the segments
// after, and bytes no mapping can ever cover are dropped for the sender to
// reinject, so the transfer completes.
func TestCoalescedEverywhere(t *testing.T) {
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	for paths := 1; paths <= 2; paths++ {
		for seed := range seeds {
			t.Run(fmt.Sprintf("paths=%d/seed=%d", paths, seed), func(t *testing.T) {
				n, err := NewNet(uint64(seed+21), twoPaths(paths), Options{})
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range n.PathLinks {
					l.AB().AddProcessor(&middlebox.Coalescer{Sim: n.Sim, Hold: time.Millisecond})
					l.BA().AddProcessor(&middlebox.Coalescer{Sim: n.Sim, Hold: time.Millisecond})
				}
				const up, down = 1 << 20, 4 << 20
				transferOK(t, n, up, down, core.ConnOptions{}, 60*time.Second)
			})
		}
	}
}

// TestDataFinAfterPathDown takes the first path down for good in the
// middle of a transfer (found by the torture campaign): the DATA_FIN,
// repeated, must reach the peer on the subflow that still works, not
// only on the dead one that happened to be asked first.
func TestDataFinAfterPathDown(t *testing.T) {
	n, err := NewNet(1, twoPaths(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const up, down = 256 << 10, 1 << 20
	p, err := n.StartTransfer(up, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(300 * time.Millisecond)
	n.PathLinks[0].SetUp(false)
	n.RunUntilDone(p, time.Minute)
	if err := p.Check(up, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
}

// TestWindowBeyondSubflowCap runs a download over a long fat path (issue
// 21 finding 7, issue 17): the connection-level receive window must grow
// past the subflow TCP default maximum (6 MiB) up to the connection's
// ReceiveBufferMax, not be silently capped by it.
func TestWindowBeyondSubflowCap(t *testing.T) {
	if testing.Short() {
		t.Skip("a 48 MB transfer")
	}
	n, err := NewNet(5, []Path{{Rate: 400e6, Delay: 100 * time.Millisecond, Queue: 16 << 20}}, Options{
		Server: func(c *core.Config) { c.SendBuffer = 32 << 20 },
	})
	if err != nil {
		t.Fatal(err)
	}
	var shift uint8
	var maxWnd uint64
	var opts wire.TCPOptions
	n.PathLinks[0].AB().AddProcessor(processorFunc(func(_ time.Time, pkt []byte, emit func([]byte)) {
		if _, _, _, payload, err := wire.ParseIP(pkt); err == nil {
			if tc, err := wire.ParseTCP(payload); err == nil {
				if tc.Flags().Has(wire.FlagSYN) {
					if wire.ParseTCPOptions(tc.Options(), tc.Flags(), &opts) == nil && opts.HasWindowScale {
						shift = opts.WindowScale
					}
				} else {
					maxWnd = max(maxWnd, uint64(tc.Window())<<shift)
				}
			}
		}
		emit(pkt)
	}))
	const down = 48 << 20
	transferOK(t, n, 0, down, core.ConnOptions{}, 2*time.Minute)
	if maxWnd <= 6<<20 {
		t.Errorf("largest window advertised %d bytes (shift %d): capped at the subflow maximum", maxWnd, shift)
	}
}

// TestSendBufferGrows runs a download over a long fat path with the
// default send buffer (issue 21 finding 7): the sender's buffer must grow
// towards the bandwidth-delay product (up to SendBufferMax), as Linux's
// does within tcp_wmem, or the window never exceeds the initial 4 MiB.
func TestSendBufferGrows(t *testing.T) {
	if testing.Short() {
		t.Skip("a 48 MB transfer")
	}
	n, err := NewNet(5, []Path{{Rate: 400e6, Delay: 100 * time.Millisecond, Queue: 16 << 20}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const down = 48 << 20
	p, err := n.StartTransfer(0, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var peak int
	for !p.Finished() && n.Sim.Elapsed() < 2*time.Minute {
		n.Sim.RunFor(50 * time.Millisecond)
		if p.S != nil {
			peak = max(peak, p.S.Conn.Info().SendBuffered)
		}
	}
	if err := p.Check(0, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
	if peak <= core.DefaultSendBuffer {
		t.Errorf("the server never held more than %d bytes to send: its buffer did not grow", peak)
	}
}
