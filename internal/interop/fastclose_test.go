//go:build linux

package interop

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// TestFastclose: abortive close both ways (RFC 8684 section 3.5). Our
// Conn.Abort sends MP_FASTCLOSE with the kernel's key; the kernel's
// reader gets ECONNRESET. The kernel's close of an MPTCP socket with
// SO_LINGER 0 sends MP_FASTCLOSE (Linux >= 6.1) with our key; our
// reader gets ErrConnectionReset. One case aborts a connection of two
// subflows, which must all go.
func TestFastclose(t *testing.T) {
	cases := []struct {
		name   string
		side   side
		kernel bool // the kernel aborts; else we do
		join   bool
	}{
		{name: "OurClient/OursAborts", side: ourClient},
		{name: "OurServer/OursAborts", side: ourServer},
		{name: "OurClient/OursAborts/Join", side: ourClient, join: true},
		{name: "OurClient/KernelAborts", side: ourClient, kernel: true},
		{name: "OurServer/KernelAborts", side: ourServer, kernel: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ec := envConfig{side: tc.side}
			subflows := 1
			if tc.join {
				ec.paths, ec.ourPaths, subflows = 2, []int{1, 2}, 2
			}
			e := newEnv(t, ec)
			if tc.join {
				e.endpoint()
			}
			cs := e.connect(connOpts{})
			e.startMultipath(cs, subflows)
			ci := cs.ours.Info()
			if tc.kernel {
				if err := cs.kernel.SetLinger(0); err != nil {
					t.Fatal(err)
				}
				if err := cs.kernel.Close(); err != nil {
					t.Fatal(err)
				}
				// Our reader learns at once.
				_, err := cs.ours.Read(make([]byte, 1))
				if !errors.Is(err, core.ErrConnectionReset) {
					t.Errorf("our Read after the kernel's abort: %v, want %v", err, core.ErrConnectionReset)
				}
			} else {
				cs.ours.Abort()
				cs.kernel.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, err := cs.kernel.Read(make([]byte, 1))
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("the kernel's Read after our abort: %v, want ECONNRESET", err)
				}
			}
			waitClosed(t, cs.ours)
			resets := []string{"MPRstTx>=0", "MPRstRx>=0"}
			kernelResets := append([]string{"TcpEstabResets>=0", "TcpExtTCPAbortOnData>=0", "TcpExtTCPAbortOnClose>=0"}, resets...)
			if tc.kernel {
				e.checkKernel(append([]string{"MPFastcloseTx>=1", "MPFastcloseRx=0"}, kernelResets...)...)
				e.checkOurs(append([]string{"MPFastcloseRx>=1", "MPFastcloseTx=0", "FastcloseBadKey=0"}, resets...)...)
			} else {
				e.checkKernel(append([]string{"MPFastcloseRx>=1", "MPFastcloseTx=0"}, kernelResets...)...)
				e.checkOurs(append([]string{"MPFastcloseTx>=1", "MPFastcloseRx=0"}, resets...)...)
			}
			e.stop()
			// On the wire: MP_FASTCLOSE from the aborting side, carrying
			// the other side's key as its MP_CAPABLE sent it.
			from, to := e.fromUs(), e.fromKernel()
			if tc.kernel {
				from, to = to, from
			}
			// (A server's key is in its SYN/ACK, a client's in its third
			// ACK, and in the first data if that ACK was repeated.)
			sent, ok := e.wire(fmt.Sprintf("tcp.options.mptcp.subtype == %d && tcp.options.mptcp.sendkey && %s", subMPCapable, to), "tcp.options.mptcp.sendkey")
			if !ok {
				return
			}
			keys := slices.Compact(sent)
			got, _ := e.wire(fmt.Sprintf("tcp.options.mptcp.subtype == %d && %s", subFastclose, from), "tcp.options.mptcp.recvkey", "tcp.flags.reset")
			if len(keys) != 1 || len(got) == 0 {
				t.Fatalf("MP_CAPABLE SYN keys %q, MP_FASTCLOSEs %q", keys, got)
			}
			for _, g := range got {
				if key, _, _ := strings.Cut(g, ","); key != keys[0] {
					t.Errorf("MP_FASTCLOSE (key,rst) %s; want the key %s", g, keys[0])
				}
			}
			// Every subflow ends with a RST from the aborting side.
			for _, s := range ci.Subflows {
				rst := fmt.Sprintf("tcp.flags.reset == 1 && %s && ((tcp.srcport == %d && tcp.dstport == %d) || (tcp.srcport == %d && tcp.dstport == %d))",
					from, s.Local.Port(), s.Remote.Port(), s.Remote.Port(), s.Local.Port())
				if n := e.wireCount(rst); n == 0 {
					t.Errorf("no RST on subflow %v -> %v", s.Local, s.Remote)
				}
			}
			e.finish()
		})
	}
}
