package core

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/sched"
)

func dialOne(t *testing.T, s *Stack, opts ConnOptions) *Conn {
	t.Helper()
	c, err := s.Dial(time.Unix(0, 0), netip.Addr{}, netip.MustParseAddrPort("10.9.0.2:80"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newPolicyStack(t *testing.T, seed uint64, cfg Config) *Stack {
	t.Helper()
	cfg.Rand = rand.New(rand.NewPCG(seed, 1))
	s, err := NewStack(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.AddAddress(netip.MustParseAddr("10.0.1.2"))
	return s
}

// TestPathManagerPerStack: two stacks in one process that choose the same
// parameterised path manager get one each, shared by their own
// connections only (a simulated client and server must not merge their
// counters).
func TestPathManagerPerStack(t *testing.T) {
	const name = "kernel:subflows=4"
	a := newPolicyStack(t, 1, Config{PathManager: name})
	b := newPolicyStack(t, 2, Config{PathManager: name})
	dialOne(t, a, ConnOptions{})
	dialOne(t, a, ConnOptions{})
	dialOne(t, b, ConnOptions{})
	ka, kb := a.pms.Kernel(name), b.pms.Kernel(name)
	if ka == nil || kb == nil || ka == kb {
		t.Fatalf("stacks' kernel path managers: %p and %p, want two", ka, kb)
	}
	if ka.Limits().Subflows != 4 {
		t.Fatalf("limits %+v", ka.Limits())
	}
}

// TestPolicyFactories: policies passed as values, per stack and per
// connection, take the place of names.
func TestPolicyFactories(t *testing.T) {
	made := map[string]int{}
	schedF := func(name string) sched.Factory {
		return func() sched.Scheduler {
			made[name]++
			s, _ := sched.New("roundrobin")
			return s
		}
	}
	pmF := func() pm.PathManager {
		made["pm"]++
		p, _ := pm.New("fullmesh")
		return p
	}
	s := newPolicyStack(t, 3, Config{NewScheduler: schedF("stack"), NewPathManager: pmF})
	if c := dialOne(t, s, ConnOptions{}); c.sched.Name() != "roundrobin" {
		t.Fatalf("scheduler %s", c.sched.Name())
	}
	dialOne(t, s, ConnOptions{NewScheduler: schedF("conn")})
	if c := dialOne(t, s, ConnOptions{Scheduler: "redundant"}); c.sched.Name() != "redundant" {
		t.Fatalf("a connection's name must beat the stack's factory: %s", c.sched.Name())
	}
	if made["stack"] != 1 || made["conn"] != 1 || made["pm"] != 3 {
		t.Fatalf("factories called %v", made)
	}
}
