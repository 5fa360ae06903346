package simtest

import (
	"errors"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/wire"
)

// rstInjector turns the first server-to-client segment after it is armed
// into a RST with that segment's sequence number (so the client accepts
// it), carrying MP_TCPRST: the peer resetting the subflow.
type rstInjector struct {
	armed, fired bool
	buf          []byte
	opts         wire.TCPOptions
}

// toServer watches the client's segments and arms the injector: after
// the client's DATA_FIN when fin, else after its first data segments.
func (r *rstInjector) toServer(fin bool, segs *int) func(time.Time, []byte, func([]byte)) {
	return func(_ time.Time, pkt []byte, emit func([]byte)) {
		emit(pkt)
		_, _, _, payload, err := wire.ParseIP(pkt)
		if err != nil {
			return
		}
		t, err := wire.ParseTCP(payload)
		if err != nil {
			return
		}
		_ = wire.ParseTCPOptions(t.Options(), t.Flags(), &r.opts)
		if fin {
			if r.opts.MPTCP.Has(wire.SubtypeDSS) && r.opts.MPTCP.DSS.DataFIN {
				r.armed = true
			}
			return
		}
		if len(t.Payload()) > 0 {
			if *segs++; *segs == 20 {
				r.armed = true
			}
		}
	}
}

func (r *rstInjector) toClient(_ time.Time, pkt []byte, emit func([]byte)) {
	if !r.armed || r.fired {
		emit(pkt)
		return
	}
	src, dst, _, payload, err := wire.ParseIP(pkt)
	if err != nil {
		emit(pkt)
		return
	}
	t, err := wire.ParseTCP(payload)
	if err != nil || t.Flags().Has(wire.FlagSYN) {
		emit(pkt)
		return
	}
	r.fired = true
	var b wire.OptionBuilder
	_ = b.AddMPTCPRst(&wire.MPTCPRst{Reason: wire.MPTCPRstReasonUnspecified})
	f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq(), Ack: t.Ack(),
		Flags: wire.FlagRST | wire.FlagACK}
	r.buf = wire.AppendTCPPacket(r.buf[:0], src, dst, &f, b.Bytes(), nil)
	emit(r.buf)
}

// TestLastSubflowReset resets the only subflow of a connection that still
// has data outstanding (issue 21): the connection must not busy-loop
// (a host counts the polls it defers because its stack kept asking for
// the current instant, and the simulator stops with ErrStalled when too
// many events run at one virtual instant) and must end with an error once it has waited
// NoSubflowTimeout for a new subflow (RFC 8684 section 3.3.6 lets a
// connection outlive its subflows).
func TestLastSubflowReset(t *testing.T) {
	const wait = 3 * time.Second
	for _, tc := range []struct {
		name string
		fin  bool // reset after the client's DATA_FIN went out
	}{{"data", false}, {"datafin", true}} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := NewNet(21, twoPaths(1), Options{
				Client: func(c *core.Config) { c.NoSubflowTimeout = wait },
				Server: func(c *core.Config) { c.NoSubflowTimeout = wait },
			})
			if err != nil {
				t.Fatal(err)
			}
			// A spinning stack polls again and again at one instant;
			// nothing legitimate comes close to this many events.
			n.Sim.SetStallLimit(20000)
			n.ServerKeepsOpen = true
			r := &rstInjector{}
			segs := 0
			n.PathLinks[0].AB().AddProcessor(processorFunc(r.toServer(tc.fin, &segs)))
			n.PathLinks[0].BA().AddProcessor(processorFunc(r.toClient))
			p, err := n.StartTransfer(4<<20, 0, core.ConnOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c := p.C.Conn
			for end := n.Sim.Now().Add(wait + 10*time.Second); n.Sim.Now().Before(end) && c.State() != core.StateClosed; {
				n.Sim.RunFor(100 * time.Millisecond)
				if err := n.Sim.Err(); err != nil {
					t.Fatalf("spin at %v (reset sent %v): %v", n.Sim.Elapsed(), r.fired, err)
				}
				for _, h := range n.Sim.Hosts() {
					if b := h.Stats().PollBackoffs; b > 0 {
						t.Fatalf("spin at %v (reset sent %v): %s's stack kept asking for the present (%d backoffs)", n.Sim.Elapsed(), r.fired, h.Name(), b)
					}
				}
			}
			if !r.fired {
				t.Fatal("the RST was never injected")
			}
			if c.State() != core.StateClosed {
				logState(t, n, p)
				t.Fatalf("client still %v %v after its only subflow was reset", c.State(), n.Sim.Elapsed())
			}
			t.Logf("client closed at %v with %v; server got %d bytes", n.Sim.Elapsed(), c.Err(), p.S.Got)
			if err := c.Err(); !errors.Is(err, core.ErrTimeout) && !errors.Is(err, core.ErrConnectionReset) {
				t.Errorf("client ended with %v, want a timeout or reset", err)
			}
			if !tc.fin && p.S != nil && p.S.Got >= 4<<20 {
				t.Errorf("server got everything (%d bytes): the reset came too late to test anything", p.S.Got)
			}
		})
	}
}
