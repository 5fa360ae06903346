//go:build linux

package interop

import (
	"fmt"
	"strconv"
	"testing"
)

// removalRules relax the healthy defaults for a case that closes a
// subflow on purpose: either side may reset it (with MP_TCPRST).
var removalRules = []string{"MPRstTx>=0", "MPRstRx>=0"}

// kernelRemovalRules add that the kernel then counts the reset of an
// established TCP connection.
var kernelRemovalRules = append([]string{"TcpEstabResets>=0", "TcpExtTCPAbortOnData>=0", "TcpExtTCPAbortOnClose>=0"}, removalRules...)

// TestRemoveAddr: an address goes away while data flows both ways over
// two subflows: on our side (Stack.RemoveAddress: we send REMOVE_ADDR),
// or on the kernel's (ip mptcp endpoint del: the kernel sends it). The
// subflow over path 2 closes, its data in flight moves to path 1, and the
// streams stay byte-exact.
func TestRemoveAddr(t *testing.T) {
	cases := []struct {
		name string
		side side
		// ours: our stack holds both paths' addresses and removes path 2's;
		// otherwise the kernel has an endpoint on path 2 and deletes it.
		ours  bool
		flags string // the kernel endpoint's flags
	}{
		// Our client joined from its path-2 address and removes it.
		{"OurClient/RemoveAddress", ourClient, true, ""},
		// Our server announced its path-2 address and removes it.
		{"OurServer/RemoveAddress", ourServer, true, ""},
		// The kernel's server announced its path-2 address, our client
		// joined it, and the kernel deletes the endpoint.
		{"OurClient/EndpointDel", ourClient, false, "signal"},
		// The kernel's client joined from its path-2 address, and deletes
		// the endpoint.
		{"OurServer/EndpointDel", ourServer, false, "subflow"},
	}
	for _, tc := range cases {
		for _, fam := range families {
			t.Run(tc.name+"/"+fam.name, func(t *testing.T) {
				t.Parallel()
				ec := envConfig{side: tc.side, v6: fam.v6, paths: 2}
				if tc.ours {
					ec.ourPaths = []int{1, 2}
				}
				e := newEnv(t, ec)
				if tc.flags != "" {
					e.endpoint(tc.flags)
				} else {
					e.endpoint()
				}
				cs := e.connect(connOpts{})
				x := e.startMultipath(cs, 2)
				js := joinSubflow(t, cs.ours.Info())

				// Remove path 2 halfway through a transfer each way.
				done := make(chan error, 1)
				go func() { done <- x.exchange(size) }()
				base := cs.ours.Info()
				waitFor(t, "half the transfer", func() bool {
					ci := cs.ours.Info()
					return ci.BytesReceived-base.BytesReceived > size/2 || ci.BytesSent-base.BytesSent > size/2
				})
				if tc.ours {
					e.st.RemoveAddress(e.ourAddr(2))
				} else {
					e.kern.Run(t, "ip", "mptcp", "endpoint", "del", "id", strconv.Itoa(kernelEndpointID))
				}
				if err := <-done; err != nil {
					e.failed(cs, err)
				}
				waitFor(t, "the path-2 subflow to go", func() bool {
					for _, s := range cs.ours.Info().Subflows {
						if s.ID == js.ID {
							return false
						}
					}
					return true
				})
				// The rest goes over path 1 alone.
				if err := x.exchange(size / 4); err != nil {
					e.failed(cs, err)
				}
				if err := x.shutdown(); err != nil {
					e.failed(cs, err)
				}
				cs.kernel.Close()
				cs.ours.Close()
				waitClosed(t, cs.ours)
				// F3: we reset the subflow of a removed address at once
				// instead of closing it with a FIN after the REMOVE_ADDR,
				// so the kernel finds no subflow left to remove.
				resets := e.known("F3", "the subflow of a removed address is reset, not closed with a FIN after the REMOVE_ADDR")
				// (Our client too announces the removal of an address its
				// join used, as the kernel's does: finding F2, fixed in
				// 781102d.)
				switch {
				case tc.ours:
					rmSubflow := "RmSubflow>=1"
					if resets {
						rmSubflow = "RmSubflow>=0"
					}
					e.checkKernel(append([]string{"RmAddr=1", rmSubflow, "RmAddrDrop=0"}, kernelRemovalRules...)...)
					e.checkOurs(append([]string{"RmAddrTx=1", "RmAddr=0"}, removalRules...)...)
				default:
					e.checkKernel(append([]string{"RmAddrTx=1", "RmAddr=0"}, kernelRemovalRules...)...)
					e.checkOurs(append([]string{"RmAddr=1", "RmSubflow>=1", "RmAddrDrop=0"}, removalRules...)...)
				}
				e.stop()
				// On the wire: one REMOVE_ADDR naming the path-2 address's ID.
				id := js.LocalID
				if !tc.ours {
					id = js.RemoteID
				}
				lines, ok := e.wire(fmt.Sprintf("tcp.options.mptcp.subtype == %d", subRemoveAddr), "tcp.options.mptcp.addrid")
				if ok && (len(lines) != 1 || lines[0] != strconv.Itoa(int(id))) {
					t.Errorf("REMOVE_ADDRs on the wire naming IDs %q, want one naming %d", lines, id)
				}
				// RFC 8684 section 3.4.2: the removal "SHOULD trigger the
				// sending of TCP FIN by both the client and server on the
				// affected subflows"; the kernel does so.
				if !resets {
					rst := fmt.Sprintf("tcp.flags.reset == 1 && ip%s.src == %s && tcp.srcport == %d", ipSuffix(fam.v6), js.Local.Addr(), js.Local.Port())
					if n := e.wireCount(rst); n > 0 {
						t.Errorf("we reset the removed subflow %v -> %v (%d RSTs)", js.Local, js.Remote, n)
					}
				}
				e.finish()
			})
		}
	}
}

// ipSuffix is tshark's IP protocol name suffix: "" or "v6".
func ipSuffix(v6 bool) string {
	if v6 {
		return "v6"
	}
	return ""
}
