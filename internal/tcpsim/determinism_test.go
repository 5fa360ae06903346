package tcpsim

import (
	"bytes"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/pcap"
)

// TestDeterministic runs the same lossy, reordering scenario twice with the
// same seed and requires byte-identical captures, and a different capture
// for another seed.
func TestDeterministic(t *testing.T) {
	run := func(seed uint64) []byte {
		pc := netsim.PipeConfig{Rate: 20e6, Delay: 10 * time.Millisecond, QueueBytes: 60_000, Loss: 0.01, Reorder: 0.01, Duplicate: 0.005}
		p := newPath(t, seed, pc, "cubic", nil)
		var buf bytes.Buffer
		w, err := pcap.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		p.client.Interfaces()[0].Capture(w)
		cli, srv := p.transfer(t, 3<<20, 1<<20)
		if !p.runUntilDone(60*time.Second, cli, srv) {
			t.Fatal("incomplete")
		}
		if err := p.sim.CaptureErr(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b, c := run(5), run(5), run(6)
	if !bytes.Equal(a, b) {
		t.Fatalf("same seed, different captures (%d and %d bytes)", len(a), len(b))
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same capture")
	}
	t.Logf("capture of %d bytes reproduced", len(a))
}
