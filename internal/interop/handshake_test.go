//go:build linux

package interop

import (
	"testing"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
)

// size is what every case moves each way, unless it says otherwise.
const size = 1 << 20

// sides are both directions of a case: our client to the kernel's
// server, and the kernel's client to our server.
var sides = []side{ourClient, ourServer}

// run is the body of a plain case: connect, exchange n bytes each way,
// close gracefully; the caller checks the counters.
func (e *env) run(o connOpts, n int64) *conns {
	e.t.Helper()
	cs := e.connect(o)
	x := newTransfer(cs)
	if err := x.exchange(n); err != nil {
		e.failed(cs, err)
	}
	cs.info = cs.ours.Info()
	if err := x.shutdown(); err != nil {
		e.failed(cs, err)
	}
	return cs
}

// close ends a case's transfer: both directions shut down gracefully
// (transfer.shutdown), both sockets closed, and our connection over.
func (e *env) close(cs *conns, x *transfer) {
	e.t.Helper()
	if err := x.shutdown(); err != nil {
		e.failed(cs, err)
	}
	cs.kernel.Close()
	cs.ours.Close()
	waitClosed(e.t, cs.ours)
}

// waitClosed waits until our connection is over, both directions closed
// and acknowledged.
func waitClosed(t *testing.T, c *mptcp.Conn) {
	t.Helper()
	waitFor(t, "our connection to close", func() bool { return c.Info().State == core.StateClosed })
}

// TestHandshake: MP_CAPABLE both ways, over IPv4 and IPv6; one subflow;
// 4 MiB each way; DATA_FIN both ways.
func TestHandshake(t *testing.T) {
	for _, sd := range sides {
		for _, fam := range families {
			t.Run(sd.String()+"/"+fam.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, envConfig{side: sd, v6: fam.v6})
				cs := e.run(connOpts{}, size)
				if !kernelMPTCP(cs.kernel) {
					t.Error("the kernel's socket is not using MPTCP")
				}
				ci := cs.info
				if ci.FellBack || len(ci.Subflows) != 1 {
					t.Errorf("ours: fell back %v (%s), %d subflows; want MPTCP over one subflow", ci.FellBack, ci.FallbackReason, len(ci.Subflows))
				}
				cs.kernel.Close()
				cs.ours.Close()
				waitClosed(t, cs.ours)
				if sd == ourClient {
					e.checkKernel("MPCapableSYNRX=1", "MPCapableACKRX=1", "MPJoinSynRx=0")
					e.checkOurs("MPCapableSYNTX=1", "MPCapableSYNACKRX=1", "MPJoinSynTx=0")
				} else {
					e.checkKernel("MPCapableSYNTX=1", "MPCapableSYNACKRX=1", "MPJoinSynTx=0")
					e.checkOurs("MPCapableSYNRX=1", "MPCapableACKRX=1", "MPJoinSynRx=0")
				}
				e.stop()
				// The DATA_FINs went both ways on the wire.
				for who, from := range map[string]string{"us": e.fromUs(), "the kernel": e.fromKernel()} {
					if n := e.wireCount("tcp.options.mptcp.datafin.flag == 1 && " + from); n == 0 {
						t.Errorf("no DATA_FIN from %s in the capture", who)
					}
				}
				// Without checksums asked for, no mapping carries one.
				mc, err := e.dssMappings()
				if err != nil {
					t.Fatal(err)
				}
				if mc.ours == 0 || mc.kernel == 0 || mc.oursCsum != 0 || mc.kernelCsum != 0 {
					t.Errorf("DSS mappings: ours %d (%d with checksum), the kernel's %d (%d); want some, none with checksum", mc.ours, mc.oursCsum, mc.kernel, mc.kernelCsum)
				}
				e.finish()
			})
		}
	}
}

// TestPlainTCP: the public API's stack with MPTCP disabled against the
// kernel's plain TCP, both ways: no MPTCP option on the wire. (The TCP
// engine alone is proven against the kernel by link/tun's interop tests,
// with more data.)
func TestPlainTCP(t *testing.T) {
	for _, sd := range sides {
		for _, fam := range families {
			t.Run(sd.String()+"/"+fam.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, envConfig{side: sd, v6: fam.v6, cfg: mptcp.Config{DisableMPTCP: true}})
				cs := e.connect(connOpts{kernelNoMPTCP: true})
				e.runTCP(cs)
				e.checkKernel("MPCapableSYNRX=0", "MPCapableSYNTX=0")
				e.checkOurs("MPCapableSYNRX=0", "MPCapableSYNTX=0")
				e.stop()
				if n := e.wireCount("tcp.options.mptcp.subtype"); n > 0 {
					t.Errorf("%d packets carry MPTCP options", n)
				}
				e.finish()
			})
		}
	}
}

// smallSize fits in every receive buffer.
const smallSize = 64 << 10

// runTCP is run for a connection that is plain TCP on our side (MPTCP
// disabled or fallen back): the first 64 KiB each way, checks, then the
// rest of the full size; then the graceful close.
func (e *env) runTCP(cs *conns) {
	e.t.Helper()
	x := newTransfer(cs)
	if err := x.exchange(smallSize); err != nil {
		e.failed(cs, err)
	}
	cs.info = cs.ours.Info()
	if !cs.info.FellBack || len(cs.info.Subflows) != 1 {
		logInfo(e.t, cs.ours)
		e.t.Errorf("ours: fell back %v, %d subflows; want TCP over one subflow", cs.info.FellBack, len(cs.info.Subflows))
	}
	if kernelMPTCP(cs.kernel) {
		e.t.Error("the kernel's socket says it uses MPTCP")
	}
	// The rest: more than the receive buffer, which a fallen-back
	// connection must not overrun (finding F1, fixed in 5e44c90).
	if err := x.exchange(size - smallSize); err != nil {
		e.failed(cs, err)
	}
	e.close(cs, x)
}

// failed ends a case whose transfer failed, with what both sides knew.
func (e *env) failed(cs *conns, err error) {
	e.t.Helper()
	logInfo(e.t, cs.ours)
	e.t.Logf("ours counters moved: %v", e.ourCounters().sub(e.ourBefore))
	e.t.Logf("kernel counters moved: %v", kernelCounters(e.t, e.kern).sub(e.kernBefore))
	e.t.Fatal(err)
}
