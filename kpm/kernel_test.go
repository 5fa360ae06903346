//go:build linux

package kpm_test

import (
	"errors"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/kpm"
	"golang.org/x/sys/unix"
)

func dial(t *testing.T, ns lab.Netns) *kpm.Conn {
	t.Helper()
	c, err := kpm.Dial(&kpm.Config{NetNS: int(ns.Open(t).Fd())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	return c
}

func TestKernelEndpointsAndLimits(t *testing.T) {
	lab.RequireMPTCP(t)
	a, b := lab.TempNetns(t, "ep-a"), lab.TempNetns(t, "ep-b")
	lab.Veth(t, a, "e0", "10.7.0.1/24", b, "e1", "10.7.0.2/24")
	c := dial(t, a)
	idx, err := strconv.Atoi(strings.TrimSpace(a.Run(t, "cat", "/sys/class/net/e0/ifindex")))
	if err != nil {
		t.Fatal(err)
	}
	ifindex := int32(idx)
	eps := []kpm.Endpoint{
		{ID: 3, Addr: netip.MustParseAddr("10.7.0.1"), Flags: kpm.FlagSubflow | kpm.FlagBackup, IfIndex: ifindex},
		{ID: 4, Addr: netip.MustParseAddr("10.7.0.9"), Flags: kpm.FlagSignal},
		{ID: 5, Addr: netip.MustParseAddr("2001:db8::5"), Flags: kpm.FlagSubflow | kpm.FlagFullmesh},
	}
	for _, e := range eps {
		if err := c.AddEndpoint(e); err != nil {
			t.Fatalf("add %+v: %v", e, err)
		}
	}
	got, err := c.Endpoints()
	if err != nil {
		t.Fatal(err)
	}
	opt := cmp.Comparer(func(x, y netip.Addr) bool { return x == y })
	if diff := cmp.Diff(eps, got, opt); diff != "" {
		t.Errorf("Endpoints (-want +got):\n%s", diff)
	}
	one, err := c.Endpoint(4)
	if err != nil || one.Addr != eps[1].Addr {
		t.Errorf("Endpoint(4) = %+v, %v", one, err)
	}
	// The kernel's refusal carries its own explanation.
	err = c.AddEndpoint(eps[0])
	var ke *kpm.KernelError
	if !errors.As(err, &ke) || !strings.Contains(ke.Message, "duplicate") {
		t.Errorf("duplicate add: %v (want the kernel's message)", err)
	}
	if err := c.SetEndpointFlags(kpm.Endpoint{ID: 3, Flags: kpm.FlagFullmesh}); err != nil {
		t.Fatal(err)
	}
	if e, _ := c.Endpoint(3); e.Flags != kpm.FlagSubflow|kpm.FlagFullmesh {
		t.Errorf("after set flags: %v, want subflow fullmesh", e.Flags)
	}
	if err := c.DeleteEndpoint(4, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Endpoint(4); !errors.Is(err, unix.EINVAL) {
		t.Errorf("deleted endpoint: %v", err)
	}

	two, five := uint32(2), uint32(5)
	if err := c.SetLimits(kpm.LimitsUpdate{Subflows: &five, AddAddrAccepted: &two}); err != nil {
		t.Fatal(err)
	}
	l, err := c.Limits()
	if err != nil || l != (kpm.Limits{AddAddrAccepted: 2, Subflows: 5}) {
		t.Errorf("Limits = %+v, %v", l, err)
	}
	// iproute2 before 6.x prints limits as text even with -j.
	out := a.Run(t, "ip", "mptcp", "limits", "show")
	if want := "add_addr_accepted 2 subflows 5"; strings.Join(strings.Fields(out), " ") != want {
		t.Errorf("ip mptcp limits show = %q, want %q", out, want)
	}
	big := uint32(100)
	err = c.SetLimits(kpm.LimitsUpdate{Subflows: &big})
	if !errors.As(err, &ke) || ke.Message == "" || !errors.Is(err, unix.EINVAL) {
		t.Errorf("limit 100: %v (want EINVAL with the kernel's message)", err)
	}
	if err := c.FlushEndpoints(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Endpoints(); err != nil || len(got) != 0 {
		t.Errorf("after flush: %v, %v", got, err)
	}
}

// events collects an EventConn's events on a channel.
func events(t *testing.T, ns lab.Netns) <-chan kpm.Event {
	t.Helper()
	ec, err := kpm.DialEvents(&kpm.Config{NetNS: int(ns.Open(t).Fd())})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan kpm.Event, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			evs, err := ec.Receive()
			if err != nil && !errors.Is(err, kpm.ErrEventsLost) && !errors.Is(err, kpm.ErrMalformedEvent) {
				return
			}
			for _, e := range evs {
				select {
				case ch <- e:
				default:
					t.Errorf("event buffer full, dropped %v", e)
				}
			}
		}
	}()
	t.Cleanup(func() { ec.Close(); <-done })
	return ch
}

// waitEvent returns the first event that matches, within timeout.
func waitEvent(t *testing.T, ch <-chan kpm.Event, what string, match func(kpm.Event) bool) kpm.Event {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for {
		select {
		case e := <-ch:
			if match(e) {
				return e
			}
		case <-timer.C:
			t.Fatalf("no %s event within 10s", what)
		}
	}
}

func TestKernelUserspacePathManager(t *testing.T) {
	lab.RequireMPTCP(t)
	cli, srv := lab.TempNetns(t, "us-cli"), lab.TempNetns(t, "us-srv")
	lab.Veth(t, cli, "a0", "10.8.1.2/24", srv, "a1", "10.8.1.1/24")
	lab.Veth(t, cli, "b0", "10.8.2.2/24", srv, "b1", "10.8.2.1/24")
	srv.Run(t, "ip", "mptcp", "limits", "set", "subflows", "8", "add_addr_accepted", "8")
	err := cli.Do(func() error {
		_, err := kpm.SetPathManager(kpm.PathManagerUserspace)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if pm := cli.Run(t, "sysctl", "-n", "net.mptcp.path_manager"); strings.TrimSpace(pm) != "userspace" {
		t.Fatalf("path_manager = %q", pm)
	}
	c := dial(t, cli)
	cev, sev := events(t, cli), events(t, srv)

	ln := srv.ListenMPTCP(t, "0.0.0.0:7100")
	go func() {
		s, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, s)
			s.Close()
		}
	}()
	conn := cli.DialMPTCP(t, "10.8.1.1:7100")
	conn.Write([]byte("hello"))
	est := waitEvent(t, cev, "ESTABLISHED", func(e kpm.Event) bool { return e.Type == kpm.EventEstablished })
	if est.Has(kpm.AttrServerSide) && est.ServerSide {
		t.Errorf("client's ESTABLISHED says server side: %v", est)
	}
	tok := est.Token
	server := waitEvent(t, sev, "server ESTABLISHED", func(e kpm.Event) bool { return e.Type == kpm.EventEstablished })
	if !server.ServerSide {
		t.Errorf("server's ESTABLISHED lacks server side: %v", server)
	}

	remote := netip.MustParseAddrPort("10.8.1.1:7100")
	local := kpm.Endpoint{ID: 2, Addr: netip.MustParseAddr("10.8.2.2")}
	if err := c.CreateSubflow(tok, local, remote); err != nil {
		t.Fatal(err)
	}
	sf := waitEvent(t, cev, "SF_ESTABLISHED", func(e kpm.Event) bool { return e.Type == kpm.EventSubEstablished })
	if sf.Saddr != local.Addr || sf.LocalID != 2 || sf.Remote() != remote {
		t.Errorf("SF_ESTABLISHED = %v", sf)
	}
	// MP_PRIO reaches the peer, which reports the new priority.
	if err := c.SetSubflowBackup(tok, sf.Local(), sf.Remote(), true); err != nil {
		t.Fatal(err)
	}
	prio := waitEvent(t, sev, "server SF_PRIO", func(e kpm.Event) bool { return e.Type == kpm.EventSubPriority })
	if !prio.Backup {
		t.Errorf("SF_PRIO = %v, want backup=1", prio)
	}
	// ADD_ADDR and RM_ADDR reach the peer.
	if err := c.Announce(tok, kpm.Endpoint{ID: 9, Addr: netip.MustParseAddr("10.8.1.2")}); err != nil {
		t.Fatal(err)
	}
	got := waitEvent(t, sev, "server ANNOUNCED", func(e kpm.Event) bool { return e.Type == kpm.EventAnnounced })
	if got.RemoteID != 9 || got.Daddr != netip.MustParseAddr("10.8.1.2") {
		t.Errorf("ANNOUNCED = %v", got)
	}
	if err := c.Remove(tok, 9); err != nil {
		t.Fatal(err)
	}
	rm := waitEvent(t, sev, "server REMOVED", func(e kpm.Event) bool { return e.Type == kpm.EventRemoved })
	if rm.RemoteID != 9 {
		t.Errorf("REMOVED = %v", rm)
	}
	if err := c.DestroySubflow(tok, sf.Local(), sf.Remote()); err != nil {
		t.Fatal(err)
	}
	closed := waitEvent(t, cev, "SF_CLOSED", func(e kpm.Event) bool { return e.Type == kpm.EventSubClosed })
	if closed.Local() != sf.Local() {
		t.Errorf("SF_CLOSED = %v, want %v", closed, sf.Local())
	}
	// A bad token is refused with the kernel's reason.
	err = c.Remove(tok+1, 9)
	var ke *kpm.KernelError
	if !errors.As(err, &ke) || ke.Message != "invalid token" {
		t.Errorf("bad token: %v", err)
	}
	conn.Close()
	waitEvent(t, cev, "CLOSED", func(e kpm.Event) bool { return e.Type == kpm.EventClosed && e.Token == tok })
}
