//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// lines trims each line (ip prints a trailing space) and drops empty ones.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func decodeJSON(t *testing.T, what, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: bad JSON %q: %v", what, s, err)
	}
	return v
}

// sameAsIP checks that "mptcp pm endpoint list" and "ip mptcp endpoint
// show" agree, in text and in JSON.
func sameAsIP(t *testing.T, ns lab.Netns, args ...string) {
	t.Helper()
	ours := mustPM(t, ns, append([]string{"endpoint", "list"}, args...)...)
	theirs := ns.Run(t, append([]string{"ip", "mptcp", "endpoint", "show"}, args...)...)
	if !reflect.DeepEqual(lines(ours), lines(theirs)) {
		t.Errorf("endpoint list %v:\nmptcp pm:\n%s\nip mptcp:\n%s", args, ours, theirs)
	}
	oursJ := mustPM(t, ns, append([]string{"endpoint", "list", "--json"}, args...)...)
	theirsJ := ns.Run(t, append([]string{"ip", "-j", "mptcp", "endpoint", "show"}, args...)...)
	if a, b := decodeJSON(t, "ours", oursJ), decodeJSON(t, "ip", theirsJ); !reflect.DeepEqual(a, b) {
		t.Errorf("endpoint list --json %v:\nmptcp pm: %s\nip -j:    %s", args, oursJ, theirsJ)
	}
}

func sameLimitsAsIP(t *testing.T, ns lab.Netns, want string) {
	t.Helper()
	ours := strings.TrimSpace(mustPM(t, ns, "limits"))
	theirs := strings.TrimSpace(ns.Run(t, "ip", "mptcp", "limits", "show"))
	if ours != want || theirs != want {
		t.Errorf("limits: mptcp pm %q, ip %q, want %q", ours, theirs, want)
	}
}

func TestPMKernelEndpointsMatchIP(t *testing.T) {
	lab.RequireMPTCP(t)
	a, b := lab.TempNetns(t, "cli-ep"), lab.TempNetns(t, "cli-ep-peer")
	lab.Veth(t, a, "e0", "10.7.0.1/24", b, "e1", "10.7.0.2/24")
	a.Run(t, "ip", "addr", "add", "10.7.0.10/24", "dev", "e0")

	// Written with mptcp pm, read with ip.
	mustPM(t, a, "endpoint", "add", "10.7.0.1", "dev", "e0", "id", "3", "subflow", "backup")
	mustPM(t, a, "endpoint", "add", "10.7.0.10", "port", "10100", "signal")
	mustPM(t, a, "endpoint", "add", "2001:db8::5", "subflow", "fullmesh")
	mustPM(t, a, "endpoint", "add", "10.7.0.20", "signal", "backup")
	sameAsIP(t, a)
	sameAsIP(t, a, "id", "3")
	if got := lines(a.Run(t, "ip", "mptcp", "endpoint", "show", "id", "3")); len(got) != 1 || got[0] != "10.7.0.1 id 3 subflow backup dev e0" {
		t.Errorf("ip shows %q", got)
	}
	mustPM(t, a, "limits", "set", "subflows", "5", "add_addr_accepted", "3")
	sameLimitsAsIP(t, a, "add_addr_accepted 3 subflows 5")
	if got := strings.TrimSpace(mustPM(t, a, "limits", "--json")); got != `{"add_addr_accepted":3,"subflows":5}` {
		t.Errorf("limits --json = %s", got)
	}

	// set changes only the flags named.
	mustPM(t, a, "endpoint", "set", "id", "3", "nobackup", "fullmesh")
	mustPM(t, a, "endpoint", "set", "2001:db8::5", "backup")
	sameAsIP(t, a)
	if got := lines(a.Run(t, "ip", "mptcp", "endpoint", "show", "id", "3")); len(got) != 1 || got[0] != "10.7.0.1 id 3 subflow fullmesh dev e0" {
		t.Errorf("after set: ip shows %q", got)
	}
	mustPM(t, a, "endpoint", "del", "10.7.0.20")
	mustPM(t, a, "endpoint", "del", "id", "3")
	sameAsIP(t, a)
	if got := lines(a.Run(t, "ip", "mptcp", "endpoint", "show")); len(got) != 2 {
		t.Errorf("after del: ip shows %q", got)
	}
	mustPM(t, a, "endpoint", "flush")
	if got := a.Run(t, "ip", "mptcp", "endpoint", "show"); strings.TrimSpace(got) != "" {
		t.Errorf("after flush: ip shows %q", got)
	}

	// Written with ip, read with mptcp pm.
	a.Run(t, "ip", "mptcp", "endpoint", "add", "10.7.0.1", "dev", "e0", "subflow")
	a.Run(t, "ip", "mptcp", "endpoint", "add", "10.7.0.10", "id", "9", "signal", "port", "10200")
	a.Run(t, "ip", "mptcp", "endpoint", "add", "2001:db8::7", "id", "200", "subflow", "backup", "fullmesh")
	a.Run(t, "ip", "mptcp", "limits", "set", "subflows", "8", "add_addr_accepted", "0")
	sameAsIP(t, a)
	sameAsIP(t, a, "id", "200")
	sameLimitsAsIP(t, a, "add_addr_accepted 0 subflows 8")

	// The laminar flag (Linux 6.18), where the kernel knows it.
	if code, _, _ := pmExec(t, a, "endpoint", "add", "10.7.0.30", "signal", "laminar"); code == 0 {
		if got := mustPM(t, a, "endpoint", "list"); !strings.Contains(got, "10.7.0.30 id") || !strings.Contains(got, "signal laminar") {
			t.Errorf("laminar endpoint listed as:\n%s", got)
		}
	} else {
		t.Log("kernel refuses the laminar flag; not checked")
	}
}

func TestPMKernelErrorsAreOneLine(t *testing.T) {
	lab.RequireMPTCP(t)
	requireTools(t, "setpriv")
	ns := lab.TempNetns(t, "cli-err")
	oneLine := func(args []string, code int, stderr, want string) {
		t.Helper()
		if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
			t.Errorf("mptcp pm %v: exit %d, stderr %q; want exit 1 and one line with %q", args, code, stderr, want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"limits", "set", "subflows", "100"}, "kernel: limit greater than maximum"},
		{[]string{"endpoint", "del", "id", "99"}, "kernel: address not found"},
		{[]string{"endpoint", "list", "id", "42"}, "kernel: address not found"},
	} {
		code, _, stderr := pmExec(t, ns, tc.args...)
		oneLine(tc.args, code, stderr, tc.want)
	}
	mustPM(t, ns, "endpoint", "add", "10.7.0.1", "id", "1", "signal")
	code, _, stderr := pmExec(t, ns, "endpoint", "add", "10.7.0.1", "id", "1", "signal")
	oneLine(nil, code, stderr, "duplicate")

	// Without privilege. The binary must be reachable by an unprivileged
	// user: the test binary's own directory usually is not.
	dir, err := os.MkdirTemp("", "mptcp-pm-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe := filepath.Join(dir, "mptcp")
	src, err := os.ReadFile(selfExe(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	for _, args := range [][]string{
		{"endpoint", "add", "10.7.0.2", "signal"},
		{"endpoint", "flush"},
		{"limits", "set", "subflows", "2"},
		{"monitor", "--timeout", "1s"},
		{"daemon"},
	} {
		code, _, stderr := pmExecExe(t, ns, exe, nobody, args...)
		oneLine(args, code, stderr, "permission denied")
	}
	// Reading needs no privilege.
	if code, out, stderr := pmExecExe(t, ns, exe, nobody, "endpoint", "list"); code != 0 || !strings.Contains(out, "10.7.0.1 id 1 signal") {
		t.Errorf("unprivileged list: exit %d, %q, %q", code, out, stderr)
	}
}

// event is one line of "mptcp pm monitor --json".
type event map[string]any

func parseEvents(t *testing.T, out string) []event {
	t.Helper()
	var evs []event
	for _, l := range lines(out) {
		var e event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("monitor printed %q: %v", l, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// find returns the first event of type typ whose fields include want.
func find(evs []event, typ string, want event) event {
	for _, e := range evs {
		if e["type"] != typ {
			continue
		}
		ok := true
		for k, v := range want {
			if unmapped(e[k]) != fmt.Sprint(v) {
				ok = false
			}
		}
		if ok {
			return e
		}
	}
	return nil
}

// unmapped prints an event field, with IPv4-mapped IPv6 addresses (from a
// dual-stack socket) as plain IPv4 and "::" as "0.0.0.0".
func unmapped(v any) string {
	s := fmt.Sprint(v)
	if a, err := netip.ParseAddr(s); err == nil {
		if a == netip.IPv6Unspecified() {
			return "0.0.0.0"
		}
		return a.Unmap().String()
	}
	return s
}

// closedLine matches a connection's CLOSED event in the text monitors.
var closedLine = regexp.MustCompile(`(?m)^\[ *CLOSED\]`)

// listenerLine matches a listener event in the text monitors: Debian's
// ip 6.1 predates their names and prints their numbers.
var listenerLine = regexp.MustCompile(`^\[ *(LISTENER_CREATED|LISTENER_CLOSED|UNKNOWN 15|UNKNOWN 16)\]`)

// warmUpMonitor opens and closes MPTCP listeners in ns until the monitor
// mon, which says nothing when it is ready, reports one.
func warmUpMonitor(t *testing.T, ns lab.Netns, mon *proc) {
	t.Helper()
	port := 7290
	lab.WaitFor(t, 10*time.Second, "the monitor to report a listener", func() (bool, string) {
		port++
		ns.ListenMPTCP(t, fmt.Sprintf("0.0.0.0:%d", port)).Close()
		out := mon.stdout.String()
		return slices.ContainsFunc(lines(out), listenerLine.MatchString), out
	})
}

// connectionEvents returns the lines of ls that are not listener events,
// with the padding inside the brackets removed.
func connectionEvents(ls []string) []string {
	var out []string
	for _, l := range ls {
		if !listenerLine.MatchString(l) {
			out = append(out, bracketPadding.ReplaceAllString(l, "["))
		}
	}
	return out
}

// bracketPadding matches the padding inside "[  SF_ESTABLISHED]": iproute2
// 6.1 pads the event name to 14 columns, later versions (with the listener
// events) to 16, as mptcp pm does.
var bracketPadding = regexp.MustCompile(`^\[ *`)

func TestPMKernelMonitor(t *testing.T) {
	lab.RequireMPTCP(t)
	cli, srv := lab.TempNetns(t, "mon-cli"), lab.TempNetns(t, "mon-srv")
	lab.Veth(t, cli, "ca", "10.9.1.2/24", srv, "sa", "10.9.1.1/24")
	lab.Veth(t, cli, "cb", "10.9.2.2/24", srv, "sb", "10.9.2.1/24")
	for _, ns := range []lab.Netns{cli, srv} {
		ns.Run(t, "ip", "mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "4")
	}
	mustPM(t, srv, "endpoint", "add", "10.9.2.1", "id", "1", "signal")

	cmon := startPM(t, cli, "monitor", "--json")
	ctext := startPM(t, cli, "monitor")
	smon := startPM(t, srv, "monitor", "--json")
	ipmon := startProc(t, cli, nil, "ip", "mptcp", "monitor")
	for _, p := range []*proc{cmon, ctext, smon} {
		p.waitOutput(t, "listening for MPTCP events", 10*time.Second)
	}
	// ip prints nothing when it is ready: open and close listeners in the
	// client's namespace until it reports one (the text monitors are
	// compared without listener events).
	warmUpMonitor(t, cli, ipmon)

	ln := srv.ListenMPTCP(t, "0.0.0.0:7200")
	echoServer(ln)
	conn := cli.DialMPTCP(t, "10.9.1.1:7200")
	transfer(t, conn, 64<<10, 1)
	// The kernel path manager of the client joins the announced address.
	lab.WaitFor(t, 10*time.Second, "the subflow to the announced address", func() (bool, string) {
		out := smon.stdout.String()
		return strings.Contains(out, `"type":"sf_established"`), out
	})
	// MP_PRIO: the server makes its address backup; the client hears it.
	mustPM(t, srv, "endpoint", "set", "id", "1", "backup")
	lab.WaitFor(t, 10*time.Second, "SF_PRIO at the client", func() (bool, string) {
		out := cmon.stdout.String()
		return strings.Contains(out, `"type":"sf_prio"`), out
	})
	// RM_ADDR: the server withdraws the address.
	mustPM(t, srv, "endpoint", "del", "id", "1")
	lab.WaitFor(t, 10*time.Second, "REMOVED and SF_CLOSED at the client", func() (bool, string) {
		out := cmon.stdout.String()
		return strings.Contains(out, `"type":"removed"`) && strings.Contains(out, `"type":"sf_closed"`), out
	})
	transfer(t, conn, 64<<10, 2)
	conn.Close()
	ln.Close()
	lab.WaitFor(t, 10*time.Second, "CLOSED and LISTENER_CLOSED", func() (bool, string) {
		c, s := cmon.stdout.String(), smon.stdout.String()
		return strings.Contains(c, `"type":"closed"`) && strings.Contains(s, `"type":"closed"`) &&
			strings.Contains(s, `"type":"listener_closed"`), c + s
	})
	for _, p := range []*proc{ctext, ipmon} {
		lab.WaitFor(t, 10*time.Second, "the text monitors to print CLOSED", func() (bool, string) {
			out := p.stdout.String()
			return closedLine.MatchString(out), out
		})
	}
	for _, p := range []*proc{cmon, ctext, smon, ipmon} {
		if code := p.stop(); code != 0 && p != ipmon {
			t.Errorf("monitor exit status %d: %s", code, p.stderr.String())
		}
	}

	cev, sev := parseEvents(t, cmon.stdout.String()), parseEvents(t, smon.stdout.String())
	t.Logf("client events:\n%s\nserver events:\n%s", cmon.stdout.String(), smon.stdout.String())
	created := find(cev, "created", event{"saddr": "10.9.1.2", "daddr": "10.9.1.1", "dport": 7200, "family": "inet"})
	if created == nil {
		t.Fatalf("no CREATED event for the connection")
	}
	tok := created["token"]
	checks := []struct {
		evs  []event
		side string
		typ  string
		want event
	}{
		{cev, "client", "established", event{"token": tok, "saddr": "10.9.1.2", "daddr": "10.9.1.1", "dport": 7200}},
		{cev, "client", "announced", event{"token": tok, "remid": 1, "daddr": "10.9.2.1"}},
		{cev, "client", "sf_established", event{"token": tok, "saddr": "10.9.2.2", "daddr": "10.9.2.1", "remid": 1, "backup": false}},
		{cev, "client", "sf_prio", event{"token": tok, "saddr": "10.9.2.2", "daddr": "10.9.2.1", "backup": true}},
		{cev, "client", "removed", event{"token": tok, "remid": 1}},
		{cev, "client", "sf_closed", event{"token": tok, "saddr": "10.9.2.2", "daddr": "10.9.2.1"}},
		{cev, "client", "closed", event{"token": tok}},
		{sev, "server", "listener_created", event{"saddr": "0.0.0.0", "sport": 7200}},
		{sev, "server", "created", event{"saddr": "10.9.1.1", "sport": 7200, "daddr": "10.9.1.2", "server_side": true}},
		{sev, "server", "established", event{"saddr": "10.9.1.1", "sport": 7200, "server_side": true}},
		{sev, "server", "sf_established", event{"saddr": "10.9.2.1", "daddr": "10.9.2.2", "locid": 1}},
		{sev, "server", "closed", nil},
		{sev, "server", "listener_closed", event{"saddr": "0.0.0.0", "sport": 7200}},
	}
	for _, c := range checks {
		if find(c.evs, c.typ, c.want) == nil {
			t.Errorf("%s: no %s event with %v", c.side, c.typ, c.want)
		}
	}
	// The text form is the one ip mptcp monitor prints.
	ours, theirs := connectionEvents(lines(ctext.stdout.String())), connectionEvents(lines(ipmon.stdout.String()))
	if !reflect.DeepEqual(ours, theirs) {
		t.Errorf("text monitor differs from ip mptcp monitor:\nmptcp pm:\n%s\nip:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
	if len(ours) < 7 {
		t.Errorf("text monitor printed %d lines", len(ours))
	}
}
