//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/observe"
)

// TestProxyTraceUser: "mptcp proxy client|server --stack user --trace
// DIR" (that end on our stack over two uplinks, the other on the kernel's
// MPTCP) relays curl's connection to an origin and writes the MPTCP
// connection's trace: that side, its events and its subflows' samples,
// which mptcp trace show and mptcp trace plot read.
func TestProxyTraceUser(t *testing.T) {
	lab.Require(t)
	needTools(t, "curl")
	for _, side := range []string{"client", "server"} {
		t.Run(side, func(t *testing.T) { proxyTraceUser(t, side) })
	}
}

func proxyTraceUser(t *testing.T, side string) {
	tp := lab.New(t, lab.Config{Paths: 2})
	for _, n := range []lab.Netns{tp.Client, tp.Server} {
		if err := n.MPTCPLimits(2, 2); err != nil {
			t.Fatal(err)
		}
		if err := n.Sysctl("net.ipv4.ip_forward=1"); err != nil {
			t.Fatal(err)
		}
	}
	srvAddr := tp.Paths[0].Server.V4.String()
	// The origin is beside the proxy client: the converter reaches it
	// over the first path.
	conv, origin := net.JoinHostPort(srvAddr, "5124"), net.JoinHostPort(tp.Paths[0].Client.V4.String(), "8080")
	var ln net.Listener
	if err := tp.Client.Do(func() (err error) { ln, err = net.Listen("tcp", origin); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a greeting to each client, held open for a few samples
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.WriteString(c, "hello through the converter\n")
				time.Sleep(300 * time.Millisecond)
				c.Close()
			}()
		}
	}()
	dir := t.TempDir()
	srvArgs := []string{"proxy", "server", "--listen", conv, "--key", "test-key"}
	cliArgs := []string{"proxy", "client", "--server", conv, "--socks", "127.0.0.1:1080", "--key", "test-key"}
	if side == "server" {
		// The stack's own addresses hide behind the uplinks' (NAT), which
		// forward the port it listens on.
		srvArgs[3] = ":5124"
		srvArgs = append(srvArgs, "--stack", "user", "--uplink", tp.Paths[0].ServerIf, "--uplink", tp.Paths[1].ServerIf, "--trace", dir)
	} else {
		cliArgs = append(cliArgs, "--stack", "user", "--uplink", tp.Paths[0].ClientIf, "--uplink", tp.Paths[1].ClientIf, "--trace", dir)
	}
	srv := startMptcpIn(t, tp.Server, srvArgs...)
	cli := startMptcpIn(t, tp.Client, cliArgs...)
	var out string
	var err error
	for try := 0; try < 50; try++ { // until both ends listen and the stack is up
		if out, err = tp.Client.Exec("curl", "-sS", "--max-time", "5", "--socks5", "127.0.0.1:1080", "telnet://"+origin); err == nil && out != "" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out != "hello through the converter\n" {
		t.Fatalf("through the proxies: %q, %v", out, err)
	}
	user := cli
	if side == "server" {
		user = srv
	}
	user.stop(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) == 0 {
		t.Fatalf("no trace in %s; proxy %s said:\n%s", dir, side, user.out.String())
	}
	recs, err := observe.ReadTraceFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var created, samples bool
	for _, r := range recs {
		created = created || r.Kind == observe.TraceKindEvent && bytes.Contains(r.Event, []byte(`"type":"created"`))
		samples = samples || r.Kind == observe.TraceKindSample
	}
	if recs[0].Side != side || !created || !samples {
		t.Errorf("trace %s: header %+v, CREATED event %v, samples %v", files[0], recs[0], created, samples)
	}
	// The tools read a live stack's trace as they read the simulator's.
	if code, out, errOut := runCmd("trace", "show", files[0]); code != 0 || !strings.Contains(out, side+" side") || !strings.Contains(out, "created 1") {
		t.Errorf("trace show: exit %d: %s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd("trace", "plot", "-o", filepath.Join(dir, "live.svg"), files[0]); code != 0 {
		t.Errorf("trace plot: exit %d: %s", code, errOut)
	}
}

// TestProxyTraceKernel: --trace with the kernel's MPTCP is refused in one
// line that says why, before anything starts.
func TestProxyTraceKernel(t *testing.T) {
	for _, end := range [][]string{{"server"}, {"client", "--server", "127.0.0.1:1"}} {
		code, _, errOut := runCmd(append(append([]string{"proxy"}, end...), "--trace", t.TempDir())...)
		if code != 2 || !strings.Contains(errOut, "--trace is for --stack user: the kernel's MPTCP keeps no per-connection trace") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("proxy %s --trace: exit %d, %q", end[0], code, errOut)
		}
	}
}

// mptcpProc is this test binary run as mptcp in a namespace.
type mptcpProc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// startMptcpIn runs "mptcp ARGS" as a process of its own in namespace n
// (so that every socket it opens, on any goroutine, is in n) until the
// test ends or stop is called.
func startMptcpIn(t *testing.T, n lab.Netns, args ...string) *mptcpProc {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &mptcpProc{cmd: n.Command(append([]string{self}, args...)...), out: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "MPTCP_TEST_AS_MAIN=1")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("mptcp %s:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// stop ends the process with SIGTERM, as an operator would, and waits for
// it, killing it if it takes over 10 s.
func (p *mptcpProc) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("mptcp did not stop within 10 s of SIGTERM")
	}
}
