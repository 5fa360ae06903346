//go:build linux

package interop

import (
	"fmt"
	"testing"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// manyPaths is how many paths, hence subflows, TestManyPaths uses.
const manyPaths = 4

// endpoints adds a kernel endpoint with the given flags for each of the
// kernel's addresses on paths 2 to n, and limits that take them all.
func (e *env) endpoints(n int, flags ...string) {
	e.t.Helper()
	if err := e.kern.MPTCPLimits(8, 8); err != nil {
		e.t.Fatal(err)
	}
	for p := 2; p <= n; p++ {
		if err := e.kern.AddMPTCPEndpoint(lab.Endpoint{Addr: e.kernAddr(p), ID: 10 + p, Flags: flags}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestManyPaths: more than two paths. Four subflows, both ways: the
// kernel's server announces its addresses on paths 2 to 4 (signal
// endpoints) and our client joins each; the kernel's client opens a
// subflow from each (subflow endpoints) to our server. 1 MiB goes each
// way, byte for byte, and every subflow carries data. The kernel drops
// nothing of ours beyond its connection-level window (NoDSSInWindow,
// finding 5 of issue 14: the edge a DATA_ACK and window of any subflow
// show is the connection's).
func TestManyPaths(t *testing.T) {
	for _, sd := range sides {
		t.Run(sd.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{side: sd, paths: manyPaths})
			if sd == ourClient {
				e.endpoints(manyPaths, "signal")
			} else {
				e.endpoints(manyPaths, "subflow")
			}
			cs := e.connect(connOpts{})
			x := e.startMultipath(cs, manyPaths)
			if err := x.exchange(size); err != nil {
				e.failed(cs, err)
			}
			ci := cs.ours.Info()
			logInfo(t, cs.ours)
			subflowsCarried(t, ci)
			for _, s := range ci.Subflows {
				if s.BytesSent == 0 || s.BytesReceived == 0 {
					t.Errorf("subflow %v -> %v carried %d bytes out and %d in; want data both ways on every subflow", s.Local, s.Remote, s.BytesSent, s.BytesReceived)
				}
			}
			if err := x.shutdown(); err != nil {
				e.failed(cs, err)
			}
			cs.kernel.Close()
			cs.ours.Close()
			waitClosed(t, cs.ours)
			joins := fmt.Sprintf("MPJoinSynRx=%d", manyPaths-1)
			if sd == ourClient {
				e.checkKernel("AddAddrTx>=1", joins, fmt.Sprintf("MPJoinAckRx=%d", manyPaths-1), "MPJoinRejected=0")
				e.checkOurs(fmt.Sprintf("MPJoinSynTx=%d", manyPaths-1), fmt.Sprintf("AddAddr=%d", manyPaths-1))
			} else {
				e.checkKernel(fmt.Sprintf("MPJoinSynTx=%d", manyPaths-1), fmt.Sprintf("MPJoinSynAckRx=%d", manyPaths-1))
				e.checkOurs(joins, fmt.Sprintf("MPJoinAckRx=%d", manyPaths-1), "MPJoinRejected=0")
			}
			e.stop()
			e.finish()
		})
	}
}
