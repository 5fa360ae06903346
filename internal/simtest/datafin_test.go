package simtest

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/wire"
)

// TestDataFinRidesLastData checks that a DATA_FIN queued while data is
// still unsent goes out in the DSS of the segment carrying the last byte,
// as Linux sends it, not on a pure ACK after it; and that the peer takes
// both the data and the end of the stream from it.
func TestDataFinRidesLastData(t *testing.T) {
	n, err := NewNet(7, twoPaths(1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The client writes 256 KiB and closes at once: the tail waits for
	// the congestion window, so the DATA_FIN is known before it goes.
	var opts wire.TCPOptions
	firstFin := "" // what carried the client's first DATA_FIN
	n.PathLinks[0].AB().AddProcessor(processorFunc(func(_ time.Time, pkt []byte, emit func([]byte)) {
		emit(pkt)
		_, _, _, payload, err := wire.ParseIP(pkt)
		if err != nil || firstFin != "" {
			return
		}
		tc, err := wire.ParseTCP(payload)
		if err != nil || wire.ParseTCPOptions(tc.Options(), tc.Flags(), &opts) != nil {
			return
		}
		if opts.MPTCP.Has(wire.SubtypeDSS) && opts.MPTCP.DSS.DataFIN {
			firstFin = "a pure ACK"
			if len(tc.Payload()) > 0 {
				firstFin = "data"
			}
		}
	}))
	p, err := n.StartTransfer(256<<10, 0, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !n.RunUntilDone(p, 30*time.Second) {
		t.Fatalf("transfer not done: client sent %d, server got %d (EOF %v)", p.C.Sent, p.S.Got, p.S.EOF)
	}
	if p.S.Got != 256<<10 || p.S.Bad != 0 || !p.S.EOF {
		t.Fatalf("server got %d bytes (%d bad), EOF %v", p.S.Got, p.S.Bad, p.S.EOF)
	}
	if firstFin != "data" {
		t.Errorf("the client's first DATA_FIN rode %q, want the last data segment", firstFin)
	}
}
