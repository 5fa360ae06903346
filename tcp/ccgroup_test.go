package tcp

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/cc"
)

// groupHooks are hooks that couple their connection's congestion control
// through a Group, as an MPTCP subflow's do.
type groupHooks struct {
	NopHooks
	g *cc.Group
}

func (h *groupHooks) CCGroup() *cc.Group { return h.g }

// acceptedConn returns the one connection b holds for a passive open.
func acceptedConn(t *testing.T, b *Stack) *Conn {
	t.Helper()
	var sc *Conn
	for _, x := range b.conns {
		sc = x
	}
	if sc == nil || sc.State() != StateEstablished {
		t.Fatal("the passive open did not complete")
	}
	return sc
}

// A listener's connections take their Group from their hooks: the
// listener's Options are shared by all of them, and the passive end of an
// MPTCP connection is the sender of a download, whose subflows must be
// coupled as the active end's are.
func TestCCGroupFromHooks(t *testing.T) {
	n := newTestNet(t, 2*time.Millisecond)
	a, b := n.pair(nil, nil)
	g := cc.NewGroup()
	lc := &ListenConfig{Hooks: &listenHooksFor{h: &groupHooks{g: g}}, Options: Options{CongestionControl: "lia"}}
	if _, err := b.Listen(ap(addrB, 80), lc); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Dial(n.now, ap(addrB, 80), nil); err != nil {
		t.Fatal(err)
	}
	n.Advance(20 * time.Millisecond)
	sc := acceptedConn(t, b)
	if g.Len() != 1 || g.Members()[0].Controller() != sc.cc {
		t.Fatalf("group has %d members, want the accepted connection's controller", g.Len())
	}
}

// A Group named in the Options wins over the hooks'.
func TestCCGroupOptionsBeforeHooks(t *testing.T) {
	n := newTestNet(t, 2*time.Millisecond)
	a, b := n.pair(nil, nil)
	fromHooks, fromOpts := cc.NewGroup(), cc.NewGroup()
	lc := &ListenConfig{Hooks: &listenHooksFor{h: &groupHooks{g: fromHooks}},
		Options: Options{CongestionControl: "olia", CCGroup: fromOpts}}
	if _, err := b.Listen(ap(addrB, 80), lc); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Dial(n.now, ap(addrB, 80), nil); err != nil {
		t.Fatal(err)
	}
	n.Advance(20 * time.Millisecond)
	acceptedConn(t, b)
	if fromOpts.Len() != 1 || fromHooks.Len() != 0 {
		t.Fatalf("options' group has %d members, hooks' %d; want 1 and 0", fromOpts.Len(), fromHooks.Len())
	}
}

// A connection leaves its Group when it closes, so that a subflow that
// sends no more does not count in its MPTCP connection's coupled sums;
// both ends of an orderly close and an abort are covered.
func TestCCGroupLeftOnClose(t *testing.T) {
	for _, abort := range []bool{false, true} {
		n := newTestNet(t, 2*time.Millisecond)
		a, b := n.pair(nil, nil)
		ga, gb := cc.NewGroup(), cc.NewGroup()
		lc := &ListenConfig{Hooks: &listenHooksFor{h: &groupHooks{g: gb}}, Options: Options{CongestionControl: "balia"}}
		if _, err := b.Listen(ap(addrB, 80), lc); err != nil {
			t.Fatal(err)
		}
		c, err := a.Dial(n.now, ap(addrB, 80), &DialConfig{Options: Options{CongestionControl: "lia", CCGroup: ga}})
		if err != nil {
			t.Fatal(err)
		}
		n.Advance(20 * time.Millisecond)
		sc := acceptedConn(t, b)
		if ga.Len() != 1 || gb.Len() != 1 {
			t.Fatalf("abort=%v: groups have %d and %d members while established, want 1 and 1", abort, ga.Len(), gb.Len())
		}
		if abort {
			c.Abort()
		} else {
			c.Close()
			sc.Close()
		}
		n.Advance(time.Second)
		if ga.Len() != 0 || gb.Len() != 0 {
			t.Fatalf("abort=%v: groups have %d and %d members after the close (states %v, %v), want none",
				abort, ga.Len(), gb.Len(), c.State(), sc.State())
		}
	}
}
