//go:build linux

package interop

import (
	"fmt"
	"testing"

	"github.com/mptcp-go/mptcp"
)

// TestChecksum: DSS checksums, asked for by either end, in both
// directions of the handshake. RFC 8684 section 3.3.1: if either host
// asks (the A flag of MP_CAPABLE), both checksum every mapping. The
// kernel asks with net.mptcp.checksum_enabled=1 in its namespace, we with
// Config.Checksum. Data moves both ways; neither side finds a bad
// checksum, and every mapping on the wire, ours and the kernel's, carries
// one. One case adds a join, whose mappings are checksummed too.
func TestChecksum(t *testing.T) {
	cases := []struct {
		name  string
		side  side
		ours  bool // we ask; else the kernel asks
		join  bool
		v6    bool
		paths int
	}{
		{name: "OurClient/OursAsks", side: ourClient, ours: true},
		{name: "OurClient/KernelAsks", side: ourClient},
		{name: "OurServer/OursAsks", side: ourServer, ours: true},
		{name: "OurServer/KernelAsks", side: ourServer},
		{name: "OurServer/KernelAsks/IPv6", side: ourServer, v6: true},
		{name: "OurClient/KernelAsks/Join", side: ourClient, join: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ec := envConfig{side: tc.side, v6: tc.v6, cfg: mptcp.Config{Checksum: tc.ours}}
			if !tc.ours {
				ec.kernelSysctl = []string{"net.mptcp.checksum_enabled=1"}
			}
			if tc.join {
				ec.paths, ec.ourPaths = 2, []int{1, 2}
			}
			e := newEnv(t, ec)
			if tc.join {
				e.endpoint()
			}
			cs := e.connect(connOpts{})
			subflows := 1
			if tc.join {
				subflows = 2
			}
			x := e.startMultipath(cs, subflows)
			if err := x.exchange(size); err != nil {
				e.failed(cs, err)
			}
			ci := cs.ours.Info()
			if !ci.Checksum || ci.FellBack {
				t.Errorf("ours: checksum %v, fell back %v (%s); want checksummed MPTCP", ci.Checksum, ci.FellBack, ci.FallbackReason)
			}
			if err := x.shutdown(); err != nil {
				e.failed(cs, err)
			}
			if !kernelMPTCP(cs.kernel) {
				t.Error("the kernel's socket is not using MPTCP")
			}
			cs.kernel.Close()
			cs.ours.Close()
			waitClosed(t, cs.ours)
			joins := "MPJoinSynRx=0"
			if tc.join {
				joins = "MPJoinSynRx=1"
			}
			e.checkKernel("DataCsumErr=0", "MPFailTx=0", joins)
			e.checkOurs("DataCsumErr=0", "MPFailRx=0")
			e.stop()
			// The asking side's MP_CAPABLE SYN or SYN/ACK carries A.
			asker := e.fromKernel()
			if tc.ours {
				asker = e.fromUs()
			}
			if n := e.wireCount(fmt.Sprintf("tcp.flags.syn == 1 && tcp.options.mptcp.subtype == %d && tcp.options.mptcp.checksumreq.flags == 1 && %s", subMPCapable, asker)); n == 0 {
				t.Error("no MP_CAPABLE with the checksum flag (A) from the side that asks")
			}
			// Every mapping carries a checksum, both ways.
			mc, err := e.dssMappings()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("DSS mappings: ours %d (%d with checksum), the kernel's %d (%d)", mc.ours, mc.oursCsum, mc.kernel, mc.kernelCsum)
			if mc.ours == 0 || mc.oursCsum != mc.ours || mc.kernel == 0 || mc.kernelCsum != mc.kernel {
				t.Errorf("DSS mappings without checksum: ours %d of %d, the kernel's %d of %d", mc.ours-mc.oursCsum, mc.ours, mc.kernel-mc.kernelCsum, mc.kernel)
			}
			e.finish()
		})
	}
}

// fromUs is a tshark filter for the packets our stack sent.
func (e *env) fromUs() string { return e.srcFilter(true) }

// fromKernel is a tshark filter for the packets the kernel sent.
func (e *env) fromKernel() string { return e.srcFilter(false) }

func (e *env) srcFilter(ours bool) string {
	f := ""
	for _, p := range e.tp.Paths {
		a := e.kernAddr(p.N)
		if ours {
			a = e.ourAddr(p.N)
		}
		if f != "" {
			f += " || "
		}
		f += fmt.Sprintf("ip%s.src == %s", ipSuffix(e.v6), a)
	}
	return "(" + f + ")"
}
