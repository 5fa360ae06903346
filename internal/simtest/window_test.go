package simtest

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// TestWindowUpdateOnEverySubflow stops the receiving application until
// the connection's window closes on both subflows, then lets it read:
// each subflow that showed a closed window must learn at once that it
// opened, from a window update (Linux's receiver sends one on every
// subflow), not from a zero-window probe a timeout later. Before, only
// the subflow with the lowest RTT was told;
// the other's sender, holding data the connection gave it, waited for a
// probe, or for ever when its persist timer was not armed (the TCP
// engine's TestPersistArmedByWrite), and the data on it held the
// connection's window (ours -> ours over TUN fell to 0.04 Gbit/s).
func TestWindowUpdateOnEverySubflow(t *testing.T) {
	n, err := NewNet(5, []Path{{Rate: 50e6, Delay: 5 * time.Millisecond}, {Rate: 50e6, Delay: 5 * time.Millisecond}},
		Options{Server: func(c *core.Config) { c.ReceiveBuffer = 128 << 10; c.DisableAutoTune = true }})
	if err != nil {
		t.Fatal(err)
	}
	const up = 8 << 20
	p, err := n.StartTransfer(up, 0, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && p.S == nil; i++ {
		n.Sim.RunFor(time.Millisecond)
	}
	if p.S == nil {
		t.Fatal("the server did not accept the connection")
	}
	p.S.Hold = true
	n.Sim.RunFor(2 * time.Second)
	windows := func() []int {
		var w []int
		for _, sf := range p.C.Conn.Info().Subflows {
			w = append(w, sf.TCP.SendWindow)
		}
		return w
	}
	if w := windows(); len(w) != 2 || w[0] != 0 || w[1] != 0 {
		t.Fatalf("with the application not reading, the subflows' windows are %v, want two closed", w)
	}
	p.S.Hold = false
	p.S.Pump()
	// Five round trips: far less than a timeout.
	n.Sim.RunFor(50 * time.Millisecond)
	if w := windows(); w[0] == 0 || w[1] == 0 {
		t.Fatalf("50 ms after the application read, the subflows' windows are %v", w)
	}
	if !n.RunUntilDone(p, time.Minute) {
		t.Fatalf("transfer did not finish: %d of %d", p.S.Got, up)
	}
	if err := p.Check(up, 0); err != nil {
		t.Fatal(err)
	}
}
