package pm_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/pm"
)

// conn is a connection as a path manager sees it, recording commands.
type conn struct {
	server    bool
	limits    pm.Limits
	locals    []pm.LocalAddr
	remotes   []pm.RemoteAddr
	subs      []pm.SubflowInfo
	announced []pm.LocalAddr
	withdrawn []uint8
	prio      map[int]bool
	nextID    int
	nextPort  uint16
	token     uint32
}

func newConn(locals []pm.LocalAddr, remotes []pm.RemoteAddr) *conn {
	c := &conn{limits: pm.Limits{Subflows: 8, AddAddrAccepted: 8}, locals: locals, remotes: remotes, nextPort: 40000, prio: map[int]bool{}}
	c.subs = []pm.SubflowInfo{{ID: 0, Local: netip.AddrPortFrom(locals[0].Addr, 39999), Remote: remotes[0].AddrPort, Initial: true, Established: true}}
	return c
}

func (c *conn) Server() bool                 { return c.server }
func (c *conn) Limits() pm.Limits            { return c.limits }
func (c *conn) LocalAddrs() []pm.LocalAddr   { return c.locals }
func (c *conn) RemoteAddrs() []pm.RemoteAddr { return c.remotes }
func (c *conn) Subflows() []pm.SubflowInfo   { return c.subs }
func (c *conn) Connect(l pm.LocalAddr, r pm.RemoteAddr, backup bool) error {
	for _, s := range c.subs {
		if s.Local.Addr() == l.Addr && s.Remote == r.AddrPort {
			return pm.ErrExists
		}
	}
	return c.open(l, r, backup)
}
func (c *conn) open(l pm.LocalAddr, r pm.RemoteAddr, backup bool) error {
	if len(c.subs)-1 >= c.limits.Subflows {
		return pm.ErrLimit
	}
	c.nextID++
	c.nextPort++
	c.subs = append(c.subs, pm.SubflowInfo{ID: c.nextID, Local: netip.AddrPortFrom(l.Addr, c.nextPort), Remote: r.AddrPort,
		LocalID: l.ID, RemoteID: r.ID, Backup: backup})
	return nil
}
func (c *conn) CloseSubflow(id int) error {
	for i, s := range c.subs {
		if s.ID == id {
			c.subs = slices.Delete(c.subs, i, i+1)
			return nil
		}
	}
	return pm.ErrNotFound
}
func (c *conn) Announce(a pm.LocalAddr) error { c.announced = append(c.announced, a); return nil }
func (c *conn) Withdraw(id uint8) error       { c.withdrawn = append(c.withdrawn, id); return nil }
func (c *conn) SetBackup(id int, b bool) error {
	for i, s := range c.subs {
		if s.ID == id {
			c.subs[i].Backup = b
			c.prio[id] = b
			return nil
		}
	}
	return pm.ErrNotFound
}

// another is a conn that implements pm.AnotherConnector and pm.Tokener.
type another struct{ *conn }

func (c another) ConnectAnother(l pm.LocalAddr, r pm.RemoteAddr, backup bool) error {
	return c.open(l, r, backup)
}
func (c another) Token() uint32 { return c.token }

var (
	t0  = time.Unix(1000, 0)
	la0 = pm.LocalAddr{ID: 0, Addr: netip.MustParseAddr("10.0.1.2")}
	la1 = pm.LocalAddr{ID: 1, Addr: netip.MustParseAddr("10.0.2.2")}
	la2 = pm.LocalAddr{ID: 2, Addr: netip.MustParseAddr("10.0.3.2")}
	la3 = pm.LocalAddr{ID: 3, Addr: netip.MustParseAddr("10.0.4.2")}
	ra0 = pm.RemoteAddr{ID: 0, AddrPort: netip.MustParseAddrPort("10.9.0.2:80")}
	ra1 = pm.RemoteAddr{ID: 1, AddrPort: netip.MustParseAddrPort("10.9.1.2:80")}
	ra2 = pm.RemoteAddr{ID: 2, AddrPort: netip.MustParseAddrPort("10.9.2.2:80")}
	ra6 = pm.RemoteAddr{ID: 3, AddrPort: netip.MustParseAddrPort("[2001:db8::2]:80")}
)

func mustPM(t *testing.T, name string) pm.PathManager {
	t.Helper()
	p, err := pm.New(name)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return p
}

func TestParams(t *testing.T) {
	for _, n := range []string{"fullmesh", "ndiffports", "kernel", "userspace"} {
		if !slices.Contains(pm.Names(), n) {
			t.Errorf("%q missing from Names() %v", n, pm.Names())
		}
	}
	for _, good := range []string{"ndiffports", "ndiffports:4", "ndiffports:subflows=8", "kernel", "kernel:subflows=4,add_addr_accepted=2", "userspace"} {
		mustPM(t, good)
	}
	for bad, want := range map[string]error{
		"ndiffports:0":              pm.ErrParam,
		"ndiffports:x":              pm.ErrParam,
		"ndiffports:subflows=2,x=1": pm.ErrParam,
		"ndiffports:4,subflows=4":   pm.ErrParam,
		"ndiffports:":               pm.ErrParam,
		"kernel:subflows=9":         pm.ErrParam,
		"kernel:3":                  pm.ErrParam,
		"fullmesh:3":                pm.ErrParam,
		"userspace:x=1":             pm.ErrParam,
		"nope":                      pm.ErrUnknown,
		"nope:3":                    pm.ErrUnknown,
	} {
		_, err := pm.New(bad)
		if !errors.Is(err, want) {
			t.Errorf("New(%q) = %v, want %v", bad, err, want)
		}
	}
	_, err := pm.New("kernel:subflow=4")
	if err == nil || !strings.Contains(err.Error(), "valid: subflows, add_addr_accepted") {
		t.Errorf("misspelt key: %v, want the valid keys listed", err)
	}
}

func TestNDiffPorts(t *testing.T) {
	p := mustPM(t, "ndiffports:4")
	c := newConn([]pm.LocalAddr{la0, la1}, []pm.RemoteAddr{ra0, ra1})
	a := another{c}
	p.Event(t0, a, pm.Event{Kind: pm.Established})
	if len(c.subs) != 4 {
		t.Fatalf("%d subflows, want 4", len(c.subs))
	}
	for _, s := range c.subs {
		if s.Local.Addr() != la0.Addr || s.Remote != ra0.AddrPort {
			t.Errorf("subflow %d %v -> %v: want the initial pair", s.ID, s.Local, s.Remote)
		}
	}
	if len(c.announced) != 0 {
		t.Errorf("announced %v", c.announced)
	}
	// A failed subflow is replaced after the backoff, not before.
	gone := c.subs[2]
	_ = c.CloseSubflow(gone.ID)
	p.Event(t0, a, pm.Event{Kind: pm.SubClosed, Subflow: gone, Err: errors.New("reset")})
	if len(c.subs) != 3 {
		t.Fatalf("replaced at once: %d subflows", len(c.subs))
	}
	next := p.Poll(t0, a)
	if next.IsZero() || !next.After(t0) {
		t.Fatalf("Poll = %v, want the retry time", next)
	}
	p.Poll(next, a)
	if len(c.subs) != 4 {
		t.Fatalf("after the backoff: %d subflows, want 4", len(c.subs))
	}

	// The server side opens nothing.
	srv := newConn([]pm.LocalAddr{la0}, []pm.RemoteAddr{ra0})
	srv.server = true
	ps := mustPM(t, "ndiffports:4")
	ps.Event(t0, another{srv}, pm.Event{Kind: pm.Established})
	if len(srv.subs) != 1 {
		t.Fatalf("server opened subflows: %v", srv.subs)
	}

	// Limits bound it.
	lc := newConn([]pm.LocalAddr{la0}, []pm.RemoteAddr{ra0})
	lc.limits.Subflows = 1
	mustPM(t, "ndiffports:4").Event(t0, another{lc}, pm.Event{Kind: pm.Established})
	if len(lc.subs) != 2 {
		t.Fatalf("limit 1: %d subflows, want 2", len(lc.subs))
	}

	// Without ConnectAnother the layer refuses the second subflow, and
	// the path manager says why.
	plain := newConn([]pm.LocalAddr{la0}, []pm.RemoteAddr{ra0})
	pp := mustPM(t, "ndiffports")
	pp.Event(t0, plain, pm.Event{Kind: pm.Established})
	if len(plain.subs) != 1 {
		t.Fatalf("plain Connect: %d subflows", len(plain.subs))
	}
	if e, ok := pp.(interface{ Err() error }); !ok || !errors.Is(e.Err(), pm.ErrExists) {
		t.Fatalf("Err() does not explain the refusal")
	}
}

// kernelWith returns a kernel path manager with endpoints, limits and a
// recorder of its declines.
func kernelWith(t *testing.T, eps []pm.LocalAddr, lim *pm.Limits) (*pm.Kernel, *[]pm.Decline) {
	t.Helper()
	var got []pm.Decline
	k, err := pm.NewKernel(pm.KernelConfig{Endpoints: eps, Limits: lim, OnDecline: func(d pm.Decline) { got = append(got, d) }})
	if err != nil {
		t.Fatal(err)
	}
	return k, &got
}

func subflowsFrom(c *conn) []string {
	var out []string
	for _, s := range c.subs[1:] {
		b := ""
		if s.Backup {
			b = " backup"
		}
		out = append(out, s.Local.Addr().String()+">"+s.Remote.String()+b)
	}
	return out
}

func TestKernelDefaultsAndLimits(t *testing.T) {
	if pm.KernelDefaultLimits != (pm.Limits{Subflows: 2, AddAddrAccepted: 0}) {
		t.Fatalf("defaults %+v, want the kernel's subflows 2 add_addr_accepted 0", pm.KernelDefaultLimits)
	}
	sub := func(l pm.LocalAddr) pm.LocalAddr { l.Subflow = true; return l }
	k, declines := kernelWith(t, []pm.LocalAddr{sub(la1), sub(la2), sub(la3)}, nil)
	c := newConn([]pm.LocalAddr{la0, la1, la2, la3}, []pm.RemoteAddr{ra0})
	p := k.New()
	p.Event(t0, c, pm.Event{Kind: pm.Established})
	want := []string{"10.0.2.2>10.9.0.2:80", "10.0.3.2>10.9.0.2:80"}
	if got := subflowsFrom(c); !slices.Equal(got, want) {
		t.Fatalf("subflows %v, want %v", got, want)
	}
	if len(*declines) != 1 || (*declines)[0].Reason != pm.ReasonSubflowsLimit || !errors.Is((*declines)[0], pm.ErrLimit) {
		t.Fatalf("declines %v, want one subflows_limit", *declines)
	}
	if s := (*declines)[0].String(); !strings.Contains(s, "10.0.4.2") || !strings.Contains(s, "subflows limit 2") {
		t.Errorf("decline message %q does not name the endpoint and the limit", s)
	}
	// Events again do not declare the same decline again.
	p.Event(t0, c, pm.Event{Kind: pm.SubEstablished, Subflow: c.subs[1]})
	if len(*declines) != 1 {
		t.Fatalf("declines repeated: %v", *declines)
	}

	// An announced address is not used with add_addr_accepted 0.
	c.remotes = append(c.remotes, ra1)
	p.Event(t0, c, pm.Event{Kind: pm.Announced, Remote: ra1})
	if len(c.subs) != 3 {
		t.Fatalf("ADD_ADDR used: %v", subflowsFrom(c))
	}
	last := (*declines)[len(*declines)-1]
	if last.Kind != pm.DeclineAddAddr || last.Reason != pm.ReasonAddAddrAcceptedLimit || last.Remote != ra1.AddrPort {
		t.Fatalf("decline %v, want add_addr_accepted_limit for %v", last, ra1.AddrPort)
	}
	if got := k.Counters(); got["subflow/subflows_limit"] != 1 || got["add_addr/add_addr_accepted_limit"] != 1 {
		t.Fatalf("counters %v", got)
	}

	// Incoming joins count against the same limit.
	adm, ok := p.(pm.JoinAdmitter)
	if !ok {
		t.Fatal("kernel path manager is not a JoinAdmitter")
	}
	err := adm.AdmitJoin(t0, c, netip.MustParseAddrPort("10.0.1.2:80"), netip.MustParseAddrPort("10.9.0.2:5555"), false)
	if !errors.Is(err, pm.ErrLimit) {
		t.Fatalf("AdmitJoin at the limit = %v, want ErrLimit", err)
	}
	_ = c.CloseSubflow(c.subs[2].ID)
	if err := adm.AdmitJoin(t0, c, netip.MustParseAddrPort("10.0.1.2:80"), netip.MustParseAddrPort("10.9.0.2:5556"), false); err != nil {
		t.Fatalf("AdmitJoin below the limit = %v", err)
	}
	if got := k.Counters()["join/subflows_limit"]; got != 1 {
		t.Fatalf("join declines counted %d, want 1", got)
	}
}

func TestKernelAddAddr(t *testing.T) {
	lim := pm.Limits{Subflows: 4, AddAddrAccepted: 1}
	k, declines := kernelWith(t, []pm.LocalAddr{}, &lim)
	c := newConn([]pm.LocalAddr{la0, la1}, []pm.RemoteAddr{ra0})
	p := k.New()
	p.Event(t0, c, pm.Event{Kind: pm.Established})
	if len(c.subs) != 1 {
		t.Fatalf("no endpoints, yet subflows %v", subflowsFrom(c))
	}
	c.remotes = append(c.remotes, ra1, ra2, ra6)
	p.Event(t0, c, pm.Event{Kind: pm.Announced, Remote: ra1})
	p.Event(t0, c, pm.Event{Kind: pm.Announced, Remote: ra2})
	// One address accepted, from the initial subflow's address (the
	// kernel lets routing choose); the second is over the limit.
	if got, want := subflowsFrom(c), []string{"10.0.1.2>10.9.1.2:80"}; !slices.Equal(got, want) {
		t.Fatalf("subflows %v, want %v", got, want)
	}
	if d := (*declines)[len(*declines)-1]; d.Reason != pm.ReasonAddAddrAcceptedLimit || d.Limit != 1 {
		t.Fatalf("decline %v", d)
	}
	// The peer withdraws the first: the next announcement is accepted.
	c.remotes = slices.DeleteFunc(c.remotes, func(r pm.RemoteAddr) bool { return r.ID == 1 })
	_ = c.CloseSubflow(c.subs[1].ID)
	p.Event(t0, c, pm.Event{Kind: pm.Removed, RemoteID: 1})
	p.Event(t0, c, pm.Event{Kind: pm.Announced, Remote: ra2})
	if got, want := subflowsFrom(c), []string{"10.0.1.2>10.9.2.2:80"}; !slices.Equal(got, want) {
		t.Fatalf("after REMOVE_ADDR: %v, want %v", got, want)
	}
}

func TestKernelFlags(t *testing.T) {
	lim := pm.Limits{Subflows: 8, AddAddrAccepted: 8}
	// fullmesh endpoint: a subflow to every known peer address, and the
	// source for announced ones; backup endpoint: backup subflows.
	fm := la1
	fm.Subflow, fm.Fullmesh = true, true
	bk := la2
	bk.Subflow, bk.Backup = true, true
	k, _ := kernelWith(t, []pm.LocalAddr{fm, bk}, &lim)
	c := newConn([]pm.LocalAddr{la0, la1, la2}, []pm.RemoteAddr{ra0, ra1})
	p := k.New()
	p.Event(t0, c, pm.Event{Kind: pm.Established})
	want := []string{"10.0.2.2>10.9.0.2:80", "10.0.2.2>10.9.1.2:80", "10.0.3.2>10.9.0.2:80 backup"}
	if got := subflowsFrom(c); !slices.Equal(got, want) {
		t.Fatalf("subflows %v, want %v", got, want)
	}
	c.remotes = append(c.remotes, ra2)
	p.Event(t0, c, pm.Event{Kind: pm.Announced, Remote: ra2})
	if got := subflowsFrom(c); got[len(got)-1] != "10.0.2.2>10.9.2.2:80" {
		t.Fatalf("announced address reached from %v, want the fullmesh endpoint", got)
	}

	// Signal endpoints are announced, on a server as on a client.
	sig := la1
	sig.Signal = true
	ks, _ := kernelWith(t, []pm.LocalAddr{sig}, nil)
	srv := newConn([]pm.LocalAddr{la0, la1}, []pm.RemoteAddr{ra0})
	srv.server = true
	ks.New().Event(t0, srv, pm.Event{Kind: pm.Established})
	if len(srv.announced) != 1 || srv.announced[0].Addr != la1.Addr || srv.announced[0].ID != 1 {
		t.Fatalf("announced %v, want %v", srv.announced, la1)
	}
	if len(srv.subs) != 1 {
		t.Fatalf("a signal-only endpoint opened subflows")
	}

	// A backup endpoint on the initial subflow's address makes it backup.
	b0 := la0
	b0.Backup = true
	kb, _ := kernelWith(t, []pm.LocalAddr{b0}, nil)
	cb := newConn([]pm.LocalAddr{la0}, []pm.RemoteAddr{ra0})
	kb.New().Event(t0, cb, pm.Event{Kind: pm.Established})
	if !cb.prio[0] {
		t.Fatal("initial subflow not made backup")
	}

	// Invalid configurations are refused as the kernel refuses them.
	for _, bad := range [][]pm.LocalAddr{
		{{Addr: la1.Addr, Signal: true, Fullmesh: true}},
		{{Addr: la1.Addr, Port: 8080, Subflow: true}},
		{{Addr: la1.Addr, ID: 3}, {Addr: la2.Addr, ID: 3}},
		{{Addr: la1.Addr}, {Addr: la1.Addr}},
		{{}},
	} {
		if _, err := pm.NewKernel(pm.KernelConfig{Endpoints: bad}); !errors.Is(err, pm.ErrParam) {
			t.Errorf("NewKernel(%v) = %v, want ErrParam", bad, err)
		}
	}
}

func TestKernelLaminarAndCFlag(t *testing.T) {
	lim := pm.Limits{Subflows: 8, AddAddrAccepted: 8}
	l1, l2 := la1, la2
	l1.Laminar, l2.Laminar = true, true
	k, declines := kernelWith(t, []pm.LocalAddr{l1, l2}, &lim)
	c := newConn([]pm.LocalAddr{la0, la1, la2}, []pm.RemoteAddr{ra0})
	p := k.New()
	p.Event(t0, c, pm.Event{Kind: pm.Established})
	ra3 := pm.RemoteAddr{ID: 4, AddrPort: netip.MustParseAddrPort("10.9.3.2:80")}
	for _, r := range []pm.RemoteAddr{ra1, ra2, ra3} {
		c.remotes = append(c.remotes, r)
		p.Event(t0, c, pm.Event{Kind: pm.Announced, Remote: r})
	}
	want := []string{"10.0.2.2>10.9.1.2:80", "10.0.3.2>10.9.2.2:80"}
	if got := subflowsFrom(c); !slices.Equal(got, want) {
		t.Fatalf("laminar subflows %v, want %v (one per endpoint)", got, want)
	}
	if d := (*declines)[len(*declines)-1]; d.Reason != pm.ReasonNoLaminar || d.Remote != ra3.AddrPort {
		t.Fatalf("third address: %v, want no_free_laminar_endpoint", d)
	}

	// C flag: the peer refuses joins to its initial address. A subflow
	// endpoint waits for the address it announces, which is accepted
	// even with add_addr_accepted 0.
	s1 := la1
	s1.Subflow = true
	kc, _ := kernelWith(t, []pm.LocalAddr{s1}, nil)
	cc := newConn([]pm.LocalAddr{la0, la1}, []pm.RemoteAddr{ra0})
	cc.remotes = nil // ID 0 hidden: MP_CAPABLE C flag
	pc := kc.New()
	pc.Event(t0, cc, pm.Event{Kind: pm.Established})
	if len(cc.subs) != 1 {
		t.Fatalf("C flag: subflow opened towards the initial address: %v", subflowsFrom(cc))
	}
	cc.remotes = []pm.RemoteAddr{ra1}
	pc.Event(t0, cc, pm.Event{Kind: pm.Announced, Remote: ra1})
	if got, want := subflowsFrom(cc), []string{"10.0.2.2>10.9.1.2:80"}; !slices.Equal(got, want) {
		t.Fatalf("C flag: %v, want %v", got, want)
	}
	cc.remotes = append(cc.remotes, ra2)
	pc.Event(t0, cc, pm.Event{Kind: pm.Announced, Remote: ra2})
	if len(cc.subs) != 2 {
		t.Fatalf("C flag: a second address was accepted: %v", subflowsFrom(cc))
	}
}

func TestKernelFromStackAddresses(t *testing.T) {
	// With no endpoint list, the host's addresses and their flags are
	// the endpoints (kernel by name).
	var set pm.Set
	p, err := set.New("kernel:subflows=1")
	if err != nil {
		t.Fatal(err)
	}
	s1 := la1
	s1.Subflow = true
	c := newConn([]pm.LocalAddr{la0, s1, la2}, []pm.RemoteAddr{ra0})
	p.Event(t0, c, pm.Event{Kind: pm.Established})
	if got, want := subflowsFrom(c), []string{"10.0.2.2>10.9.0.2:80"}; !slices.Equal(got, want) {
		t.Fatalf("subflows %v, want %v", got, want)
	}
	k := set.Kernel("kernel:subflows=1")
	if k == nil || k.Limits().Subflows != 1 {
		t.Fatalf("Set.Kernel = %v", k)
	}
	var other pm.Set
	if _, err := other.New("kernel:subflows=1"); err != nil {
		t.Fatal(err)
	}
	if k2 := other.Kernel("kernel:subflows=1"); k2 == nil || k2 == k {
		t.Fatalf("two sets share a Kernel (%p, %p)", k, k2)
	}
	// An endpoint that is no address of the host is declined with why.
	kk, declines := kernelWith(t, []pm.LocalAddr{{Addr: netip.MustParseAddr("192.0.2.1"), Subflow: true}}, nil)
	kk.New().Event(t0, c, pm.Event{Kind: pm.Established})
	if len(*declines) != 1 || (*declines)[0].Reason != pm.ReasonNotLocal {
		t.Fatalf("declines %v, want not_a_local_address", *declines)
	}
}

func TestUserspace(t *testing.T) {
	var events []string
	var u *pm.Userspace
	var failures []error
	wakes := 0
	u = pm.NewUserspace(pm.UserspaceConfig{
		OnEvent: func(e pm.UserEvent) {
			events = append(events, e.Kind.String())
			// Like mptcpd: answer an announcement with a subflow.
			if e.Kind == pm.UserAnnounced {
				if err := u.SubflowCreate(e.Token, pm.LocalAddr{Addr: la1.Addr}, e.Remote); err != nil {
					t.Errorf("SubflowCreate: %v", err)
				}
			}
		},
		OnError: func(_ pm.Command, err error) { failures = append(failures, err) },
		Wake:    func() { wakes++ },
	})
	c := newConn([]pm.LocalAddr{la0, la1}, []pm.RemoteAddr{ra0})
	c.token = 0xabcd
	a := another{c}
	p := u.New()
	p.Event(t0, a, pm.Event{Kind: pm.Established})
	if len(c.subs) != 1 || len(c.announced) != 0 {
		t.Fatal("userspace path manager acted on its own")
	}
	if !slices.Equal(u.Tokens(), []uint32{0xabcd}) {
		t.Fatalf("tokens %v", u.Tokens())
	}
	c.remotes = append(c.remotes, ra1)
	p.Event(t0, a, pm.Event{Kind: pm.Announced, Remote: ra1})
	if got, want := subflowsFrom(c), []string{"10.0.2.2>10.9.1.2:80"}; !slices.Equal(got, want) {
		t.Fatalf("command from the event handler: %v, want %v", got, want)
	}
	if wakes != 0 {
		t.Fatalf("woke the driver %d times for a command run in place", wakes)
	}
	p.Event(t0, a, pm.Event{Kind: pm.SubEstablished, Subflow: c.subs[1]})

	// Commands from outside an event wait for the next poll.
	if err := u.Announce(0xabcd, la1); err != nil {
		t.Fatal(err)
	}
	if err := u.SetBackup(0xabcd, c.subs[1].Local, c.subs[1].Remote, true); err != nil {
		t.Fatal(err)
	}
	if err := u.SubflowDestroy(0xabcd, netip.AddrPortFrom(la0.Addr, 1), ra0.AddrPort); err != nil {
		t.Fatal(err) // queued: fails when it runs
	}
	if wakes != 3 || len(c.announced) != 0 {
		t.Fatalf("wakes %d announced %v before the poll", wakes, c.announced)
	}
	p.Poll(t0, a)
	if len(c.announced) != 1 || !c.prio[c.subs[1].ID] {
		t.Fatalf("after poll: announced %v, backup %v", c.announced, c.prio)
	}
	if len(failures) != 1 || !errors.Is(failures[0], pm.ErrNotFound) {
		t.Fatalf("failures %v, want one ErrNotFound", failures)
	}
	if err := u.Remove(0x1234, 1); !errors.Is(err, pm.ErrUnknownToken) {
		t.Fatalf("unknown token: %v", err)
	}
	if err := u.SubflowDestroy(0xabcd, c.subs[1].Local, c.subs[1].Remote); err != nil {
		t.Fatal(err)
	}
	p.Poll(t0, a)
	if len(c.subs) != 1 {
		t.Fatalf("SUBFLOW_DESTROY left %v", subflowsFrom(c))
	}
	p.Event(t0, a, pm.Event{Kind: pm.Closed})
	want := []string{"CREATED", "ESTABLISHED", "ANNOUNCED", "SUB_ESTABLISHED", "CLOSED"}
	if !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	if len(u.Tokens()) != 0 {
		t.Fatalf("closed connection still listed: %v", u.Tokens())
	}
	u.ListenerCreated(t0, netip.MustParseAddrPort("0.0.0.0:80"))
	if events[len(events)-1] != "LISTENER_CREATED" {
		t.Fatalf("listener event: %v", events)
	}
}

func TestKernelLocalRemoved(t *testing.T) {
	sig := la1
	sig.Signal = true
	k, _ := kernelWith(t, []pm.LocalAddr{sig}, nil)
	c := newConn([]pm.LocalAddr{la0, la1}, []pm.RemoteAddr{ra0})
	c.server = true
	p := k.New()
	p.Event(t0, c, pm.Event{Kind: pm.Established})
	if len(c.announced) != 1 {
		t.Fatalf("announced %v", c.announced)
	}
	c.locals = c.locals[:1]
	p.Event(t0, c, pm.Event{Kind: pm.LocalRemoved, Local: la1}) // no flags on the event: the endpoint list has them
	if !slices.Equal(c.withdrawn, []uint8{1}) {
		t.Fatalf("withdrawn %v, want [1]", c.withdrawn)
	}
}
