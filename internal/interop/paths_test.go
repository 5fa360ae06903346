//go:build linux

package interop

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/internal/lab"
)

// manyPaths is how many paths TestManyPaths uses.
const manyPaths = 4

// endpoints adds a kernel endpoint with the given flags for each of the
// kernel's addresses on the given paths, and limits that take them all.
func (e *env) endpoints(paths []int, flags ...string) {
	e.t.Helper()
	if err := e.kern.MPTCPLimits(8, 8); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range paths {
		if err := e.kern.AddMPTCPEndpoint(lab.Endpoint{Addr: e.kernAddr(p), ID: 10 + p, Flags: flags}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestManyPaths: more than two paths, and the C flag of MP_CAPABLE (RFC
// 8684 section 3.1: its sender "will not accept additional MPTCP subflows
// to the source address and port"), both ways; one case for both, since
// each costs the suite a topology. The server sets C (the kernel with
// net.mptcp.allow_join_initial_addr_port=0, ours with
// Config.DenyJoinInitial) and announces addresses on other paths; the
// client, which has other addresses too (ours a second one, the kernel's
// a `subflow` endpoint) and would otherwise join the server's initial
// address from them, joins only the announced ones. Four paths, at least
// four subflows, each carrying data both ways; 1 MiB each way, byte for
// byte. The kernel drops nothing of ours beyond its connection-level
// window (NoDSSInWindow, issue 14 finding 5).
func TestManyPaths(t *testing.T) {
	t.Parallel() // with the other top-level parallel cases, after the rest
	for _, sd := range sides {
		t.Run(sd.String(), func(t *testing.T) {
			t.Parallel()
			ec := envConfig{side: sd, paths: manyPaths}
			var announced []int // the paths of the addresses the server announces
			if sd == ourClient {
				ec.ourPaths = []int{1, 2}
				ec.kernelSysctl = []string{"net.mptcp.allow_join_initial_addr_port=0"}
				announced = []int{3, 4}
			} else {
				ec.ourPaths = []int{1, 2, 3, 4}
				ec.cfg = mptcp.Config{DenyJoinInitial: true}
				announced = []int{2, 3, 4}
			}
			e := newEnv(t, ec)
			if sd == ourClient {
				e.endpoints(announced, "signal")
			} else {
				e.endpoints([]int{2}, "subflow")
			}
			// Ours: 2 local addresses x 2 announced; the kernel's client:
			// one join to each announced address.
			want := 1 + 2*len(announced)
			if sd == ourServer {
				want = 1 + len(announced)
			}
			cs := e.connect(connOpts{})
			x := e.startMultipath(cs, want)
			if err := x.exchange(size); err != nil {
				e.failed(cs, err)
			}
			ci := cs.ours.Info()
			logInfo(t, cs.ours)
			subflowsCarried(t, ci)
			server := e.kernAddr(1)
			isAnnounced := map[netip.Addr]bool{}
			for _, p := range announced {
				if sd == ourClient {
					isAnnounced[e.kernAddr(p)] = true
				} else {
					isAnnounced[e.ourAddr(p)] = true
				}
			}
			if sd == ourServer {
				server = e.ourAddr(1)
			}
			for _, s := range ci.Subflows {
				if s.BytesSent == 0 || s.BytesReceived == 0 {
					t.Errorf("subflow %v -> %v carried %d bytes out and %d in; want data both ways on every subflow", s.Local, s.Remote, s.BytesSent, s.BytesReceived)
				}
				end := s.Remote
				if sd == ourServer {
					end = s.Local
				}
				if s.Join && !isAnnounced[end.Addr()] {
					t.Errorf("subflow %v -> %v joined an address the server did not announce", s.Local, s.Remote)
				}
			}
			e.close(cs, x)
			joins := len(ci.Subflows) - 1
			if sd == ourClient {
				e.checkKernel("AddAddrTx>=2", fmt.Sprintf("MPJoinSynRx=%d", joins), fmt.Sprintf("MPJoinAckRx=%d", joins), "MPJoinRejected=0")
				e.checkOurs(fmt.Sprintf("MPJoinSynTx=%d", joins), "AddAddr=2")
			} else {
				e.checkKernel(fmt.Sprintf("MPJoinSynTx=%d", joins), fmt.Sprintf("MPJoinSynAckRx=%d", joins), "AddAddr=3")
				e.checkOurs(fmt.Sprintf("MPJoinSynRx=%d", joins), fmt.Sprintf("MPJoinAckRx=%d", joins), "MPJoinRejected=0")
			}
			e.stop()
			// The server's MP_CAPABLE SYN/ACK carries C; no MP_JOIN SYN
			// goes to the initial address and port.
			srv := e.fromKernel()
			if sd == ourServer {
				srv = e.fromUs()
			}
			if n := e.wireCount(fmt.Sprintf("tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.options.mptcp.subtype == %d && tcp.options.mptcp.nomoresubflows.flag == 1 && %s", subMPCapable, srv)); n == 0 {
				t.Error("no MP_CAPABLE SYN/ACK with the C flag from the server")
			}
			dst := fmt.Sprintf("ip.dst == %s && tcp.dstport == %d", server, port)
			if n := e.wireCount(fmt.Sprintf("tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.options.mptcp.subtype == %d && %s", subMPJoin, dst)); n > 0 {
				t.Errorf("%d MP_JOIN SYNs to the initial address and port", n)
			}
			e.finish()
		})
	}
}
