package pm

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

type fakeConn struct {
	server    bool
	limits    Limits
	locals    []LocalAddr
	remotes   []RemoteAddr
	subs      []SubflowInfo
	announced []uint8
	withdrawn []uint8
	nextID    int
}

func (c *fakeConn) Server() bool              { return c.server }
func (c *fakeConn) Limits() Limits            { return c.limits }
func (c *fakeConn) LocalAddrs() []LocalAddr   { return c.locals }
func (c *fakeConn) RemoteAddrs() []RemoteAddr { return c.remotes }
func (c *fakeConn) Subflows() []SubflowInfo   { return c.subs }
func (c *fakeConn) Connect(l LocalAddr, r RemoteAddr, backup bool) error {
	if len(c.subs)-1 >= c.limits.Subflows {
		return ErrLimit
	}
	c.nextID++
	c.subs = append(c.subs, SubflowInfo{ID: c.nextID, Local: netip.AddrPortFrom(l.Addr, 40000), Remote: r.AddrPort,
		LocalID: l.ID, RemoteID: r.ID, Backup: backup})
	return nil
}
func (c *fakeConn) CloseSubflow(id int) error {
	for i, s := range c.subs {
		if s.ID == id {
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			return nil
		}
	}
	return ErrNotFound
}
func (c *fakeConn) Announce(a LocalAddr) error          { c.announced = append(c.announced, a.ID); return nil }
func (c *fakeConn) Withdraw(id uint8) error             { c.withdrawn = append(c.withdrawn, id); return nil }
func (c *fakeConn) SetBackup(id int, backup bool) error { return nil }

var (
	l0 = LocalAddr{ID: 0, Addr: netip.MustParseAddr("10.0.1.1")}
	l1 = LocalAddr{ID: 1, Addr: netip.MustParseAddr("10.0.2.1")}
	r0 = RemoteAddr{ID: 0, AddrPort: netip.MustParseAddrPort("10.0.9.1:80")}
	r1 = RemoteAddr{ID: 1, AddrPort: netip.MustParseAddrPort("10.0.8.1:80")}
	r6 = RemoteAddr{ID: 2, AddrPort: netip.MustParseAddrPort("[2001:db8::1]:80")}
)

func TestFullmeshClient(t *testing.T) {
	f, err := New("")
	if err != nil || f.Name() != "fullmesh" {
		t.Fatalf("New = %v, %v", f, err)
	}
	c := &fakeConn{limits: DefaultLimits, locals: []LocalAddr{l0, l1}, remotes: []RemoteAddr{r0},
		subs: []SubflowInfo{{ID: 0, Local: netip.AddrPortFrom(l0.Addr, 1), Remote: r0.AddrPort, Initial: true}}}
	now := time.Unix(0, 0)
	f.Event(now, c, Event{Kind: Established})
	if len(c.subs) != 2 {
		t.Fatalf("after establishment: %d subflows, want 2 (l0-r0, l1-r0)", len(c.subs))
	}
	c.remotes = append(c.remotes, r1, r6)
	f.Event(now, c, Event{Kind: Announced, Remote: r1})
	if len(c.subs) != 4 {
		t.Fatalf("after ADD_ADDR: %d subflows, want 4 (IPv6 remote skipped)", len(c.subs))
	}
	if len(c.announced) != 0 {
		t.Fatalf("client announced %v", c.announced)
	}

	// A subflow fails: it comes back only after the backoff.
	failed := c.subs[1]
	_ = c.CloseSubflow(failed.ID)
	f.Event(now, c, Event{Kind: SubClosed, Subflow: failed, Err: errors.New("timeout")})
	if len(c.subs) != 3 {
		t.Fatalf("re-created at once: %d subflows", len(c.subs))
	}
	next := f.Poll(now, c)
	if next.Sub(now) != retryInitial {
		t.Fatalf("next poll in %v, want %v", next.Sub(now), retryInitial)
	}
	f.Poll(next, c)
	if len(c.subs) != 4 {
		t.Fatalf("not re-created after the backoff: %d subflows", len(c.subs))
	}
	// A second failure doubles the wait.
	failed = c.subs[3]
	_ = c.CloseSubflow(failed.ID)
	f.Event(next, c, Event{Kind: SubClosed, Subflow: failed, Err: errors.New("reset")})
	if d := f.Poll(next, c).Sub(next); d != 2*retryInitial {
		t.Fatalf("second backoff %v, want %v", d, 2*retryInitial)
	}
}

func TestFullmeshServerAnnouncesAndLimits(t *testing.T) {
	f, _ := New("fullmesh")
	c := &fakeConn{server: true, limits: Limits{Subflows: 1}, locals: []LocalAddr{l0, l1, {ID: 2, Addr: netip.MustParseAddr("10.0.3.1"), Port: 8080}},
		remotes: []RemoteAddr{r0}}
	now := time.Unix(0, 0)
	f.Event(now, c, Event{Kind: Established})
	if len(c.announced) != 2 || c.announced[0] != 1 || c.announced[1] != 2 {
		t.Fatalf("announced %v, want [1 2]", c.announced)
	}
	if len(c.subs) != 0 {
		t.Fatalf("server opened subflows: %v", c.subs)
	}
	f.Event(now, c, Event{Kind: LocalRemoved, Local: l1})
	if len(c.withdrawn) != 1 || c.withdrawn[0] != 1 {
		t.Fatalf("withdrawn %v", c.withdrawn)
	}
	// Explicit subflow endpoints on a client stop at the limit.
	cl := &fakeConn{limits: Limits{Subflows: 1}, locals: []LocalAddr{l0, l1}, remotes: []RemoteAddr{r0, r1}}
	g, _ := New("fullmesh")
	g.Event(now, cl, Event{Kind: Established})
	if len(cl.subs) != 2 {
		t.Fatalf("%d subflows opened with a limit of 1 extra (+1 initial counted as missing here)", len(cl.subs))
	}
}

func TestUnknownPM(t *testing.T) {
	if _, err := New("nope"); !errors.Is(err, ErrUnknown) {
		t.Fatal(err)
	}
}
