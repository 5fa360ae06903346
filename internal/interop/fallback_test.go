//go:build linux

package interop

import (
	"testing"

	"github.com/mptcp-go/mptcp"
)

// TestFallback: one side does not speak MPTCP on this connection: the
// kernel, because MPTCP is disabled in its namespace (net.mptcp.enabled=0:
// Go's SetMultipathTCP then opens a TCP socket) or because its socket is
// a plain TCP one; or we, with Config.DisableMPTCP, against a kernel
// MPTCP socket. The connection falls back to TCP, our side says so, and
// the data flows; the kernel's counters say what it saw.
func TestFallback(t *testing.T) {
	kinds := []struct {
		name   string
		sysctl []string
		plain  bool
		ours   bool // our stack has MPTCP disabled
	}{
		{"KernelDisabled", []string{"net.mptcp.enabled=0"}, false, false},
		{"PlainSocket", nil, true, false},
		{"OursDisabled", nil, false, true},
	}
	for _, k := range kinds {
		for _, sd := range sides {
			for _, fam := range families {
				t.Run(k.name+"/"+sd.String()+"/"+fam.name, func(t *testing.T) {
					t.Parallel()
					e := newEnv(t, envConfig{side: sd, v6: fam.v6, kernelSysctl: k.sysctl, cfg: mptcp.Config{DisableMPTCP: k.ours}})
					cs := e.connect(connOpts{kernelNoMPTCP: k.plain})
					e.runTCP(cs)
					if k.ours {
						// The kernel's MPTCP socket met a plain TCP peer.
						if sd == ourClient {
							// A SYN without MP_CAPABLE: the kernel's MPTCP
							// listener hands out a plain TCP socket.
							e.checkKernel("MPCapableSYNRX=0", "MPCapableACKRX=0")
						} else {
							e.checkKernel("MPCapableSYNTX=1", "MPCapableSYNACKRX=0", "MPCapableFallbackSYNACK=1")
						}
						// (Our disabled stack still counts the MP_CAPABLE
						// SYN it ignores, MPCapableSYNRX; the kernel's
						// does not, having no MPTCP listener then.)
						e.checkOurs("MPCapableSYNTX=0", "MPCapableACKRX=0", "MPCapableSYNACKRX=0")
						e.stop()
						if sd == ourServer {
							// The kernel's SYN offered MP_CAPABLE; nothing else did.
							if n := e.wireCount("tcp.options.mptcp.subtype"); n != 1 && n != -1 {
								t.Errorf("%d packets carry MPTCP options, want the kernel's SYN only", n)
							}
						} else if n := e.wireCount("tcp.options.mptcp.subtype"); n > 0 {
							t.Errorf("%d packets carry MPTCP options, want none", n)
						}
						e.finish()
						return
					}
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
