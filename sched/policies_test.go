package sched_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/sched"
)

const ms = time.Millisecond

// sub is a subflow as a test sets it up.
type sub struct {
	id                  int
	backup, stale, down bool
	srtt, rttvar        time.Duration
	cwnd, inflight, mss int
	queued              int
	rate                float64
}

// snap is the subflow as the MPTCP layer would hand it over.
func (s *sub) snap() sched.Subflow {
	return sched.Subflow{
		ID: s.id, Backup: s.backup, Usable: !s.down, Stale: s.stale,
		SRTT: s.srtt, RTTVar: s.rttvar, Window: s.cwnd, InFlight: s.inflight,
		Queued: s.queued, MSS: s.mss, Room: max(0, s.cwnd-s.inflight-s.queued), Rate: s.rate,
	}
}

// newSub is a usable subflow with a 10-segment window, full if full.
func newSub(id int, srtt time.Duration, full bool) *sub {
	s := &sub{id: id, srtt: srtt, rttvar: srtt / 8, cwnd: 14000, mss: 1400}
	if full {
		s.inflight = s.cwnd
	}
	return s
}

// conn is a connection as a test sets it up: its subflows stay editable
// between decisions, and each decision sees a fresh snapshot.
type conn struct {
	subs                     []*sub
	unsent, window, inflight int
	last                     sched.Conn // the snapshot of the last decision
}

func mkConn(subs ...*sub) *conn {
	return &conn{subs: subs, unsent: 1 << 20, window: 1 << 20}
}

// snap takes the snapshot the scheduler sees.
func (c *conn) snap() sched.Conn {
	sfs := make([]sched.Subflow, len(c.subs))
	for i, s := range c.subs {
		sfs[i] = s.snap()
	}
	c.last = sched.Conn{Subflows: sfs, Unsent: c.unsent, SendWindow: c.window, DataInFlight: c.inflight}
	return c.last
}

// ids maps positions chosen in the last snapshot to subflow IDs.
func (c *conn) ids(pos []int) []int {
	out := []int{}
	for _, i := range pos {
		out = append(out, c.last.Subflows[i].ID)
	}
	return out
}

func (c *conn) send(s sched.Scheduler, now time.Time) []int {
	return c.ids(s.Send(now, c.snap(), nil))
}

func (c *conn) reinject(s sched.Scheduler, now time.Time, from int) []int {
	return c.ids(s.Reinject(now, c.snap(), from, nil))
}

func mustNew(t *testing.T, name string) sched.Scheduler {
	t.Helper()
	s, err := sched.New(name)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	if s.Name() != name {
		t.Fatalf("New(%q).Name() = %q", name, s.Name())
	}
	return s
}

func send(s sched.Scheduler, c *conn) []int { return c.send(s, time.Time{}) }

func TestRegistered(t *testing.T) {
	for _, n := range []string{"default", "minrtt", "roundrobin", "redundant", "blest", "ecf"} {
		if !slices.Contains(sched.Names(), n) {
			t.Errorf("%q not registered (have %v)", n, sched.Names())
		}
		mustNew(t, n)
	}
	_, err := sched.New("nope")
	if !errors.Is(err, sched.ErrUnknown) {
		t.Fatalf("New(nope) = %v, want ErrUnknown", err)
	}
}

func TestEligible(t *testing.T) {
	a := newSub(1, 10*ms, false)
	b := newSub(2, 20*ms, true)
	bk := newSub(3, 1*ms, false)
	bk.backup = true
	all := mkConn(a, b, bk)
	eligible := func(skip int) []int { return all.ids(sched.Eligible(all.snap().Subflows, skip, nil)) }
	if got := eligible(-1); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("primaries usable: %v, want [1 2] (full window still counts, backup out)", got)
	}
	a.down, b.down = true, true
	if got := eligible(-1); !slices.Equal(got, []int{3}) {
		t.Errorf("primaries down: %v, want the backup", got)
	}
	a.down, b.down = false, false
	a.stale = true
	if got := eligible(2); len(got) != 0 {
		t.Errorf("skip a working 2, 1 stale: %v, want none (2 still works: no backup)", got)
	}
	b.stale = true
	if got := eligible(2); !slices.Equal(got, []int{3}) {
		t.Errorf("skip a stale 2, 1 stale: %v, want the fresh backup [3]", got)
	}
	b.stale = false
	b.down = true
	if got := eligible(2); !slices.Equal(got, []int{3}) {
		t.Errorf("skip a closed 2, 1 stale: %v, want the fresh backup [3]", got)
	}
	b.down = false
	bk.down = true
	if got := eligible(2); !slices.Equal(got, []int{1}) {
		t.Errorf("only a stale primary left: %v, want it [1]", got)
	}
}

func TestRoundRobin(t *testing.T) {
	s := mustNew(t, "roundrobin")
	a, b, c := newSub(1, 50*ms, false), newSub(2, 10*ms, false), newSub(3, 30*ms, false)
	cn := mkConn(a, b, c)
	var got []int
	for range 6 {
		got = append(got, send(s, cn)...)
	}
	if want := []int{1, 2, 3, 1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("turns = %v, want %v (RTT ignored)", got, want)
	}
	b.inflight = b.cwnd // no room: its turn passes
	got = nil
	for range 4 {
		got = append(got, send(s, cn)...)
	}
	if want := []int{1, 3, 1, 3}; !slices.Equal(got, want) {
		t.Fatalf("with 2 full: %v, want %v", got, want)
	}
	a.inflight, c.inflight = a.cwnd, c.cwnd
	if got := send(s, cn); len(got) != 0 {
		t.Fatalf("all full: %v, want none", got)
	}
	bk := newSub(4, ms, false)
	bk.backup = true
	cn = mkConn(a, b, c, bk)
	if got := send(s, cn); len(got) != 0 {
		t.Fatalf("primaries full: %v, want none (backup waits while a primary is usable)", got)
	}
	a.down, b.down, c.down = true, true, true
	if got := send(s, cn); !slices.Equal(got, []int{4}) {
		t.Fatalf("primaries down: %v, want the backup", got)
	}
}

func TestRedundant(t *testing.T) {
	s := mustNew(t, "redundant")
	a, b, c := newSub(1, 50*ms, false), newSub(2, 10*ms, false), newSub(3, 30*ms, true)
	bk := newSub(4, ms, false)
	bk.backup = true
	cn := mkConn(a, b, c, bk)
	if got := send(s, cn); !slices.Equal(got, []int{2, 1}) {
		t.Fatalf("Send = %v, want [2 1]: every primary with room, fastest first", got)
	}
	if got := cn.reinject(s, time.Time{}, 2); !slices.Equal(got, []int{1}) {
		t.Fatalf("Reinject from 2 = %v, want [1]", got)
	}
	// The fastest is full and the one with room has more than twice its
	// RTT: wait rather than send a copy only the slow path carries.
	b.inflight = b.cwnd
	if got := send(s, cn); len(got) != 0 {
		t.Fatalf("fastest full, other 5x slower: %v, want none", got)
	}
	b.srtt = 30 * ms
	if got := send(s, cn); !slices.Equal(got, []int{1}) {
		t.Fatalf("fastest full, other within 2x: %v, want the other", got)
	}
	// A subflow without room for the lead's whole chunk misses it.
	b.srtt, b.inflight = 10*ms, 0
	a.inflight = a.cwnd - 1000
	if got := send(s, cn); !slices.Equal(got, []int{2}) {
		t.Fatalf("slow subflow with a sliver of room: %v, want only [2]", got)
	}
	a.inflight = 0
	a.down, b.down = true, true
	if got := send(s, cn); len(got) != 0 {
		t.Fatalf("only a full primary left: %v, want none", got)
	}
	c.down = true
	if got := send(s, cn); !slices.Equal(got, []int{4}) {
		t.Fatalf("no primary: %v, want the backup", got)
	}
}

// TestBLEST checks the blocking estimate and its lambda correction.
func TestBLEST(t *testing.T) {
	s := mustNew(t, "blest")
	fast, slow := newSub(1, 10*ms, false), newSub(2, 40*ms, false)
	cn := mkConn(fast, slow)
	if got := send(s, cn); !slices.Equal(got, []int{1}) {
		t.Fatalf("fast has room: %v, want [1]", got)
	}
	fast.inflight = fast.cwnd
	// Over the slow RTT (r = 4 fast rounds) the fast subflow sends about
	// (14000 + 1400*1.5) * 4 = 64400 bytes; times lambda 1.2, 77280.
	// The slow subflow would hold one segment (the paper's in flight
	// plus one MSS), not the whole of its free window.
	cn.inflight = fast.cwnd
	cn.window = 100000 // whole window 114000: 112600 left after the slow segment
	if got := send(s, cn); !slices.Equal(got, []int{2}) {
		t.Fatalf("ample window: %v, want the slow subflow [2]", got)
	}
	cn.window = 60000 // 72600 left: the fast subflow would be blocked
	if got := send(s, cn); len(got) != 0 {
		t.Fatalf("small window: %v, want none (wait for the fast subflow)", got)
	}

	// Lambda: 80000 bytes left after the slow segment; 1.2*64400 = 77280
	// fits, 1.3*64400 = 83720 does not. Blocking in each round raises
	// lambda until BLEST stops using the slow subflow.
	cn.window = 80000 + 1400 - fast.cwnd
	now := time.Time{}.Add(time.Second)
	if got := cn.send(s, now); !slices.Equal(got, []int{2}) {
		t.Fatalf("lambda 1.2: %v, want [2]", got)
	}
	for range 3 {
		blocked := *cn
		blocked.window = 0
		blocked.reinject(s, now, 2) // the layer reports window blocking
		now = now.Add(11 * ms)
		cn.send(s, now)
	}
	if got := cn.send(s, now); len(got) != 0 {
		t.Fatalf("after blocked rounds: %v, want none (lambda raised)", got)
	}
	// Rounds without blocking bring lambda back down.
	for range 20 {
		now = now.Add(11 * ms)
		cn.send(s, now)
	}
	if got := cn.send(s, now); !slices.Equal(got, []int{2}) {
		t.Fatalf("after unblocked rounds: %v, want [2] (lambda lowered)", got)
	}
}

// TestBLESTStaleRTT: a slow subflow that BLEST has kept idle for longer
// than its RTO is used again even though its (stale) RTT says wait, so
// that its RTT is measured anew; while it has data in flight it is not.
func TestBLESTStaleRTT(t *testing.T) {
	s := mustNew(t, "blest")
	fast, slow := newSub(1, 10*ms, false), newSub(2, 40*ms, false)
	cn := mkConn(fast, slow)
	fast.inflight, cn.inflight = fast.cwnd, fast.cwnd
	t0 := time.Time{}.Add(time.Second)
	if got := cn.send(s, t0); !slices.Equal(got, []int{2}) {
		t.Fatalf("ample window: %v, want [2]", got)
	}
	// Its queue filled: the slow subflow's SRTT is now 6 s.
	slow.srtt, slow.rttvar = 6*time.Second, 0
	cn.window = 100000
	at := t0.Add(time.Second)
	if got := cn.send(s, at); len(got) != 0 {
		t.Fatalf("6 s RTT, small window: %v, want none", got)
	}
	at = t0.Add(slow.srtt + 4*slow.rttvar + ms)
	slow.inflight = 1400
	if got := cn.send(s, at); len(got) != 0 {
		t.Fatalf("idle past RTO but with data in flight: %v, want none", got)
	}
	slow.inflight = 0
	if got := cn.send(s, at); !slices.Equal(got, []int{2}) {
		t.Fatalf("idle past its RTO: %v, want [2] (refresh its RTT)", got)
	}
	if got := cn.send(s, at.Add(ms)); len(got) != 0 {
		t.Fatalf("just used: %v, want none", got)
	}
}

// TestECF checks the completion-time comparison and its hysteresis.
func TestECF(t *testing.T) {
	fast, slow := newSub(1, 10*ms, true), newSub(2, 50*ms, false)
	fast.rttvar, slow.rttvar = 0, 0
	// Data in flight on the slow subflow: its RTT is not the handshake's
	// alone (TestECFProbesUnusedSubflow).
	slow.inflight = slow.mss
	cn := mkConn(fast, slow)
	cwnd := fast.cwnd
	s := mustNew(t, "ecf")

	// 3.5 windows to send: (3.5+1)*10 ms = 45 ms on the fast subflow
	// beats 50 ms on the slow one, and the slow one needs 3.5*50 ms:
	// wait.
	cn.unsent = cwnd * 35 / 10
	if got := send(s, cn); len(got) != 0 {
		t.Fatalf("k=3.5 cwnd: %v, want none (wait for the fast subflow)", got)
	}
	// 4.5 windows: 55 ms > 50 ms, so a fresh ECF sends on the slow
	// subflow, but one already waiting needs the slow one 25% better.
	cn.unsent = cwnd * 45 / 10
	if got := send(s, cn); len(got) != 0 {
		t.Fatalf("waiting, k=4.5 cwnd: %v, want none (hysteresis)", got)
	}
	if got := send(mustNew(t, "ecf"), cn); !slices.Equal(got, []int{2}) {
		t.Fatalf("fresh, k=4.5 cwnd: %v, want the slow subflow [2]", got)
	}
	// Far more than the fast subflow can finish soon: use both.
	cn.unsent = cwnd * 20
	if got := send(s, cn); !slices.Equal(got, []int{2}) {
		t.Fatalf("k=20 cwnd: %v, want [2]", got)
	}
	// Having switched, it no longer waits at 4.5 windows.
	cn.unsent = cwnd * 45 / 10
	if got := send(s, cn); !slices.Equal(got, []int{2}) {
		t.Fatalf("after switching, k=4.5 cwnd: %v, want [2]", got)
	}
	// Waiting would win, but the slow subflow, counted as at least one
	// round, is not much slower than two fast rounds: 20 ms < 2*10+2 ms.
	f2, s2 := newSub(1, 10*ms, true), newSub(2, 20*ms, false)
	f2.rttvar, s2.rttvar = 2*ms, 0
	s2.inflight = s2.mss
	tail := mkConn(f2, s2)
	tail.unsent = cwnd / 10
	if got := send(mustNew(t, "ecf"), tail); !slices.Equal(got, []int{2}) {
		t.Fatalf("slow subflow under 2 fast RTTs: %v, want [2]", got)
	}
	s2.srtt = 30 * ms
	if got := send(mustNew(t, "ecf"), tail); len(got) != 0 {
		t.Fatalf("slow subflow over 2 fast RTTs: %v, want none", got)
	}
	fast.inflight = 0
	if got := send(s, cn); !slices.Equal(got, []int{1}) {
		t.Fatalf("fast has room: %v, want [1]", got)
	}
}

// TestECFProbesUnusedSubflow: a slower subflow ECF never gave data, idle,
// gets the chunk once instead of being waited out (its RTT may be its
// handshake's, inflated by a lost SYN/ACK); after that ECF waits as usual.
func TestECFProbesUnusedSubflow(t *testing.T) {
	fast, slow := newSub(1, 10*ms, true), newSub(2, time.Second, false)
	fast.rttvar, slow.rttvar = 0, 0
	cn := mkConn(fast, slow)
	cn.unsent = fast.cwnd
	s := mustNew(t, "ecf")
	if got := send(s, cn); !slices.Equal(got, []int{2}) {
		t.Fatalf("unused idle slow subflow: %v, want [2] (probe it)", got)
	}
	if got := send(s, cn); len(got) != 0 {
		t.Fatalf("probed already: %v, want none (wait for the fast subflow)", got)
	}
	if got := send(mustNew(t, "ecf"), cn); !slices.Equal(got, []int{2}) {
		t.Fatalf("another connection's ECF: %v, want [2]", got)
	}
	slow.inflight = slow.mss
	if got := send(mustNew(t, "ecf"), cn); len(got) != 0 {
		t.Fatalf("unused but with data in flight: %v, want none", got)
	}
}

// TestBackupRule checks that every scheduler keeps backups idle while a
// non-backup subflow is usable, even with a full window, and uses them
// when none is.
func TestBackupRule(t *testing.T) {
	for _, name := range []string{"default", "minrtt", "roundrobin", "redundant", "blest", "ecf"} {
		s := mustNew(t, name)
		p := newSub(1, 50*ms, true)
		bk := newSub(2, 5*ms, false)
		bk.backup = true
		cn := mkConn(p, bk)
		if got := send(s, cn); len(got) != 0 {
			t.Errorf("%s: primary full: %v, want none", name, got)
		}
		p.inflight = 0
		if got := send(s, cn); !slices.Equal(got, []int{1}) {
			t.Errorf("%s: primary with room: %v, want [1]", name, got)
		}
		p.down = true
		if got := send(s, cn); !slices.Equal(got, []int{2}) {
			t.Errorf("%s: primary down: %v, want the backup [2]", name, got)
		}
		p.down, p.stale = false, true
		if got := send(s, cn); !slices.Equal(got, []int{2}) {
			t.Errorf("%s: primary stale: %v, want the backup [2]", name, got)
		}
		// Data sent again from a working primary (opportunistic
		// retransmission) does not go to the backup; from a failed one
		// it does.
		p.stale = false
		if got := cn.reinject(s, time.Time{}, 1); len(got) != 0 {
			t.Errorf("%s: reinject from a working primary: %v, want none", name, got)
		}
		p.stale = true
		if got := cn.reinject(s, time.Time{}, 1); !slices.Equal(got, []int{2}) {
			t.Errorf("%s: reinject from a stale primary: %v, want the backup [2]", name, got)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	for _, name := range []string{"roundrobin", "redundant", "blest", "ecf"} {
		s := mustNew(t, name)
		fast, slow := newSub(1, 10*ms, true), newSub(2, 40*ms, false)
		cn := mkConn(fast, slow)
		snap := cn.snap()
		buf := make([]int, 0, 8)
		s.Send(time.Time{}, snap, buf)
		if n := testing.AllocsPerRun(100, func() { s.Send(time.Time{}, snap, buf[:0]) }); n != 0 {
			t.Errorf("%s: Send allocates %.1f times", name, n)
		}
	}
}
