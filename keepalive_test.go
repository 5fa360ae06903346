package mptcp_test

import (
	"io"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mptcp-go/mptcp"
)

// TestKeptAliveAnswersStayOnFastPath: 100 KB answers on one kept-alive
// connection over the aggregate scenario (wifi 20 ms and cellular 100 ms
// round trips). An answer a little larger than the wifi subflow's window
// must not send its tail over cellular, which arrives 40 ms after wifi
// would have delivered it: the default scheduler waits for the fast
// subflow, after giving the cellular one data once to measure it.
func TestKeptAliveAnswersStayOnFastPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		addr := netip.AddrPortFrom(n.top.ServerAddr, 80).String()
		ln, err := n.server.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		const size, requests = 100_000, 8
		accepted := acceptOne(t, ln)
		c, err := n.client.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := (<-accepted).(*mptcp.Conn)
		go func() {
			req := make([]byte, 1)
			answer := make([]byte, size)
			for {
				if _, err := srv.Read(req); err != nil {
					return
				}
				if _, err := srv.Write(answer); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, size)
		var took []time.Duration
		for range requests {
			start := time.Now()
			if _, err := c.Write([]byte{'G'}); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			took = append(took, time.Since(start))
		}
		info := srv.Info()
		var slowBytes uint64
		for _, sf := range info.Subflows {
			if sf.Join { // the client's cellular address joins
				slowBytes += sf.BytesSent
			}
		}
		t.Logf("answers took %v; the cellular subflow carried %d bytes", took, slowBytes)
		if len(info.Subflows) < 2 {
			t.Fatalf("%d subflows, want the cellular one joined", len(info.Subflows))
		}
		// One window of the cellular subflow (its probe) at most.
		if slowBytes > 20_000 {
			t.Errorf("the cellular subflow carried %d bytes of the answers, want at most one window (its probe)", slowBytes)
		}
		// Past the first answer (slow start), an answer takes the wifi
		// round trip plus 40 ms of serialisation, 62 ms, unless a loss or
		// the probe makes it longer: the median must be that.
		rest := slices.Clone(took[1:])
		slices.Sort(rest)
		if med := rest[len(rest)/2]; med > 65*time.Millisecond {
			t.Errorf("median answer %v, want at most 65 ms (wifi RTT + serialisation)", med)
		}
		c.Close()
		srv.Close()
		ln.Close()
		n.stop()
	})
}
