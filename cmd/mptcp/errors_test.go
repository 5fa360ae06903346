package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestErrorsInWords holds the exact line a user reads for bad input
// (issue 19, point 11): the flag or field named, valid names listed in
// words, no package prefixes ("tcp: invalid argument: sched: ..."), and
// no Go slices.
func TestErrorsInWords(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := file("empty.yaml", "")
	huge := file("huge.yaml", "paths:\n  - rate: 1e30bit\n")
	badSched := file("sched.yaml", "paths:\n  - rate: 10Mbit\n    delay: 10ms\nscheduler: foo\nduration: 1s\n")
	badCompCC := file("comp.yaml", "paths:\n  - rate: 10Mbit\n    delay: 10ms\ncompetitors:\n  - cc: foo\n    rate: 10Mbit\nduration: 1s\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim", "--scheduler", "foo"}, 2,
			`mptcp sim: --scheduler: unknown scheduler "foo"; valid names are blest, default, ecf, minrtt, redundant and roundrobin`},
		{[]string{"sim", "--cc", "foo"}, 2,
			`mptcp sim: --cc: unknown congestion control "foo"; valid names are balia, cubic, lia, olia, reno and wvegas`},
		{[]string{"sim", "--pm", "foo"}, 2,
			`mptcp sim: --pm: unknown path manager "foo"; valid names are fullmesh, kernel, ndiffports and userspace`},
		{[]string{"sim", badSched}, 1,
			`mptcp sim: scheduler: unknown scheduler "foo"; valid names are blest, default, ecf, minrtt, redundant and roundrobin`},
		{[]string{"sim", badCompCC}, 1,
			`mptcp sim: competitors[0].cc: unknown congestion control "foo"; valid names are balia, cubic, lia, olia, reno and wvegas`},
		{[]string{"sim", empty}, 1,
			"mptcp sim: " + empty + `: invalid scenario: the file holds no scenario (it is empty or only comments; "mptcp sim --show" prints an example)`},
		{[]string{"sim", huge}, 1,
			"mptcp sim: " + huge + `: invalid scenario: line 2, column 11: paths[0].rate: "1e30bit" is out of range: a rate is 0 (unlimited) to 1000Gbit`},
		// The plot's path is checked before the run: the scenario's bad
		// scheduler, found when the run starts, is not reached.
		{[]string{"sim", badSched, "--plot", filepath.Join(dir, "no", "such", "dir.svg")}, 1,
			"mptcp sim: --plot: open " + filepath.Join(dir, "no", "such", "dir.svg") + ": no such file or directory"},
	} {
		code, _, errOut := runCmd(c.args...)
		if code != c.code || errOut != c.want+"\n" {
			t.Errorf("%q:\n exit %d, stderr %q\n want exit %d, %q", c.args, code, errOut, c.code, c.want+"\n")
		}
	}
}

// TestPerfKernelRefusesUserFlags: flags only the user-space stack takes
// are refused with --stack kernel, not ignored (issue 19, point 12).
func TestPerfKernelRefusesUserFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"perf", "client", "--stack", "kernel", "--scheduler", "blest", "--cc", "lia", "127.0.0.1:1"},
			`mptcp perf client: --cc and --scheduler are for --stack user only: the kernel's MPTCP takes its scheduler, congestion control and path manager from sysctls and "mptcp pm" ("mptcp stat" and "mptcp monitor" show its state)`},
		{[]string{"perf", "server", "--stack", "kernel", "--mtu", "9000"},
			`mptcp perf server: --mtu is for --stack user only: the kernel's MPTCP takes its scheduler, congestion control and path manager from sysctls and "mptcp pm" ("mptcp stat" and "mptcp monitor" show its state)`},
	} {
		code, _, errOut := runCmd(c.args...)
		if code != 2 || errOut != c.want+"\n" {
			t.Errorf("%q:\n exit %d, stderr %q\n want exit 2, %q", c.args, code, errOut, c.want+"\n")
		}
	}
}

// TestPerfResolvesNames: perf client takes a host name as scan does
// (issue 19, point 12): "localhost" is dialled (and refused), not
// rejected as "not an address".
func TestPerfResolvesNames(t *testing.T) {
	if _, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip4", "localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a port nobody listens on: the dial is refused at once
	code, _, errOut := runCmd("perf", "client", "--stack", "kernel", "--no-mptcp", "-B", "127.0.0.1", "--timeout", "5", "localhost:"+strconv.Itoa(port))
	if code != 1 || !strings.Contains(errOut, "127.0.0.1:"+strconv.Itoa(port)) || !strings.Contains(errOut, "refused") {
		t.Errorf("exit %d, stderr %q; want a refused dial to 127.0.0.1:%d", code, errOut, port)
	}
}

// TestIntervalZero: --interval 0 means "no per-interval lines, only the
// summary" in sim as in perf and emu (issue 19, point 12: sim took 0 for
// "the default, 1s"), and every command's help says so in the same words.
func TestIntervalZero(t *testing.T) {
	code, out, errOut := runCmd("sim", "aggregate", "--duration", "2s", "--interval", "0")
	if code != 0 || strings.Contains(out, "interval (s)") || !strings.Contains(out, "bytes delivered") {
		t.Errorf("sim --interval 0: exit %d, stderr %q, stdout:\n%s\nwant the summary without per-interval lines", code, errOut, out)
	}
	for _, path := range [][]string{{"sim"}, {"perf", "client"}, {"perf", "server"}, {"emu", "run"}} {
		c, _ := root.Find(path)
		if c.Run == nil {
			continue // Linux-only command elsewhere
		}
		var help strings.Builder
		c.printHelp(&help)
		if !strings.Contains(help.String(), intervalZero) {
			t.Errorf("%q help does not say %q:\n%s", path, intervalZero, help.String())
		}
	}
}

// TestEmuHintStartsNoDaemon: the command emu run suggests leaves nothing
// running after the test (issue 19: "iperf3 -s -D" outlived the removed
// namespaces).
func TestEmuHintStartsNoDaemon(t *testing.T) {
	h := iperfHint("s", "c", "10.1.1.2")
	if strings.Contains(h, " -D") || !strings.Contains(h, "iperf3 -s -1 ") {
		t.Errorf("hint %q starts a server that outlives the test", h)
	}
}

// TestEmuTooManyKernelEndpoints: a scenario with more paths than the
// kernel's path manager has endpoints for is refused in words before any
// namespace is made, not with the kernel's "-34" (issue 19).
func TestEmuTooManyKernelEndpoints(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("emu runs only on Linux")
	}
	body := "duration: 1s\npaths:\n"
	for i := range 10 {
		body += "  - name: p" + strconv.Itoa(i) + "\n    rate: 10Mbit\n"
	}
	p := filepath.Join(t.TempDir(), "ten.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd("emu", "run", p)
	want := `mptcp emu run: 10 paths need 9 MPTCP endpoints in the client, and the kernel's path manager holds at most 8 (it refuses more with ERANGE, "-34"): give at most 9 paths, or --no-endpoints to leave the kernel's endpoints alone` + "\n"
	if code != 2 || errOut != want {
		t.Errorf("exit %d, stderr %q; want exit 2, %q", code, errOut, want)
	}
}

// TestKernelPMSaysWhyOneSubflow: the kernel path manager with raised
// limits still keeps one subflow in the simulator (its hosts' addresses
// carry no endpoint flags); the output says why (issue 19, point 12).
func TestKernelPMSaysWhyOneSubflow(t *testing.T) {
	code, out, errOut := runCmd("sim", "aggregate", "--duration", "1s", "--pm", "kernel:subflows=4,add_addr_accepted=4")
	if code != 0 || !strings.Contains(out, "note: path manager kernel:subflows=4,add_addr_accepted=4 opened 1 subflow(s) for 2 paths: like the kernel's, it opens subflows only from endpoints flagged subflow or fullmesh") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant a note saying why one subflow", code, errOut, out)
	}
	if code, out, _ := runCmd("sim", "aggregate", "--duration", "1s"); code != 0 || strings.Contains(out, "note: path manager") {
		t.Errorf("fullmesh run: exit %d, a note where none is due:\n%s", code, out)
	}
}

// TestPerfUserAddrOwnedByKernel: an --addr the kernel already has is
// refused at once, instead of a "context deadline exceeded" after the
// timeout (issue 19): the kernel answers for it, the stack never sees it.
func TestPerfUserAddrOwnedByKernel(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the user-space stack's TUN devices are Linux-only")
	}
	var addr netip.Addr
	var ifname string
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		ias, _ := ifc.Addrs()
		for _, ia := range ias {
			if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().Is4() && p.Addr().IsGlobalUnicast() && !addr.IsValid() {
				addr, ifname = p.Addr(), ifc.Name
			}
		}
	}
	if !addr.IsValid() {
		t.Skip("no IPv4 unicast address on this host's interfaces")
	}
	code, _, errOut := runCmd("perf", "client", "--addr", addr.String(), "10.0.0.1")
	want := "mptcp perf client: address " + addr.String() + " is already the kernel's (on " + ifname + "): the kernel answers for it, so the user-space stack would never see its packets and every connection would time out; give the stack an address of its own\n"
	if code != 2 || errOut != want {
		t.Errorf("exit %d, stderr %q; want exit 2, %q", code, errOut, want)
	}
}

// TestPMEndpointErrorOnce: the command's path is said once, not again
// as "endpoint add:" inside the message (issue 19).
func TestPMEndpointErrorOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pm endpoint runs only on Linux")
	}
	code, _, errOut := runCmd("pm", "endpoint", "add", "bogus")
	if want := "mptcp pm endpoint add: unexpected \"bogus\"\n"; code != 2 || errOut != want {
		t.Errorf("exit %d, stderr %q; want exit 2, %q", code, errOut, want)
	}
}

// TestCheckServeTLSFlags: HTTPS flags that cannot work together are
// refused in one line before anything listens.
func TestCheckServeTLSFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-ports", "8443"}, "--tls-ports needs a certificate: --tls-cert and --tls-key, or --tls-self-signed"},
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, "--tls-self-signed and --tls-cert/--tls-key: give one"},
		{[]string{"--tls-self-signed", "--ports", "8080,8443", "--tls-ports", "8443"}, "port 8443 is in --ports and --tls-ports: one protocol per port"},
		{[]string{"--tls-self-signed", "--tls-ports", "8443,x"}, `--tls-ports: "x" is not a port`},
	} {
		code, _, errOut := runCmd(append([]string{"check", "serve"}, c.args...)...)
		if want := "mptcp check serve: " + c.want + "\n"; code != 2 || errOut != want {
			t.Errorf("%q:\n exit %d, stderr %q\n want exit 2, %q", c.args, code, errOut, want)
		}
	}
}
