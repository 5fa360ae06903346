//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/mptcpify"
	"golang.org/x/sys/unix"
)

// TestRunFilterErrors: filters the chosen backend cannot apply, and bad
// values, get one line naming the flag.
func TestRunFilterErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--via", "bpf", "--dst-port", "443", "--", "true"}, "mptcp run: " + errFiltersNeedSeccomp.Error()},
		{[]string{"--cgroup", "/x", "--side", "client"}, "mptcp run: " + errFiltersNeedSeccomp.Error()},
		{[]string{"--dst-port", "0", "--", "true"}, `mptcp run: --dst-port: bad port "0" (want 1 to 65535)`},
		{[]string{"--dst-port", "9000-8000", "--", "true"}, `mptcp run: --dst-port: bad port range "9000-8000"`},
		{[]string{"--dst", "10.0.0.0/33", "--", "true"}, `mptcp run: --dst: bad prefix "10.0.0.0/33" (want an address or ADDRESS/BITS)`},
		{[]string{"--side", "sideways", "--", "true"}, `mptcp run: --side: unknown side "sideways" (want client, server or both)`},
		{[]string{"--check", "--dst", "10.0.0.1"}, "mptcp run: --detach, --list and --check take no --side, --dst-port or --dst"},
	} {
		code, _, errOut := runCmd(append([]string{"run"}, c.args...)...)
		if code != 2 || errOut != c.want+"\n" {
			t.Errorf("mptcp run %q:\n exit %d, stderr %q\n want exit 2, %q", c.args, code, errOut, c.want+"\n")
		}
	}
}

// Addresses of the filter tests: the server has two, in different /30s.
const (
	urCliAddr  = "10.28.0.1"
	urSrvAddr  = "10.28.0.2"
	urSrvAddr2 = "10.28.0.6"
)

// TestRunFilters: with --dst-port, --dst and --side the seccomp backend
// converts a socket when it connects or listens. A static Go program
// (non-blocking connect) dialing two destinations gets MPTCP for the one
// the filter names only, keeping its descriptor's O_NONBLOCK and
// close-on-exec flags; a Python program's blocking socket keeps the
// options it set and the address it bound before connecting; under
// --side server a program's listener becomes MPTCP and its outgoing
// connection does not. Processes outside stay TCP.
func TestRunFilters(t *testing.T) {
	lab.RequireMPTCP(t)
	if err := mptcpify.CheckSeccomp(); err != nil {
		t.Skipf("the filters need the seccomp backend: %v", err)
	}
	tools := buildRunTools(t)
	cli, srv := lab.TempNetns(t, "urcli"), lab.TempNetns(t, "ursrv")
	lab.Veth(t, cli, "urc0", urCliAddr+"/24", srv, "urs0", urSrvAddr+"/24")
	srv.Run(t, "ip", "addr", "add", urSrvAddr2+"/24", "dev", "urs0")
	cli.Run(t, "ip", "addr", "add", "fd28::1/64", "dev", "urc0", "nodad")
	srv.Run(t, "ip", "addr", "add", "fd28::2/64", "dev", "urs0", "nodad")
	srv.Run(t, "ip", "addr", "add", "fd28::6/64", "dev", "urs0", "nodad")
	// MPTCP servers (under mptcp run: Go's own listener default may change).
	startServer(t, tools, srv, 7031, []string{})
	startServer(t, tools, srv, 7032, []string{})
	capable := func() int { return mibCounter(t, cli, "MPTcpExtMPCapableSYNACKRX") }
	mustHave := func(t *testing.T, out string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(out, l+"\n") {
				t.Errorf("no line %q in:\n%s", l, out)
			}
		}
	}

	// dialBoth dials a then b under "mptcp run" with filter: only b's
	// connection must be MPTCP, its descriptor still non-blocking and
	// close-on-exec.
	dialBoth := func(t *testing.T, filter []string, a, b string) {
		before := capable()
		argv := append(append([]string{tools.mptcp, "run"}, filter...), "--", tools.plainnet, "dial", a, b)
		mustHave(t, cli.Run(t, argv...), "dial protocol 6 nonblock cloexec "+a, "dial protocol 262 nonblock cloexec "+b)
		if n := capable() - before; n != 1 {
			t.Errorf("%d MP_CAPABLE SYN/ACKs received, want 1 (%s's)", n, b)
		}
	}
	t.Run("dst-port", func(t *testing.T) {
		dialBoth(t, []string{"--dst-port", "7032,8000-9000"}, urSrvAddr+":7031", urSrvAddr+":7032")
		// Outside mptcp run: TCP.
		mustHave(t, cli.Run(t, tools.plainnet, "dial", urSrvAddr+":7032"), "dial protocol 6 nonblock cloexec "+urSrvAddr+":7032")
	})
	t.Run("dst", func(t *testing.T) {
		dialBoth(t, []string{"--dst", "10.28.0.4/30"}, urSrvAddr+":7031", urSrvAddr2+":7031")
	})
	t.Run("dst IPv6", func(t *testing.T) {
		dialBoth(t, []string{"--dst", "fd28::4/126", "--family", "inet6"}, "[fd28::2]:7031", "[fd28::6]:7031")
	})

	t.Run("MPTCP disabled", func(t *testing.T) {
		// The replacement fails: the connection goes on, TCP, and -v
		// says why.
		cli.Run(t, "sysctl", "-qw", "net.mptcp.enabled=0")
		defer cli.Run(t, "sysctl", "-qw", "net.mptcp.enabled=1")
		out := cli.Run(t, tools.mptcp, "run", "-v", "--dst-port", "7032", "--", tools.plainnet, "dial", urSrvAddr+":7032")
		mustHave(t, out, "dial protocol 6 nonblock cloexec "+urSrvAddr+":7032",
			"mptcp run: 0 sockets made MPTCP, 0 left TCP by the filter, 1 left TCP because they could not be replaced")
		if !strings.Contains(out, "mptcp run: left TCP: create an MPTCP socket: ") {
			t.Errorf("-v does not say why the socket was left TCP:\n%s", out)
		}
	})
	t.Run("python sockets", func(t *testing.T) {
		if _, err := exec.LookPath("python3"); err != nil {
			t.Skip("needs python3")
		}
		refused := cli.Do(func() error { return mptcpRefuses(unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 5000) })
		// One program, three sockets to the selected port:
		// a. blocking, with options, bound before connect() without
		//    SO_REUSEADDR (the replacement must take the port over):
		//    MPTCP, with all of it;
		// b. with TCP_USER_TIMEOUT, which MPTCP refuses: TCP, keeping it;
		// c. registered with epoll before connect() (as nginx does with
		//    its upstream sockets): a replacement would never be
		//    reported ready, so TCP, and ready.
		script := `import select, socket
dst = ("` + urSrvAddr + `", 7031)
g = lambda s, level, opt: s.getsockopt(level, opt)
a = socket.socket()
a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
a.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
a.bind(("` + urCliAddr + `", 0))
port = a.getsockname()[1]
a.connect(dst)
a.sendall(b"x\n"); a.recv(2)
print("a protocol", g(a, socket.SOL_SOCKET, socket.SO_PROTOCOL), "nodelay", g(a, socket.IPPROTO_TCP, socket.TCP_NODELAY),
      "keepalive", g(a, socket.SOL_SOCKET, socket.SO_KEEPALIVE), "reuseaddr", g(a, socket.SOL_SOCKET, socket.SO_REUSEADDR),
      "same port", a.getsockname()[1] == port, "blocking", a.getblocking(), "cloexec", not a.get_inheritable())
b = socket.socket(); b.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 5000)
b.connect(dst)
print("b protocol", g(b, socket.SOL_SOCKET, socket.SO_PROTOCOL), "user timeout", g(b, socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT))
c = socket.socket(); c.setblocking(False)
e = select.epoll(); e.register(c.fileno(), select.EPOLLOUT)
try: c.connect(dst)
except BlockingIOError: pass
print("c protocol", g(c, socket.SOL_SOCKET, socket.SO_PROTOCOL), "ready", len(e.poll(10)) > 0)
`
		out := cli.Run(t, tools.mptcp, "run", "-v", "--dst-port", "7031", "--", "python3", "-c", script)
		mustHave(t, out, "a protocol 262 nodelay 1 keepalive 1 reuseaddr 0 same port True blocking True cloexec True",
			"c protocol 6 ready True")
		if !strings.Contains(out, "was registered with epoll") {
			t.Errorf("-v does not say why socket c was left TCP:\n%s", out)
		}
		if refused != nil {
			t.Logf("socket b not checked: %v", refused)
			return
		}
		mustHave(t, out, "b protocol 6 user timeout 5000",
			"mptcp run: 1 sockets made MPTCP, 0 left TCP by the filter, 2 left TCP because they could not be replaced")
		if !strings.Contains(out, "MPTCP refuses TCP_USER_TIMEOUT 5000") {
			t.Errorf("-v does not say why socket b was left TCP:\n%s", out)
		}
	})

	t.Run("server side", func(t *testing.T) {
		// Go listeners are MPTCP by default since Go 1.24: this one is
		// told not to be, so that what mptcp run does shows.
		cmd := cli.Command(tools.mptcp, "run", "--side", "server", "--",
			tools.plainnet, "both", ":7033", urSrvAddr+":7031")
		cmd.Env = append(os.Environ(), "GODEBUG=multipathtcp=0")
		out := new(syncBuffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmd.WaitDelay = 10 * time.Second
		var werr error
		exited := make(chan struct{})
		go func() { werr = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		lab.WaitFor(t, 20*time.Second, "the program to listen and dial", func() (bool, string) {
			return strings.Contains(out.String(), "dial protocol"), out.String()
		})
		if ss := cli.Run(t, "ss", "-Mltn"); !strings.Contains(ss, ":7033") {
			t.Errorf("ss -M shows no MPTCP listener on 7033:\n%s", ss)
		}
		// An MPTCP client from the server's namespace.
		mustHave(t, srv.Run(t, tools.mptcp, "run", "--", tools.plainnet, "dial", urCliAddr+":7033"),
			"dial protocol 262 nonblock cloexec "+urCliAddr+":7033")
		select {
		case <-exited:
			if werr != nil {
				t.Fatalf("the program under mptcp run --side server: %v\n%s", werr, out)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("the program did not end after its one connection:\n%s", out)
		}
		mustHave(t, out.String(), "listen protocol 262", "dial protocol 6 nonblock cloexec "+urSrvAddr+":7031", "accept protocol 262")
	})
}

// mptcpRefuses returns nil if an MPTCP socket refuses the option, and
// says otherwise (a kernel newer than the test knows).
func mptcpRefuses(level, opt, v int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_MPTCP)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if unix.SetsockoptInt(fd, level, opt, v) == nil {
		return fmt.Errorf("this kernel's MPTCP takes option %d:%d", level, opt)
	}
	return nil
}
