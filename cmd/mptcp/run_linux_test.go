//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/mptcpify"
)

// runTools are the binaries the "mptcp run" tests drive: this command and
// a static Go program using plain net.Listen and net.Dial.
type runTools struct{ mptcp, plainnet string }

var (
	runToolsOnce sync.Once
	runToolsVal  runTools
	runToolsErr  error
)

func buildRunTools(t *testing.T) runTools {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go tool to build the test programs")
	}
	runToolsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "h18-run-")
		if err != nil {
			runToolsErr = err
			return
		}
		runToolsVal = runTools{mptcp: filepath.Join(dir, "mptcp"), plainnet: filepath.Join(dir, "plainnet")}
		// mptcp is built as the test binary was (its packages come from
		// the build cache); only the program it runs is made static.
		build := func(out, pkg string, env ...string) error {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Env = append(os.Environ(), env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
			}
			return nil
		}
		if runToolsErr = build(runToolsVal.mptcp, "."); runToolsErr == nil {
			runToolsErr = build(runToolsVal.plainnet, "./testdata/plainnet", "CGO_ENABLED=0")
		}
	})
	if runToolsErr != nil {
		t.Fatal(runToolsErr)
	}
	return runToolsVal
}

// backends lists the ways "mptcp run" can work on this machine, skipping
// the test for each that cannot, with the reason.
func backends(t *testing.T) []string {
	var out []string
	if err := bpfUsable(); err != nil {
		t.Logf("bpf backend not tested: %v", err)
	} else {
		out = append(out, "bpf")
	}
	if err := mptcpify.CheckSeccomp(); err != nil {
		t.Logf("seccomp backend not tested: %v", err)
	} else {
		out = append(out, "seccomp")
	}
	if len(out) == 0 {
		t.Skip("neither backend of mptcp run works on this kernel")
	}
	return out
}

// bpfUsable says whether the kernel takes the program.
func bpfUsable() error {
	if err := mptcpify.Preflight(); err != nil {
		return err
	}
	p, err := mptcpify.Load(mptcpify.Target{CgroupID: 1})
	if err != nil {
		return err
	}
	return p.Close()
}

// runPair is a client and a server namespace on one veth link; the client
// has a second address for a subflow endpoint.
type runPair struct{ cli, srv lab.Netns }

const (
	runSrvAddr  = "10.18.0.2"
	runCliAddr  = "10.18.0.1"
	runCliAddr2 = "10.18.0.3"
)

func newRunPair(t *testing.T) runPair {
	cli, srv := lab.TempNetns(t, "h18cli"), lab.TempNetns(t, "h18srv")
	lab.Veth(t, cli, "h18c0", runCliAddr+"/24", srv, "h18s0", runSrvAddr+"/24")
	cli.Run(t, "ip", "addr", "add", runCliAddr2+"/24", "dev", "h18c0")
	return runPair{cli: cli, srv: srv}
}

// mibCounter reads one MPTcpExt counter of a namespace.
func mibCounter(t *testing.T, ns lab.Netns, name string) int {
	t.Helper()
	out := ns.Run(t, "nstat", "-az", name)
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == name {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no counter %s in:\n%s", name, out)
	return 0
}

// startServer runs "plainnet listen" in the server namespace, under
// "mptcp run" with args unless args is nil, and waits until it listens.
func startServer(t *testing.T, tools runTools, ns lab.Netns, port int, args []string) *syncBuffer {
	t.Helper()
	argv := []string{tools.plainnet, "listen", fmt.Sprintf(":%d", port)}
	if args != nil {
		argv = append(append(append([]string{tools.mptcp, "run"}, args...), "--"), argv...)
	}
	cmd := ns.Command(argv...)
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// "ip netns exec" becomes mptcp run (or plainnet): SIGTERM reaches
	// it, and mptcp run passes it on to the server and waits for it.
	cmd.WaitDelay = 10 * time.Second
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	lab.WaitFor(t, 20*time.Second, "the server to listen", func() (bool, string) {
		s := out.String()
		return strings.Contains(s, "listen protocol"), s
	})
	return out
}

// TestRunConverts: a static Go binary, curl and iperf3 get MPTCP sockets
// under "mptcp run" and TCP ones without it, with either backend.
func TestRunConverts(t *testing.T) {
	lab.RequireMPTCP(t)
	tools := buildRunTools(t)
	for _, via := range backends(t) {
		t.Run(via, func(t *testing.T) {
			p := newRunPair(t)
			startServer(t, tools, p.srv, 7018, []string{"--via", via})
			dst := runSrvAddr + ":7018"

			// Without mptcp run: TCP.
			out := p.cli.Run(t, tools.plainnet, "dial", dst)
			if !strings.Contains(out, "dial protocol 6") {
				t.Fatalf("plain client: %q, want protocol 6", out)
			}
			if n := mibCounter(t, p.cli, "MPTcpExtMPCapableSYNTX"); n != 0 {
				t.Fatalf("plain client sent %d MP_CAPABLE SYNs", n)
			}
			// With it: MPTCP end to end, MP_CAPABLE on the wire.
			stopCapture := capture(t, p.srv, "h18s0")
			out = p.cli.Run(t, tools.mptcp, "run", "--via", via, "--", tools.plainnet, "dial", dst)
			if n, ok := stopCapture("tcp.options.mptcp.subtype == 0"); ok && n < 3 {
				t.Errorf("the capture shows %d packets with MP_CAPABLE, want the handshake's 3 at least", n)
			}
			if !strings.Contains(out, "dial protocol 262") {
				t.Fatalf("client under mptcp run: %q, want protocol 262", out)
			}
			if n := mibCounter(t, p.cli, "MPTcpExtMPCapableSYNACKRX"); n != 1 {
				t.Fatalf("client got %d MP_CAPABLE SYN/ACKs, want 1", n)
			}
			if ss := p.srv.Run(t, "ss", "-Mltn"); !strings.Contains(ss, ":7018") {
				t.Fatalf("ss -M shows no MPTCP listener:\n%s", ss)
			}
		})
	}
}

// coverageClients are the programs of the coverage table: what each runs
// as a client against the server namespace, and what it needs.
var coverageClients = []struct {
	name string
	need string // a program that must be installed, or ""
	argv func(tools runTools) []string
}{
	{"static Go binary (net.Dial)", "", func(tl runTools) []string {
		return []string{tl.plainnet, "dial", runSrvAddr + ":7019"}
	}},
	{"curl", "curl", func(runTools) []string {
		return []string{"curl", "-sS", "-o", "/dev/null", "http://" + runSrvAddr + ":7019/"}
	}},
	{"wget", "wget", func(runTools) []string {
		return []string{"wget", "-q", "-O", "/dev/null", "http://" + runSrvAddr + ":7019/"}
	}},
	{"python3 (socket module)", "python3", func(runTools) []string {
		return []string{"python3", "-c", "import socket; s = socket.create_connection(('" + runSrvAddr + "', 7019)); s.sendall(b'x\\n'); s.recv(2)"}
	}},
	{"iperf3", "iperf3", func(runTools) []string {
		return []string{"iperf3", "-c", runSrvAddr, "-p", "7020", "-t", "1"}
	}},
}

// TestRunCoverage runs each program as a client bare, under "mptcp run"
// (every backend that works here, and with a destination port filter,
// which converts at connect) and under mptcpize (LD_PRELOAD), and
// counts the MP_CAPABLE SYN/ACKs its namespace receives: the coverage
// table of docs/run.md. mptcp run must cover every program, bare runs
// none; mptcpize's column is reported as found. A capture of the curl run
// under mptcp run shows the MP_CAPABLE option on the wire.
func TestRunCoverage(t *testing.T) {
	lab.RequireMPTCP(t)
	tools := buildRunTools(t)
	vias := backends(t)
	p := newRunPair(t)
	startServer(t, tools, p.srv, 7019, []string{})
	if _, err := exec.LookPath("iperf3"); err == nil {
		startIperf3(t, tools, p.srv, 7020)
	}
	wrappers := [][]string{nil}
	names := []string{"bare"}
	for _, via := range vias {
		wrappers = append(wrappers, []string{tools.mptcp, "run", "--via", via, "--"})
		names = append(names, "mptcp run --via "+via)
	}
	if slices.Contains(vias, "seccomp") {
		// With a filter, the socket is replaced when it connects.
		wrappers = append(wrappers, []string{tools.mptcp, "run", "--dst-port", "7019,7020", "--"})
		names = append(names, "mptcp run --dst-port (at connect)")
	}
	if _, err := exec.LookPath("mptcpize"); err == nil {
		wrappers = append(wrappers, []string{"mptcpize", "run"})
		names = append(names, "mptcpize run")
	}
	table := "| program | " + strings.Join(names, " | ") + " |\n|---" + strings.Repeat("|---", len(names)) + "|\n"
	for _, c := range coverageClients {
		if c.need != "" {
			if _, err := exec.LookPath(c.need); err != nil {
				t.Logf("%s not installed: left out", c.need)
				continue
			}
		}
		row := "| " + c.name + " |"
		for i, w := range wrappers {
			before := mibCounter(t, p.cli, "MPTcpExtMPCapableSYNACKRX")
			argv := append(append([]string{}, w...), c.argv(tools)...)
			out, err := p.cli.Exec(argv...)
			got := mibCounter(t, p.cli, "MPTcpExtMPCapableSYNACKRX") - before
			mark := "no"
			if got > 0 {
				mark = "yes"
			}
			if err != nil {
				mark += " (exit: " + strings.TrimSpace(lastLine(out)) + ")"
			}
			row += " " + mark + " |"
			switch {
			case i == 0 && got != 0:
				t.Errorf("%s without a wrapper opened %d MPTCP connections", c.name, got)
			case strings.HasPrefix(names[i], "mptcp run") && (got == 0 || err != nil):
				t.Errorf("%s under %s: %d MPTCP connections, err %v:\n%s", c.name, names[i], got, err, out)
			}
		}
		table += row + "\n"
	}
	t.Logf("coverage (MP_CAPABLE SYN/ACKs received by the client):\n%s", table)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// startIperf3 runs an iperf3 server under "mptcp run" in ns.
func startIperf3(t *testing.T, tools runTools, ns lab.Netns, port int) {
	t.Helper()
	cmd := ns.Command(tools.mptcp, "run", "--", "iperf3", "-s", "-p", strconv.Itoa(port))
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	lab.WaitFor(t, 20*time.Second, "iperf3 to listen", func() (bool, string) {
		ss, _ := ns.Exec("ss", "-Mltn")
		return strings.Contains(ss, fmt.Sprintf(":%d", port)), out.String() + ss
	})
}

// TestRunSubflowJoins: with a subflow endpoint on the client and limits on
// both sides, a connection made under "mptcp run" gets a second subflow.
func TestRunSubflowJoins(t *testing.T) {
	lab.RequireMPTCP(t)
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("needs iperf3")
	}
	tools := buildRunTools(t)
	via := backends(t)[0]
	p := newRunPair(t)
	p.srv.Run(t, tools.mptcp, "pm", "limits", "set", "subflows", "2", "add_addr_accepted", "2")
	p.cli.Run(t, tools.mptcp, "pm", "limits", "set", "subflows", "2", "add_addr_accepted", "2")
	p.cli.Run(t, tools.mptcp, "pm", "endpoint", "add", runCliAddr2, "dev", "h18c0", "subflow")
	if out := p.cli.Run(t, tools.mptcp, "run", "--check"); !strings.Contains(out, "1 subflow and 0 signal endpoints") {
		t.Errorf("mptcp run --check does not see the endpoint:\n%s", out)
	}
	startIperf3(t, tools, p.srv, 7022)
	p.cli.Run(t, tools.mptcp, "run", "--via", via, "--", "iperf3", "-c", runSrvAddr, "-p", "7022", "-t", "1")
	if n := mibCounter(t, p.cli, "MPTcpExtMPJoinSynAckRx"); n < 1 {
		t.Fatalf("no subflow joined (MPJoinSynAckRx %d)", n)
	}
}

// capture records the packets on dev in ns with tcpdump; the returned
// function stops it and counts the packets tshark matches to filter. Its ok
// is false (and the test says why in its log) when either tool is missing.
func capture(t *testing.T, ns lab.Netns, dev string) func(filter string) (int, bool) {
	t.Helper()
	for _, tool := range []string{"tcpdump", "tshark"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("no capture: %s is not installed", tool)
			return func(string) (int, bool) { return 0, false }
		}
	}
	file := filepath.Join(t.TempDir(), "run.pcap")
	cmd := ns.Command("tcpdump", "-i", dev, "--immediate-mode", "-U", "-w", file, "tcp")
	errOut := new(syncBuffer)
	cmd.Stderr = errOut
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lab.WaitFor(t, 20*time.Second, "tcpdump to start", func() (bool, string) {
		return strings.Contains(errOut.String(), "listening on"), errOut.String()
	})
	return func(filter string) (int, bool) {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		out, err := exec.Command("tshark", "-r", file, "-Y", filter).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return len(strings.Fields(strings.ReplaceAll(string(out), " ", ""))), true
	}
}

// TestRunCheck: "mptcp run --check" in a fresh namespace names every
// condition, the verifier's verdict on the program (which needs no
// attach), the program's load for the hook as it really goes here, and a
// conclusion that agrees with them.
func TestRunCheck(t *testing.T) {
	lab.RequireMPTCP(t)
	tools := buildRunTools(t)
	ns := lab.TempNetns(t, "urchk")
	// Started from a thread in the namespace, not through "ip netns
	// exec", whose fresh /sys has no cgroup hierarchy.
	var out string
	var err error
	ns.Do(func() error {
		b, cerr := exec.Command(tools.mptcp, "run", "--check").CombinedOutput()
		out, err = string(b), cerr
		return nil
	})
	for _, name := range []string{"cgroup v2", "BTF", "hook", "MPTCP", "privileges", "verifier", "program", "seccomp", "path manager"} {
		if !strings.Contains(out, "\n"+name+" ") && !strings.HasPrefix(out, name+" ") {
			t.Errorf("no %q line in:\n%s", name, out)
		}
	}
	// A fresh namespace has no endpoints: the path manager line fails,
	// and says what to do.
	if !strings.Contains(out, "FAIL  0 subflow and 0 signal endpoints") || !strings.Contains(out, "mptcp pm endpoint add") {
		t.Errorf("the path manager line does not say what is missing:\n%s", out)
	}
	if mptcpify.Verify(mptcpify.Target{CgroupID: 1}) == nil && !strings.Contains(out, "verifier      ok") {
		t.Errorf("the verifier takes the program, --check says otherwise:\n%s", out)
	}
	switch bpfErr := bpfUsable(); {
	case bpfErr == nil:
		if !strings.Contains(out, "=> mptcp run works here with the BPF hook") {
			t.Errorf("the hook works, --check says otherwise:\n%s", out)
		}
	case mptcpify.CheckSeccomp() == nil:
		if !strings.Contains(out, "program       FAIL  "+bpfErr.Error()) || !strings.Contains(out, "=> mptcp run -- COMMAND works here through seccomp") {
			t.Errorf("the hook fails with %q, --check says:\n%s", bpfErr, out)
		}
	default:
		if err == nil {
			t.Errorf("nothing works here, --check exits 0:\n%s", out)
		}
	}
}
