package simtest

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// subflowsTo counts the client's subflows (live and closed) to addr and
// the bytes they received.
func subflowsTo(p *Pair, addr string) (n int, bytes uint64) {
	ci := p.C.Conn.Info()
	for _, s := range append(ci.Subflows, ci.ClosedSubflows...) {
		if s.Remote.Addr().String() == addr {
			n++
			bytes += s.BytesReceived
		}
	}
	return
}

// TestAddAddr has a server with two addresses announce the second; the
// client opens subflows to it from both of its paths.
func TestAddAddr(t *testing.T) {
	for seed := range 3 {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			n, err := NewNet(uint64(50+seed), twoPaths(2), Options{ServerAddrs: 2})
			if err != nil {
				t.Fatal(err)
			}
			const down = 4 << 20
			p := transferOK(t, n, 0, down, core.ConnOptions{}, 60*time.Second)
			cm, sm := n.CS.MIB(), n.SS.MIB()
			if sm.Get(core.AddAddrTx) == 0 || cm.Get(core.AddAddr) == 0 || cm.Get(core.EchoAddTx) == 0 || sm.Get(core.EchoAdd) == 0 {
				logState(t, n, p)
				t.Fatalf("ADD_ADDR exchange not counted: server tx %d, client rx %d, echo tx %d, echo rx %d",
					sm.Get(core.AddAddrTx), cm.Get(core.AddAddr), cm.Get(core.EchoAddTx), sm.Get(core.EchoAdd))
			}
			k, b := subflowsTo(p, "10.9.1.2")
			if k != 2 || b == 0 {
				logState(t, n, p)
				t.Fatalf("%d subflows to the announced address carrying %d bytes, want 2 carrying data", k, b)
			}
		})
	}
}

// TestDenyJoinInitial is the load-balancer case: the server's first
// address is shared (a virtual IP), it sets the C flag and announces its
// own address, and clients join only that one.
func TestDenyJoinInitial(t *testing.T) {
	n, err := NewNet(60, twoPaths(2), Options{ServerAddrs: 2, Server: func(c *core.Config) {
		c.DenyJoinInitial = true
		c.Announce = []netip.AddrPort{netip.MustParseAddrPort("10.9.1.2:8080")}
	}})
	if err != nil {
		t.Fatal(err)
	}
	const down = 4 << 20
	p := transferOK(t, n, 0, down, core.ConnOptions{}, 60*time.Second)
	if k, _ := subflowsTo(p, "10.9.0.2"); k != 1 {
		logState(t, n, p)
		t.Errorf("%d subflows to the initial address, want only the initial one", k)
	}
	k, b := subflowsTo(p, "10.9.1.2")
	if k < 2 || b == 0 {
		logState(t, n, p)
		t.Fatalf("%d subflows to the announced address carrying %d bytes", k, b)
	}
	ports := 0
	ci := p.C.Conn.Info()
	for _, s := range append(ci.Subflows, ci.ClosedSubflows...) {
		if s.Remote.Port() == 8080 {
			ports++
		}
	}
	if ports == 0 || n.SS.MIB().Get(core.MPJoinPortSynRx) == 0 || n.CS.MIB().Get(core.PortAdd) == 0 {
		logState(t, n, p)
		t.Errorf("no join to the announced port (subflows %d, MPJoinPortSynRx %d, PortAdd %d)",
			ports, n.SS.MIB().Get(core.MPJoinPortSynRx), n.CS.MIB().Get(core.PortAdd))
	}
	if n.SS.MIB().Get(core.MPJoinRejected) != 0 {
		t.Errorf("the client tried to join the initial address")
	}
}

// TestBackupPath marks the second path as backup: it carries (almost)
// nothing while the first works, and the transfer when the first fails.
// Switching it to non-backup mid-transfer sends MP_PRIO.
func TestBackupPath(t *testing.T) {
	n, err := NewNet(70, twoPaths(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.CS.SetAddressBackup(n.ClientIfs[1].Addr(true), true)
	const down = 16 << 20
	p, err := n.StartTransfer(0, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(2 * time.Second)
	_, onBackup := subflowsTo(p, "10.9.0.2")
	_ = onBackup
	backupBytes := func() uint64 {
		var b uint64
		ci := p.C.Conn.Info()
		for _, s := range append(ci.Subflows, ci.ClosedSubflows...) {
			if s.Local.Addr() == n.ClientIfs[1].Addr(true) {
				b += s.BytesReceived
			}
		}
		return b
	}
	early := backupBytes()
	if early > 64<<10 {
		logState(t, n, p)
		t.Fatalf("backup path carried %d bytes while the primary worked", early)
	}
	n.PathLinks[0].SetUp(false)
	n.Sim.RunFor(3 * time.Second)
	failover := backupBytes()
	if failover < 1<<20 {
		logState(t, n, p)
		t.Fatalf("backup path carried only %d bytes after the primary failed", failover)
	}
	n.PathLinks[0].SetUp(true)
	n.CS.SetAddressBackup(n.ClientIfs[1].Addr(true), false)
	n.RunUntilDone(p, 60*time.Second)
	if err := p.Check(0, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
	if n.CS.MIB().Get(core.MPPrioTx) == 0 || n.SS.MIB().Get(core.MPPrioRx) == 0 {
		t.Errorf("MP_PRIO not exchanged: tx %d rx %d", n.CS.MIB().Get(core.MPPrioTx), n.SS.MIB().Get(core.MPPrioRx))
	}
	if n.SS.MIB().Get(core.MPJoinSynBackupRx) == 0 {
		t.Errorf("join without the backup flag")
	}
	t.Logf("backup path: %d bytes before the failure, %d after it, %d at the end", early, failover, backupBytes())
}

// TestFastclose aborts a connection in the middle of a transfer: the peer
// learns of it through MP_FASTCLOSE and fails with a reset.
func TestFastclose(t *testing.T) {
	n, err := NewNet(80, twoPaths(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.StartTransfer(0, 64<<20, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(time.Second)
	p.C.Conn.Abort()
	n.Client.Wake()
	n.Sim.RunFor(time.Second)
	if n.CS.MIB().Get(core.MPFastcloseTx) == 0 || n.SS.MIB().Get(core.MPFastcloseRx) == 0 {
		t.Fatalf("MP_FASTCLOSE tx %d rx %d", n.CS.MIB().Get(core.MPFastcloseTx), n.SS.MIB().Get(core.MPFastcloseRx))
	}
	if st, err := p.S.Conn.State(), p.S.Conn.Err(); st != core.StateClosed || err != core.ErrConnectionReset {
		t.Fatalf("server: state %v err %v, want closed by reset", st, err)
	}
	if len(n.SS.Conns()) != 0 || len(n.CS.Conns()) != 0 {
		t.Fatalf("connections left: client %d server %d", len(n.CS.Conns()), len(n.SS.Conns()))
	}
}

// TestDialBackup makes the initial subflow a backup: the peer learns it
// through MP_PRIO and sends nothing on it while the join works.
func TestDialBackup(t *testing.T) {
	n, err := NewNet(71, twoPaths(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := transfer(t, n, 0, 8<<20, core.ConnOptions{Backup: true})
	if n.CS.MIB().Get(core.MPPrioTx) == 0 || n.SS.MIB().Get(core.MPPrioRx) == 0 {
		t.Fatalf("MP_PRIO tx %d rx %d", n.CS.MIB().Get(core.MPPrioTx), n.SS.MIB().Get(core.MPPrioRx))
	}
	ci := p.S.Conn.Info()
	for _, s := range append(ci.Subflows, ci.ClosedSubflows...) {
		if s.Initial && s.BytesSent > 256<<10 {
			t.Errorf("server sent %d bytes on the backup initial subflow", s.BytesSent)
		}
	}
}
