package policytest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/pm"
)

// The client's kernel path manager for the backup tests,
// "policytest-backup": the second path's address is a subflow endpoint with
// the backup flag, as `ip mptcp endpoint add 10.0.2.2 subflow backup` makes it.
func init() {
	k, err := pm.NewKernel(pm.KernelConfig{Endpoints: []pm.LocalAddr{
		{Addr: netip.MustParseAddr("10.0.2.2"), Subflow: true, Backup: true},
	}})
	if err != nil {
		panic(err)
	}
	pm.Register("policytest-backup", k.New)
}

// TestBackup checks, for every scheduler, that a backup subflow carries
// no data while the primary path works, even when the backup path is the
// faster one, and carries the transfer once the primary path fails.
func TestBackup(t *testing.T) {
	for _, name := range []string{"default", "minrtt", "roundrobin", "redundant", "blest", "ecf"} {
		t.Run(name, func(t *testing.T) {
			n := newNet(t, 7, []path{
				{rate: 10e6, delay: 20 * time.Millisecond},
				{rate: 10e6, delay: 2 * time.Millisecond}, // the backup: faster
			}, func(c *core.Config) { c.PathManager = "policytest-backup" },
				func(c *core.Config) { c.Scheduler = name })
			f := n.startDownload(t, 1400, true, core.ConnOptions{})
			n.Sim.RunFor(4 * time.Second)
			info := f.dst.c.Info()
			if len(info.Subflows) != 2 {
				t.Fatalf("%d subflows, want the primary and the backup", len(info.Subflows))
			}
			for _, s := range info.Subflows {
				if s.Local.Addr() == n.ClientAddrs[1] && !s.LocalBackup {
					t.Fatalf("subflow from the backup endpoint is not a backup: %+v", s)
				}
			}
			before := n.subflowBytes(f.dst.c)
			if before[1] != 0 {
				t.Fatalf("backup subflow carried %d bytes while the primary worked (primary %d)", before[1], before[0])
			}
			if before[0] < 2e6 {
				t.Fatalf("primary carried only %d bytes in 4 s", before[0])
			}
			// The primary path fails for good.
			n.PathLinks[0].SetUp(false)
			got := f.dst.got
			n.Sim.RunFor(6 * time.Second)
			after := n.subflowBytes(f.dst.c)
			moved := after[1] - before[1]
			rate := float64(f.dst.got-got) * 8 / 6
			t.Logf("%s: before failure primary %d backup %d; after: backup carried %d bytes, goodput %.2f Mbit/s",
				name, before[0], before[1], moved, rate/1e6)
			if moved < 2e6 || rate < 3e6 {
				t.Fatalf("after the primary failed the backup carried %d bytes (%.2f Mbit/s)", moved, rate/1e6)
			}
		})
	}
}
