package pmdaemon

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mptcp-go/mptcp/kpm"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const tok = 0x1d7b2c3a

var (
	ca   = kpm.Link{Index: 2, Name: "ca", Up: true}
	cb   = kpm.Link{Index: 3, Name: "cb", Up: true}
	lo   = kpm.Link{Index: 1, Name: "lo", Up: true, Loopback: true}
	ipA  = netip.MustParseAddr("10.1.1.2")
	ipB  = netip.MustParseAddr("10.1.2.2")
	srvA = netip.MustParseAddrPort("10.1.1.1:7000")
	srvB = netip.MustParseAddrPort("10.1.2.1:7000")
)

func addr(s string, idx int) kpm.Addr {
	return kpm.Addr{Index: idx, Prefix: netip.MustParsePrefix(s)}
}

// hostNet is a client with two interfaces, loopback and an IPv6 link-local
// address.
func hostNet() ([]kpm.Link, []kpm.Addr) {
	return []kpm.Link{lo, ca, cb}, []kpm.Addr{
		addr("127.0.0.1/8", 1), addr("10.1.1.2/24", 2), addr("10.1.2.2/24", 3),
		addr("fe80::1/64", 2),
	}
}

func newTestManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	links, addrs := hostNet()
	m.SetNet(t0, links, addrs)
	return m
}

func connEvent(typ kpm.EventType, local, remote string, server bool) kpm.Event {
	l, r := netip.MustParseAddrPort(local), netip.MustParseAddrPort(remote)
	return kpm.Event{Type: typ, Token: tok, Family: 2, Saddr: l.Addr(), Sport: l.Port(),
		Daddr: r.Addr(), Dport: r.Port(), ServerSide: server}
}

func sfEvent(typ kpm.EventType, local, remote string, locID, remID uint8, ifindex int32) kpm.Event {
	e := connEvent(typ, local, remote, false)
	e.LocalID, e.RemoteID, e.IfIndex = locID, remID, ifindex
	return e
}

// clientConn starts a client connection from 10.1.1.2:40000 to 10.1.1.1:7000.
func clientConn(m *Manager) Output {
	m.Event(t0, connEvent(kpm.EventCreated, "10.1.1.2:40000", "10.1.1.1:7000", false))
	return m.Event(t0, connEvent(kpm.EventEstablished, "10.1.1.2:40000", "10.1.1.1:7000", false))
}

func create(id uint8, local netip.Addr, ifindex int32, remote netip.AddrPort, flags kpm.Flags) Action {
	return Action{Kind: ActCreate, Token: tok, Local: kpm.Endpoint{ID: id, Addr: local, IfIndex: ifindex, Flags: flags}, Remote: remote}
}

// netipCmp compares netip values, whose fields are unexported.
var netipCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

// kinds drops the Why text, which tests check separately where it matters.
func kinds(as []Action) []Action {
	out := make([]Action, len(as))
	for i, a := range as {
		a.Why = ""
		out[i] = a
	}
	return out
}

func notesText(o Output) string {
	var b strings.Builder
	for _, n := range o.Notes {
		b.WriteString(n.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestSetNetDeclinesUnusableAddressesOnce(t *testing.T) {
	m, err := NewManager(Config{})
	if err != nil {
		t.Fatal(err)
	}
	links, addrs := hostNet()
	o := m.SetNet(t0, links, addrs)
	text := notesText(o)
	for _, want := range []string{"127.0.0.1: address not used: loopback address", "fe80::1: address not used: link-local address"} {
		if !strings.Contains(text, want) {
			t.Errorf("notes lack %q:\n%s", want, text)
		}
	}
	// The same state again says nothing new.
	if o := m.SetNet(t0, links, addrs); len(o.Notes) != 0 {
		t.Errorf("repeated notes: %s", notesText(o))
	}
}

func TestFullmeshCreatesSubflowPerPath(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyFullmesh})
	o := clientConn(m)
	want := []Action{create(1, ipB, 3, srvA, 0)}
	if diff := cmp.Diff(want, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("after ESTABLISHED (-want +got):\n%s", diff)
	}
	ann := kpm.Event{Type: kpm.EventAnnounced, Token: tok, RemoteID: 1, Daddr: srvB.Addr()}
	o = m.Event(t0, ann)
	want = []Action{create(0, ipA, 2, srvB, 0), create(1, ipB, 3, srvB, 0)}
	if diff := cmp.Diff(want, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("after ANNOUNCED (-want +got):\n%s", diff)
	}
	// The subflows come up; nothing more is asked for.
	for _, e := range []kpm.Event{
		sfEvent(kpm.EventSubEstablished, "10.1.2.2:40001", "10.1.1.1:7000", 1, 0, 3),
		sfEvent(kpm.EventSubEstablished, "10.1.1.2:40002", "10.1.2.1:7000", 0, 1, 2),
		sfEvent(kpm.EventSubEstablished, "10.1.2.2:40003", "10.1.2.1:7000", 1, 1, 3),
	} {
		if o := m.Event(t0, e); len(o.Actions) != 0 {
			t.Fatalf("after %v: unexpected actions %v", e, o.Actions)
		}
	}
	if o := m.Tick(t0.Add(time.Hour)); len(o.Actions) != 0 {
		t.Fatalf("tick: unexpected actions %v", o.Actions)
	}
}

func TestInterfaceDownRemovesAndUpRecreates(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyFullmesh})
	clientConn(m)
	m.Event(t0, sfEvent(kpm.EventSubEstablished, "10.1.2.2:40001", "10.1.1.1:7000", 1, 0, 3))

	down := cb
	down.Up = false
	o := m.NetChange(t0, kpm.NetChange{Link: &down})
	want := []Action{
		{Kind: ActRemove, Token: tok, ID: 1},
		{Kind: ActDestroy, Token: tok, LocalAddr: netip.MustParseAddrPort("10.1.2.2:40001"), Remote: srvA},
	}
	if diff := cmp.Diff(want, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("link down (-want +got):\n%s", diff)
	}
	if !strings.Contains(notesText(o), "10.1.2.2: address not used: interface cb is down") {
		t.Errorf("link down notes:\n%s", notesText(o))
	}
	// The kernel confirms the close: no retry while the link is down.
	o = m.Event(t0, sfEvent(kpm.EventSubClosed, "10.1.2.2:40001", "10.1.1.1:7000", 1, 0, 3))
	if len(o.Actions) != 0 {
		t.Fatalf("after SF_CLOSED: %v", o.Actions)
	}
	o = m.NetChange(t0, kpm.NetChange{Link: &cb})
	if diff := cmp.Diff([]Action{create(1, ipB, 3, srvA, 0)}, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("link up (-want +got):\n%s", diff)
	}
}

func TestAddressRemovedDestroysSubflow(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyFullmesh})
	clientConn(m)
	m.Event(t0, sfEvent(kpm.EventSubEstablished, "10.1.2.2:40001", "10.1.1.1:7000", 1, 0, 3))
	a := addr("10.1.2.2/24", 3)
	o := m.NetChange(t0, kpm.NetChange{Addr: &a, Deleted: true})
	want := []Action{
		{Kind: ActRemove, Token: tok, ID: 1},
		{Kind: ActDestroy, Token: tok, LocalAddr: netip.MustParseAddrPort("10.1.2.2:40001"), Remote: srvA},
	}
	if diff := cmp.Diff(want, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(o.Actions[1].Why, "10.1.2.2 was removed") {
		t.Errorf("why = %q", o.Actions[1].Why)
	}
	// The address returns: a new subflow, with the same id.
	o = m.NetChange(t0, kpm.NetChange{Addr: &a})
	if diff := cmp.Diff([]Action{create(1, ipB, 3, srvA, 0)}, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("address back (-want +got):\n%s", diff)
	}
}

func TestOnlySubflowIsKept(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyNdiffports, Ndiffports: 1})
	clientConn(m)
	down := ca
	down.Up = false
	o := m.NetChange(t0, kpm.NetChange{Link: &down})
	if len(o.Actions) != 0 {
		t.Fatalf("actions %v", o.Actions)
	}
	if !strings.Contains(notesText(o), "it is the connection's only subflow") {
		t.Errorf("notes:\n%s", notesText(o))
	}
}

func TestNdiffports(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyNdiffports, Ndiffports: 4})
	o := clientConn(m)
	c := create(0, ipA, 2, srvA, 0)
	if diff := cmp.Diff([]Action{c, c, c}, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// An announced address changes nothing: ndiffports keeps to one pair.
	o = m.Event(t0, kpm.Event{Type: kpm.EventAnnounced, Token: tok, RemoteID: 1, Daddr: srvB.Addr()})
	if len(o.Actions) != 0 {
		t.Fatalf("after ANNOUNCED: %v", o.Actions)
	}
	// One join fails: retried after the back-off, not before.
	o = m.Failed(t0, c, errString("connect error: -111"))
	if len(o.Actions) != 0 || !strings.Contains(notesText(o), "retrying in 1s") {
		t.Fatalf("failed: actions %v notes %s", o.Actions, notesText(o))
	}
	if o := m.Tick(t0.Add(500 * time.Millisecond)); len(o.Actions) != 0 {
		t.Fatalf("early tick: %v", o.Actions)
	}
	o = m.Tick(t0.Add(time.Second))
	if diff := cmp.Diff([]Action{c}, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("retry (-want +got):\n%s", diff)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestPendingTimeoutCountsAsFailure(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyNdiffports, Ndiffports: 2})
	clientConn(m)
	o := m.Tick(t0.Add(pendingTimeout))
	if len(o.Actions) != 0 || !strings.Contains(notesText(o), "join not completed in time; retrying in 1s") {
		t.Fatalf("actions %v notes %s", o.Actions, notesText(o))
	}
	o = m.Tick(t0.Add(pendingTimeout + time.Second))
	if len(o.Actions) != 1 {
		t.Fatalf("retry: %v", o.Actions)
	}
}

func TestFailedJoinBacksOffThenGivesUp(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyNdiffports, Ndiffports: 2})
	clientConn(m)
	now := t0
	var last Output
	for i := 0; i < maxAttempts; i++ {
		// Each join is answered by a reset: SF_CLOSED for a subflow
		// never seen established.
		last = m.Event(now, sfEvent(kpm.EventSubClosed, "10.1.1.2:5000", "10.1.1.1:7000", 0, 0, 2))
		now = now.Add(backoffMax)
		o := m.Tick(now)
		if i < maxAttempts-1 && len(o.Actions) != 1 {
			t.Fatalf("attempt %d: actions %v", i, o.Actions)
		}
	}
	if !strings.Contains(notesText(last), "waiting for a change of interface or address") {
		t.Fatalf("notes: %s", notesText(last))
	}
	if o := m.Tick(now.Add(time.Hour)); len(o.Actions) != 0 {
		t.Fatalf("gave up, yet: %v", o.Actions)
	}
	// A change of the interface is a new chance.
	o := m.NetChange(now, kpm.NetChange{Link: &kpm.Link{Index: 2, Name: "ca", Up: false}})
	o = m.NetChange(now, kpm.NetChange{Link: &ca})
	if len(o.Actions) != 1 {
		t.Fatalf("after link flap: %v", o.Actions)
	}
}

func TestMaxSubflows(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyNdiffports, Ndiffports: 5, MaxSubflows: 2})
	o := clientConn(m)
	if len(o.Actions) != 2 {
		t.Fatalf("actions %v", o.Actions)
	}
	if !strings.Contains(notesText(o), "the connection has 2 extra subflows, the most max_subflows allows") {
		t.Errorf("notes:\n%s", notesText(o))
	}
}

func TestDenyAllowAndBackup(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyFullmesh, Interfaces: Interfaces{Deny: []string{"c[b]"}}})
	o := clientConn(m)
	if len(o.Actions) != 0 {
		t.Fatalf("deny: %v", o.Actions)
	}
	m2, _ := NewManager(Config{Policy: PolicyFullmesh, Interfaces: Interfaces{Allow: []string{"ca"}}})
	links, addrs := hostNet()
	o = m2.SetNet(t0, links, addrs)
	if !strings.Contains(notesText(o), "10.1.2.2: address not used: interface cb is not in the allow list") {
		t.Errorf("allow notes:\n%s", notesText(o))
	}
	if o := clientConn(m2); len(o.Actions) != 0 {
		t.Fatalf("allow: %v", o.Actions)
	}

	m3 := newTestManager(t, Config{Policy: PolicyFullmesh, Backup: []string{"c*"}})
	o = clientConn(m3)
	want := []Action{
		{Kind: ActSetBackup, Token: tok, LocalAddr: netip.MustParseAddrPort("10.1.1.2:40000"), Remote: srvA, Backup: true},
		create(1, ipB, 3, srvA, kpm.FlagBackup),
	}
	if diff := cmp.Diff(want, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("backup (-want +got):\n%s", diff)
	}
}

func TestFamilyMismatchDeclined(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyFullmesh})
	a := addr("2001:db8::2/64", 3)
	m.NetChange(t0, kpm.NetChange{Addr: &a})
	o := clientConn(m)
	if !strings.Contains(notesText(o), "2001:db8::2 -> 10.1.1.1:7000: no subflow: address family differs") {
		t.Errorf("notes:\n%s", notesText(o))
	}
	for _, a := range o.Actions {
		if a.Local.Addr.Is6() {
			t.Errorf("IPv6 subflow to an IPv4 peer: %v", a)
		}
	}
}

func TestRemovedAddressNotRejoined(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyFullmesh})
	clientConn(m)
	m.Event(t0, kpm.Event{Type: kpm.EventAnnounced, Token: tok, RemoteID: 1, Daddr: srvB.Addr()})
	m.Event(t0, sfEvent(kpm.EventSubEstablished, "10.1.1.2:40002", "10.1.2.1:7000", 0, 1, 2))
	m.Event(t0, kpm.Event{Type: kpm.EventRemoved, Token: tok, RemoteID: 1})
	o := m.Event(t0, sfEvent(kpm.EventSubClosed, "10.1.1.2:40002", "10.1.2.1:7000", 0, 1, 2))
	for _, a := range o.Actions {
		if a.Remote == srvB {
			t.Fatalf("subflow to a removed address: %v", a)
		}
	}
}

func TestServerAnnounces(t *testing.T) {
	cfg := Config{Policy: PolicyFullmesh, Announce: []Announce{
		{Address: "10.1.2.2"},
		{Port: 8443},
		{Interface: "cb", Port: 9000},
		{Address: "10.1.1.2"},    // the connection's own address
		{Address: "192.0.2.9"},   // not here
		{Address: "2001:db8::1"}, // other family
	}}
	m := newTestManager(t, cfg)
	m.Event(t0, connEvent(kpm.EventCreated, "10.1.1.2:7000", "10.1.1.1:40000", true))
	o := m.Event(t0, connEvent(kpm.EventEstablished, "10.1.1.2:7000", "10.1.1.1:40000", true))
	ann := func(id uint8, ip netip.Addr, port uint16) Action {
		return Action{Kind: ActAnnounce, Token: tok, Local: kpm.Endpoint{ID: id, Addr: ip, Port: port}}
	}
	want := []Action{ann(1, ipB, 0), ann(2, ipA, 8443), ann(3, ipB, 9000)}
	if diff := cmp.Diff(want, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	text := notesText(o)
	for _, w := range []string{
		"10.1.1.2: not announced: it is the connection's own address",
		"192.0.2.9: not announced: address not assigned to any interface",
		"2001:db8::1: not announced: address family differs",
		"no subflow: this host accepted the connection; the client opens subflows",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("notes lack %q:\n%s", w, text)
		}
	}
	// The announced address goes away: withdrawn.
	a := addr("10.1.2.2/24", 3)
	o = m.NetChange(t0, kpm.NetChange{Addr: &a, Deleted: true})
	var removed []uint8
	for _, a := range o.Actions {
		if a.Kind == ActRemove {
			removed = append(removed, a.ID)
		}
	}
	if len(removed) != 2 {
		t.Fatalf("removals %v (actions %v)", removed, o.Actions)
	}
}

func TestClosedConnectionForgotten(t *testing.T) {
	m := newTestManager(t, Config{})
	clientConn(m)
	if m.Connections() != 1 {
		t.Fatalf("connections = %d", m.Connections())
	}
	m.Event(t0, kpm.Event{Type: kpm.EventClosed, Token: tok})
	if m.Connections() != 0 {
		t.Fatalf("connections = %d after CLOSED", m.Connections())
	}
	// Late events for it are ignored.
	if o := m.Event(t0, sfEvent(kpm.EventSubClosed, "10.1.2.2:1", "10.1.1.1:7000", 1, 0, 3)); len(o.Actions) != 0 {
		t.Fatal(o.Actions)
	}
}

func TestEstablishedWithoutCreated(t *testing.T) {
	// The daemon started between CREATED and ESTABLISHED.
	m := newTestManager(t, Config{Policy: PolicyFullmesh})
	o := m.Event(t0, connEvent(kpm.EventEstablished, "10.1.1.2:40000", "10.1.1.1:7000", false))
	if len(o.Actions) != 1 {
		t.Fatalf("actions %v", o.Actions)
	}
}

func TestServerAnnouncesWhenAddressBecomesUsable(t *testing.T) {
	m := newTestManager(t, Config{Policy: PolicyNone, Announce: []Announce{{Address: "10.1.2.2"}}})
	down := cb
	down.Up = false
	m.NetChange(t0, kpm.NetChange{Link: &down})
	m.Event(t0, connEvent(kpm.EventCreated, "10.1.1.2:7000", "10.1.1.1:40000", true))
	o := m.Event(t0, connEvent(kpm.EventEstablished, "10.1.1.2:7000", "10.1.1.1:40000", true))
	if len(o.Actions) != 0 || !strings.Contains(notesText(o), "10.1.2.2: not announced: interface cb is down") {
		t.Fatalf("actions %v notes %s", o.Actions, notesText(o))
	}
	// Said once, not on every change.
	if o := m.Tick(t0.Add(time.Second)); len(o.Notes) != 0 {
		t.Errorf("repeated: %s", notesText(o))
	}
	o = m.NetChange(t0, kpm.NetChange{Link: &cb})
	want := []Action{{Kind: ActAnnounce, Token: tok, Local: kpm.Endpoint{ID: 1, Addr: ipB}}}
	if diff := cmp.Diff(want, kinds(o.Actions), netipCmp); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if o := m.NetChange(t0, kpm.NetChange{Link: &cb}); len(o.Actions) != 0 {
		t.Errorf("announced twice: %v", o.Actions)
	}
}
