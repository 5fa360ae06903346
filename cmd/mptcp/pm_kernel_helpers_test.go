//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// The kernel tests run "mptcp pm" as a separate process inside a network
// namespace ("ip netns exec"). The test binary is that process: with this
// variable set it behaves as the mptcp command.
const execEnv = "MPTCP_PM_TEST_EXEC"

func init() {
	if os.Getenv(execEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
}

func selfExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// pmExec runs "mptcp pm ARGS" in ns and returns its exit status and outputs.
func pmExec(t *testing.T, ns lab.Netns, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return pmExecAs(t, ns, nil, args...)
}

// pmExecAs is pmExec with a command prefix inside the namespace, such as
// setpriv to drop privileges.
func pmExecAs(t *testing.T, ns lab.Netns, prefix []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return pmExecExe(t, ns, selfExe(t), prefix, args...)
}

func pmExecExe(t *testing.T, ns lab.Netns, exe string, prefix []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	argv := append([]string{"netns", "exec", ns.Name()}, prefix...)
	argv = append(append(argv, exe, "pm"), args...)
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.Env = append(os.Environ(), execEnv+"=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run mptcp pm %v: %v", args, err)
	}
	return code, o.String(), e.String()
}

// mustPM runs "mptcp pm ARGS" and fails the test unless it succeeds.
func mustPM(t *testing.T, ns lab.Netns, args ...string) string {
	t.Helper()
	code, out, errOut := pmExec(t, ns, args...)
	if code != 0 {
		t.Fatalf("mptcp pm %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// syncBuffer collects a process's output while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a long-running "mptcp pm" (monitor, daemon) or other command.
type proc struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	err    error
}

// startProc starts argv inside ns; the test's cleanup stops it.
func startProc(t *testing.T, ns lab.Netns, env []string, argv ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = ns.Command(argv...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop() })
	return p
}

// startPM starts "mptcp pm ARGS" inside ns.
func startPM(t *testing.T, ns lab.Netns, args ...string) *proc {
	t.Helper()
	return startProc(t, ns, []string{execEnv + "=1"}, append([]string{selfExe(t), "pm"}, args...)...)
}

// stop ends the process with SIGTERM (SIGKILL after 10s) and returns its
// exit status. "ip netns exec" execs the command, so the signal reaches it.
func (p *proc) stop() int {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// waitOutput waits until the process's stderr (or stdout) contains s.
func (p *proc) waitOutput(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	lab.WaitFor(t, timeout, fmt.Sprintf("output %q", s), func() (bool, string) {
		select {
		case <-p.done:
			return false, fmt.Sprintf("process exited (%v)\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout.String(), p.stderr.String())
		default:
		}
		all := p.stderr.String() + p.stdout.String()
		return strings.Contains(all, s), all
	})
}

// echoServer accepts connections on ln and echoes what they send.
func echoServer(ln net.Listener) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// A plain read/write loop rather than io.Copy, which
				// between two TCP sockets uses splice(2): these tests
				// are about subflows, not the kernel's MPTCP splice.
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				c.Close()
			}()
		}
	}()
}

// transfer sends n bytes of a pattern over an echoing connection and
// checks that exactly the same bytes come back.
func transfer(t *testing.T, c net.Conn, n int, seed byte) {
	t.Helper()
	data := make([]byte, n)
	x := uint32(seed) + 1
	for i := range data {
		x = x*1664525 + 1013904223
		data[i] = byte(x >> 24)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	defer c.SetDeadline(time.Time{})
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		werr <- err
	}()
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read back %d bytes: %v", n, err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write %d bytes: %v", n, err)
	}
	if !bytes.Equal(got, data) {
		i := 0
		for i < n && got[i] == data[i] {
			i++
		}
		end := min(i+32, n)
		j := bytes.Index(data, got[i:min(i+64, n)])
		t.Fatalf("the %d bytes echoed differ from those sent, from offset %d: got %x, want %x (got[%d:] found in data at %d)", n, i, got[i:end], data[i:end], i, j)
	}
}

// tcpPair is one TCP socket (an MPTCP subflow) as ss shows it.
type tcpPair struct{ local, remote netip.AddrPort }

// subflows lists the established TCP sockets of ns towards port: the
// subflows of the MPTCP connections to it.
func subflows(t *testing.T, ns lab.Netns, port int) []tcpPair {
	t.Helper()
	out := ns.Run(t, "ss", "-tnH", "state", "established", fmt.Sprintf("( dport = :%d )", port))
	var ps []tcpPair
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		ps = append(ps, tcpPair{parseSSAddr(t, f[2]), parseSSAddr(t, f[3])})
	}
	return ps
}

// parseSSAddr reads "10.0.0.1%eth0:5000" (the %dev of a socket bound to
// an interface) or "[2001:db8::1]:80".
func parseSSAddr(t *testing.T, s string) netip.AddrPort {
	i := strings.LastIndexByte(s, ':')
	host, port := s[:i], s[i+1:]
	host = strings.Trim(host, "[]")
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	ap, err := netip.ParseAddrPort(netip.AddrPortFrom(netip.MustParseAddr(host), 0).Addr().String() + ":" + port)
	if err != nil {
		t.Fatalf("ss address %q: %v", s, err)
	}
	return ap
}

// counter reads one of the kernel's MIB counters (nstat) in ns.
func counter(t *testing.T, ns lab.Netns, name string) int {
	t.Helper()
	out := ns.Run(t, "nstat", "-asz", name)
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == name {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("nstat %s: %q", name, line)
			}
			return n
		}
	}
	t.Fatalf("nstat has no %s:\n%s", name, out)
	return 0
}

var ssSubflows = regexp.MustCompile(`subflows:(\d+)`)

// mptcpExtraSubflows reads "subflows:N" of the only MPTCP connection in ns
// from ss -M (the kernel's count of subflows beyond the first).
func mptcpExtraSubflows(t *testing.T, ns lab.Netns) (int, string) {
	t.Helper()
	out := ns.Run(t, "ss", "-MinH", "state", "established")
	m := ssSubflows.FindStringSubmatch(out)
	if m == nil {
		return 0, out
	}
	n, _ := strconv.Atoi(m[1])
	return n, out
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
}
