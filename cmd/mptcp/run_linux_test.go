//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/mptcpify"
	"github.com/mptcp-go/mptcp/internal/nstest"
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
		build := func(out, pkg string) error {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
			}
			return nil
		}
		if runToolsErr = build(runToolsVal.mptcp, "."); runToolsErr == nil {
			runToolsErr = build(runToolsVal.plainnet, "./testdata/plainnet")
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
type runPair struct{ cli, srv *nstest.NS }

const (
	runSrvAddr  = "10.18.0.2"
	runCliAddr  = "10.18.0.1"
	runCliAddr2 = "10.18.0.3"
)

func newRunPair(t *testing.T) runPair {
	cli, srv := nstest.New(t, "h18cli"), nstest.New(t, "h18srv")
	nstest.Veth(t, cli, "h18c0", runCliAddr+"/24", srv, "h18s0", runSrvAddr+"/24")
	cli.MustRun("ip", "addr", "add", runCliAddr2+"/24", "dev", "h18c0")
	return runPair{cli: cli, srv: srv}
}

// mibCounter reads one MPTcpExt counter of a namespace.
func mibCounter(t *testing.T, ns *nstest.NS, name string) int {
	t.Helper()
	out := ns.MustRun("nstat", "-az", name)
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
func startServer(t *testing.T, tools runTools, ns *nstest.NS, port int, args []string) *syncBuffer {
	t.Helper()
	argv := []string{tools.plainnet, "listen", fmt.Sprintf(":%d", port)}
	if args != nil {
		argv = append(append(append([]string{tools.mptcp, "run"}, args...), "--"), argv...)
	}
	cmd := ns.Command(argv[0], argv[1:]...)
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
	nstest.WaitFor(t, 20*time.Second, "the server to listen", func() (bool, string) {
		s := out.String()
		return strings.Contains(s, "listen protocol"), s
	})
	return out
}

// TestRunConverts: a static Go binary, curl and iperf3 get MPTCP sockets
// under "mptcp run" and TCP ones without it, with either backend.
func TestRunConverts(t *testing.T) {
	nstest.Require(t)
	tools := buildRunTools(t)
	for _, via := range backends(t) {
		t.Run(via, func(t *testing.T) {
			p := newRunPair(t)
			startServer(t, tools, p.srv, 7018, []string{"--via", via})
			dst := runSrvAddr + ":7018"

			// Without mptcp run: TCP.
			out := p.cli.MustRun(tools.plainnet, "dial", dst)
			if !strings.Contains(out, "dial protocol 6") {
				t.Fatalf("plain client: %q, want protocol 6", out)
			}
			if n := mibCounter(t, p.cli, "MPTcpExtMPCapableSYNTX"); n != 0 {
				t.Fatalf("plain client sent %d MP_CAPABLE SYNs", n)
			}
			// With it: MPTCP end to end.
			out = p.cli.MustRun(tools.mptcp, "run", "--via", via, "--", tools.plainnet, "dial", dst)
			if !strings.Contains(out, "dial protocol 262") {
				t.Fatalf("client under mptcp run: %q, want protocol 262", out)
			}
			if n := mibCounter(t, p.cli, "MPTcpExtMPCapableSYNACKRX"); n != 1 {
				t.Fatalf("client got %d MP_CAPABLE SYN/ACKs, want 1", n)
			}
			if ss := p.srv.MustRun("ss", "-Mltn"); !strings.Contains(ss, ":7018") {
				t.Fatalf("ss -M shows no MPTCP listener:\n%s", ss)
			}
		})
	}
}
