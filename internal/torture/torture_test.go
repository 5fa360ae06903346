package torture

import (
	"regexp"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
)

// TestSlice runs a short slice of the campaign in the default suite: a
// few cases, one seed each, in this process.
func TestSlice(t *testing.T) {
	cases, err := Select(`^(clean/1|strip-acks/1|coalesce-all/2|spoofed-plain-acks/2|path-down/2)$`)
	if err != nil {
		t.Fatal(err)
	}
	seeds := 2
	if testing.Short() {
		seeds = 1
	}
	res, err := (&Campaign{Cases: cases, Seeds: seeds, FirstSeed: 1}).Run()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK() {
			t.Errorf("%s: %+v", r.Case, r)
		}
	}
}

func TestSelect(t *testing.T) {
	if _, err := Select("no such case"); err == nil {
		t.Error("no error for a pattern that matches nothing")
	}
	if _, err := Select("("); err == nil {
		t.Error("no error for a bad pattern")
	}
}

// The forged segments of finding 8 of issue 21 end no subflow: each is
// answered as the RFCs allow (dropped, challenged, or overruled by the
// real segment) and counted, and the transfer completes.
func TestForgedInWindow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		counted func(n *simtest.Net) uint64
	}{
		{"forged-tsval/2", func(n *simtest.Net) uint64 { return n.CS.TCP().Stats().TSJumpDrops }},
		{"forged-ooo-dss/2", func(n *simtest.Net) uint64 {
			m := n.CS.MIB()
			return m.Get(core.DSSConflictReplaced) + m.Get(core.DSSOutOfOrderDrop)
		}},
		{"forged-doff-csum/1", func(n *simtest.Net) uint64 { return n.CS.MIB().Get(core.NoDSSDataDrop) }},
		{"forged-doff-csum/2", func(n *simtest.Net) uint64 { return n.CS.MIB().Get(core.NoDSSDataDrop) }},
	} {
		cs, err := Select("^" + regexp.QuoteMeta(tc.name) + "$")
		if err != nil {
			t.Fatal(err)
		}
		n, o, d := run(&cs[0], 1)
		if o != Completed {
			t.Errorf("%s: %s: %s", tc.name, o, d)
			continue
		}
		m := n.CS.MIB()
		if rst := m.Get(core.MPRstTx) + m.Get(core.DSSNotMatching) + m.Get(core.DSSNoMatchTCP) + m.Get(core.FallbackFailed); rst != 0 {
			t.Errorf("%s: the client reset subflows (MIB %v)", tc.name, m.Map(false))
		}
		if tc.counted(n) == 0 {
			t.Errorf("%s: the forged segments were not counted (MIB %v)", tc.name, m.Map(false))
		}
	}
}

// A forged MP_FASTCLOSE with the client's key ends the connection at the
// client, as RFC 8684 section 3.5 says, and the client's RSTs carry
// MP_FASTCLOSE with the server's key, so the server, which asked for
// nothing, ends too instead of waiting NoSubflowTimeout for a subflow
// (found by the live case live/fastclose-valid).
func TestForgedFastcloseEndsBothSides(t *testing.T) {
	cs, err := Select(`^forged-fastclose/2$`)
	if err != nil {
		t.Fatal(err)
	}
	c := &cs[0]
	n, err := simtest.NewNet(1, c.paths(), c.Options)
	if err != nil {
		t.Fatal(err)
	}
	c.Install(n)
	p, err := n.StartTransfer(UpBytes, DownBytes, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(c.DuringAt)
	c.During(n)
	n.Sim.RunFor(2 * time.Second)
	if got := n.CS.MIB().Get(core.MPFastcloseRx); got == 0 {
		t.Fatalf("the client took no MP_FASTCLOSE (MIB %v)", n.CS.MIB().Map(false))
	}
	if st, err := p.C.Conn.State(), p.C.Conn.Err(); st != core.StateClosed || err != core.ErrConnectionReset {
		t.Errorf("client: state %v err %v, want closed by reset", st, err)
	}
	if p.S == nil {
		t.Fatal("the server accepted no connection")
	}
	if st, err := p.S.Conn.State(), p.S.Conn.Err(); st != core.StateClosed || err != core.ErrConnectionReset {
		t.Errorf("server: state %v err %v, want closed by reset within 2 s (MIB %v)", st, err, n.SS.MIB().Map(false))
	}
}

// Data the client's first subflow acknowledged and then discarded at the
// data level (a forged mapping replaced it) is sent again at the data
// level even though that path died and its subflow's RTO keeps doubling
// (found by the live case live/forged-dss: the transfer stalled).
func TestHoleAfterPathDown(t *testing.T) {
	cs, err := Select(`^forged-hole-path-down/2$`)
	if err != nil {
		t.Fatal(err)
	}
	n, o, d := run(&cs[0], 1)
	if o != Completed {
		t.Fatalf("%s: %s", o, d)
	}
	if got := n.CS.MIB().Get(core.DSSConflictReplaced); got == 0 {
		t.Errorf("the forged mapping replaced nothing (client MIB %v)", n.CS.MIB().Map(false))
	}
	if got := n.SS.MIB().Get(core.MPTCPRetrans); got == 0 {
		t.Errorf("the server sent nothing again at the data level (MIB %v)", n.SS.MIB().Map(false))
	}
}
