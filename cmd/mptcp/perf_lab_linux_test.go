//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/perf"
)

// runPerfIn runs the mptcp command in process with its sockets and TUN
// devices in namespace n, and returns its exit code, stdout and stderr.
func runPerfIn(t *testing.T, n lab.Netns, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	code := -1
	if err := n.Do(func() error {
		code = run(args, &o, &e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// perfTwoPaths builds a two-path topology whose kernel client opens a second
// subflow from its path-2 address, and whose namespaces forward, as a
// host running the user-space stack must. Each path is limited to 200
// Mbit/s, so that one subflow cannot carry everything.
func perfTwoPaths(t *testing.T) *lab.Topology {
	t.Helper()
	tp := lab.New(t, lab.Config{Paths: 2, Links: []lab.LinkConfig{{Rate: 200e6}, {Rate: 200e6}}})
	for _, n := range []lab.Netns{tp.Client, tp.Server} {
		if err := n.Sysctl("net.ipv4.ip_forward=1"); err != nil {
			t.Fatal(err)
		}
		if err := n.MPTCPLimits(8, 8); err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.Client.AddMPTCPEndpoint(lab.Endpoint{Addr: tp.Paths[1].Client.V4, Flags: []string{"subflow"}}); err != nil {
		t.Fatal(err)
	}
	return tp
}

// goPerfIn runs the command in n on its own goroutine and sends exit
// status, stdout and stderr on the returned channel; the send is deferred
// so that it also comes when runPerfIn ends the goroutine with t.Fatal,
// and a test waiting on it fails instead of hanging.
func goPerfIn(t *testing.T, n lab.Netns, args ...string) <-chan [3]string {
	res := make(chan [3]string, 1)
	go func() {
		r := [3]string{"runPerfIn failed the test"}
		defer func() { res <- r }()
		code, out, errOut := runPerfIn(t, n, args...)
		r = [3]string{fmt.Sprint(code), out, errOut}
	}()
	return res
}

// perfRetryClient runs the client until the server listens.
func perfRetryClient(t *testing.T, n lab.Netns, args ...string) (string, string) {
	t.Helper()
	for try := 0; ; try++ {
		code, out, errOut := runPerfIn(t, n, args...)
		if code == 0 {
			return out, errOut
		}
		if try < 100 && strings.Contains(errOut, "connection refused") || strings.Contains(errOut, "connect: ") && try < 100 {
			continue
		}
		t.Fatalf("%q: exit %d\n%s%s", args, code, out, errOut)
	}
}

func decodePerfReport(t *testing.T, s string) *perf.Report {
	t.Helper()
	var rep perf.Report
	if err := json.Unmarshal([]byte(s), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, s)
	}
	return &rep
}

// carrying counts the receiver's subflows that carried data.
func perfCarrying(rep *perf.Report) int {
	n := 0
	for _, s := range []*perf.SideResult{rep.Local, rep.Remote} {
		if s == nil || s.Sender {
			continue
		}
		for _, sf := range s.Streams[0].Final.Subflows {
			if sf.BytesReceived*20 >= uint64(s.Bytes) {
				n++
			}
		}
	}
	return n
}

// TestPerfCommandUserServer: "mptcp perf server --stack user" creates its
// TUN device and route in the server's namespace; a kernel MPTCP client
// ("mptcp perf client --stack kernel") reaches it over two paths.
func TestPerfCommandUserServer(t *testing.T) {
	tp := perfTwoPaths(t)
	srvAddr := tp.Paths[0].ServerStack.V4
	srv := goPerfIn(t, tp.Server, "perf", "server", "--timeout", "60s", "--stack", "user", "--tun", "pt0", "--addr", srvAddr.String(), "-1", "-i", "0", "--json")
	args := []string{"perf", "client", "--timeout", "60s", "--stack", "kernel", "--json", "-n", "32M", "--verify", "-i", "0.5",
		netip.AddrPortFrom(srvAddr, 5201).String()}
	var out string
	for try := 0; ; try++ {
		code, o, errOut := runPerfIn(t, tp.Client, args...)
		if code == 0 {
			out = o
			break
		}
		if try < 100 && strings.Contains(errOut, "connect: ") {
			continue
		}
		// The server's results are the last bytes it writes before it
		// exits: a server that stopped its stack at once lost them, and
		// the client failed here "exchanging results" (host.Shutdown).
		s := <-srv
		t.Fatalf("%q: exit %d\n%s%s\nserver exit %s\n%s%s", args, code, o, errOut, s[0], s[1], s[2])
	}
	rep := decodePerfReport(t, out)
	s := <-srv
	if s[0] != "0" {
		t.Fatalf("server: exit %s\n%s%s", s[0], s[1], s[2])
	}
	srep := decodePerfReport(t, s[1])
	if !rep.Summary.Verified || !srep.Summary.Verified || rep.Summary.Received.Bytes != 32<<20 {
		t.Errorf("client summary %+v, server summary %+v", rep.Summary, srep.Summary)
	}
	if cs := srep.Local.Streams[0].Final; cs.Stack != "user" || !cs.MPTCP {
		t.Errorf("server connection %+v, want the user-space stack speaking MPTCP", cs)
	}
	if n := perfCarrying(srep); n != 2 {
		t.Errorf("%d subflows carried data, want 2: %+v", n, srep.Local.Streams[0].Final.Subflows)
	}
	if len(rep.Intervals) == 0 || len(rep.Intervals[0].Streams[0].Subflows) == 0 {
		t.Errorf("client intervals without subflows: %+v", rep.Intervals)
	}
}

// TestPerfCommandUserClient: "mptcp perf client --stack user" with an
// address on each path reaches a kernel MPTCP server ("mptcp perf server
// --stack kernel"), which sends (-R); the text output shows both subflows.
// The stack runs two protocol loops (--loops 2: host.Start makes each
// device's queues), the control connection in one, the data in the other.
func TestPerfCommandUserClient(t *testing.T) {
	tp := perfTwoPaths(t)
	srvAddr := tp.Paths[0].Server.V4
	srv := goPerfIn(t, tp.Server, "perf", "server", "--timeout", "60s", "--stack", "kernel", "-1", "-B", srvAddr.String())
	stack := tp.Paths[0].ClientStack.V4.String() + "," + tp.Paths[1].ClientStack.V4.String()
	out, _ := perfRetryClient(t, tp.Client, "perf", "client", "--timeout", "60s", "--stack", "user", "--tun", "pt0", "--addr", stack,
		"--loops", "2", "-R", "-n", "32M", "--verify", netip.AddrPortFrom(srvAddr, 5201).String())
	t.Logf("mptcp perf client output:\n%s", out)
	s := <-srv
	if s[0] != "0" {
		t.Fatalf("server: exit %s\n%s%s", s[0], s[1], s[2])
	}
	for _, want := range []string{"Client over user-space MPTCP stack (" + stack + " on pt0)", "MPTCP, user-space stack",
		"receiver  (every byte verified)", "Complete: every byte sent was received and verified."} {
		if !strings.Contains(out, want) {
			t.Errorf("client output lacks %q", want)
		}
	}
	// Both subflows appear in the client's summary, each with data.
	for _, a := range []netip.Addr{tp.Paths[0].ClientStack.V4, tp.Paths[1].ClientStack.V4} {
		if !strings.Contains(out, a.String()+":") {
			t.Errorf("no subflow from %s in the client's output", a)
		}
	}
}

// TestPerfWithoutRoot: the user stack without the right to create a TUN
// device says so in one line.
func TestPerfWithoutRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the command as another user")
	}
	for _, tool := range []string{"go", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "mptcp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
		bin, "perf", "client", "--addr", "10.99.0.1", "10.99.0.2:5201")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; stderr %q", err, stderr.String())
	}
	want := "mptcp perf client: creating TUN device mptcp%d needs root (CAP_NET_ADMIN): run as root, or use --stack kernel\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stderr %q, stdout %q; want stderr %q", stderr.String(), stdout.String(), want)
	}
}
