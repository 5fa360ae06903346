//go:build linux

package interop

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/mptcp-go/mptcp"
)

// TestDenyJoinInitial: the C flag of MP_CAPABLE (RFC 8684 section 3.1:
// the sender "will not accept additional MPTCP subflows to the source
// address and port"), both ways. The kernel's server sets it with
// net.mptcp.allow_join_initial_addr_port=0 and announces its path-2
// address; our server with Config.DenyJoinInitial, announcing its own.
// The client, ours or the kernel's, opens no subflow to the server's
// initial address and port, and joins the announced address.
func TestDenyJoinInitial(t *testing.T) {
	for _, sd := range sides {
		t.Run(sd.String(), func(t *testing.T) {
			t.Parallel()
			ec := envConfig{side: sd, paths: 2, ourPaths: []int{1, 2}}
			if sd == ourClient {
				ec.kernelSysctl = []string{"net.mptcp.allow_join_initial_addr_port=0"}
			} else {
				ec.cfg = mptcp.Config{DenyJoinInitial: true}
			}
			e := newEnv(t, ec)
			if sd == ourClient {
				e.endpoint("signal")
			} else {
				// A subflow endpoint would join our initial address but
				// for the C flag; add_addr_accepted lets it join what we
				// announce.
				e.endpoint("subflow")
			}
			cs := e.connect(connOpts{})
			x := newTransfer(cs)
			if err := x.exchange(smallSize); err != nil {
				e.failed(cs, err)
			}
			server, announced := e.kernAddr(1), e.kernAddr(2)
			if sd == ourServer {
				server, announced = e.ourAddr(1), e.ourAddr(2)
			}
			initial := netip.AddrPortFrom(server, port)
			waitFor(t, "a join to the announced address "+announced.String(), func() bool {
				for _, s := range cs.ours.Info().Subflows {
					end := s.Remote
					if sd == ourServer {
						end = s.Local
					}
					if s.Join && s.Established && end.Addr() == announced {
						return true
					}
				}
				return false
			})
			if err := x.exchange(size); err != nil {
				e.failed(cs, err)
			}
			ci := cs.ours.Info()
			logInfo(t, cs.ours)
			subflowsCarried(t, ci)
			for _, s := range ci.Subflows {
				end := s.Remote
				if sd == ourServer {
					end = s.Local
				}
				if s.Join && end == initial {
					t.Errorf("subflow %v -> %v joined the initial address and port", s.Local, s.Remote)
				}
			}
			if err := x.shutdown(); err != nil {
				e.failed(cs, err)
			}
			cs.kernel.Close()
			cs.ours.Close()
			waitClosed(t, cs.ours)
			if sd == ourClient {
				e.checkKernel("MPJoinSynRx>=1", "MPJoinRejected=0")
				e.checkOurs("MPJoinSynTx>=1", "MPJoinSynAckRx>=1")
			} else {
				e.checkKernel("MPJoinSynTx>=1", "MPJoinSynAckRx>=1")
				e.checkOurs("MPJoinSynRx>=1", "MPJoinRejected=0")
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
