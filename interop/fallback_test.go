//go:build linux

package interop

import "testing"

// TestFallback: the kernel does not speak MPTCP on this connection,
// because MPTCP is disabled in its namespace (net.mptcp.enabled=0: Go's
// SetMultipathTCP then opens a TCP socket) or because its socket is a
// plain TCP one. Our side falls back to TCP, says so, and carries the
// data; the kernel counts no MPTCP at all.
func TestFallback(t *testing.T) {
	kinds := []struct {
		name   string
		sysctl []string
		plain  bool
	}{
		{"KernelDisabled", []string{"net.mptcp.enabled=0"}, false},
		{"PlainSocket", nil, true},
	}
	for _, k := range kinds {
		for _, sd := range sides {
			for _, fam := range families {
				t.Run(k.name+"/"+sd.String()+"/"+fam.name, func(t *testing.T) {
					t.Parallel()
					e := newEnv(t, envConfig{side: sd, v6: fam.v6, kernelSysctl: k.sysctl})
					cs := e.connect(connOpts{kernelNoMPTCP: k.plain})
					e.runTCP(cs)
					if sd == ourClient {
						// The SYN/ACK came without MP_CAPABLE.
						if cs.info.FallbackReason != "MPCapableFallbackSYNACK" {
							t.Errorf("ours: fallback reason %q, want MPCapableFallbackSYNACK", cs.info.FallbackReason)
						}
						e.checkOurs("MPCapableSYNTX=1", "MPCapableSYNACKRX=0", "MPCapableFallbackSYNACK=1")
					} else {
						// A SYN without MP_CAPABLE is a plain TCP client:
						// no MPTCP was ever tried, nothing to count.
						e.checkOurs("MPCapableSYNRX=0", "MPCapableSYNTX=0")
					}
					e.checkKernel("MPCapableSYNRX=0", "MPCapableSYNTX=0", "MPCapableSYNACKRX=0", "MPCapableACKRX=0")
					e.stop()
					if sd == ourClient {
						// Our SYN offered MP_CAPABLE; nothing else did.
						if n := e.wireCount("tcp.options.mptcp.subtype"); n != 1 && n != -1 {
							t.Errorf("%d packets carry MPTCP options, want our SYN only", n)
						}
					} else if n := e.wireCount("tcp.options.mptcp.subtype"); n > 0 {
						t.Errorf("%d packets carry MPTCP options, want none", n)
					}
					e.finish()
				})
			}
		}
	}
}
