//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// exists reports whether a namespace name is in /run/netns.
func exists(n Netns) bool {
	_, err := os.Stat("/run/netns/" + string(n))
	return err == nil
}

// TestNetns checks a namespace's name, that commands, functions and
// sysctls run inside it and not on the host, and that Delete removes it.
func TestNetns(t *testing.T) {
	Require(t)
	n, err := NewNetns("x")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Delete()
	if pid, ok := creator(string(n)); !ok || pid != os.Getpid() || !strings.HasPrefix(string(n), Prefix) {
		t.Errorf("name %q does not carry the prefix and this process's id", n)
	}
	host, err := os.ReadFile("/proc/sys/net/ipv4/tcp_rmem")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Sysctl("net.ipv4.tcp_rmem=4096 131072 1048576"); err != nil {
		t.Fatal(err)
	}
	if got, err := n.GetSysctl("net.ipv4.tcp_rmem"); err != nil || strings.Join(strings.Fields(got), " ") != "4096 131072 1048576" {
		t.Errorf("tcp_rmem in the namespace = %q, %v", got, err)
	}
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_rmem"); string(now) != string(host) {
		t.Errorf("the host's tcp_rmem changed from %q to %q", host, now)
	}
	// Only loopback: the namespace is empty and its own.
	out := n.Run(t, "ip", "-o", "link", "show")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "lo:") {
		t.Errorf("links in a new namespace:\n%s", out)
	}
	// A socket opened in Do belongs to the namespace: a listener there is
	// not reachable from the host, but is from the namespace.
	var ln net.Listener
	if err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := n.Exec("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/"+fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)); err != nil {
		t.Errorf("the listener opened in Do is not in the namespace: %v", err)
	}
	if err := n.Do(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a panic in Do gave %v, want an error naming it", err)
	}
	if err := n.Delete(); err != nil {
		t.Fatal(err)
	}
	if exists(n) {
		t.Errorf("%s still exists after Delete", n)
	}
}

// TestSweep checks that Sweep removes the namespaces of a dead process
// and keeps those of live ones.
func TestSweep(t *testing.T) {
	Require(t)
	// A process that has ended: its id is free (until reused).
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	dead := c.Process.Pid
	if alive(dead) {
		t.Skipf("pid %d was reused at once", dead)
	}
	stale := Netns(fmt.Sprintf("%s%d-1s", Prefix, dead))
	mine := Netns(fmt.Sprintf("%s%d-999s", Prefix, os.Getpid()))
	for _, n := range []Netns{stale, mine} {
		if out, err := exec.Command("ip", "netns", "add", string(n)).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	t.Cleanup(func() {
		for _, n := range []Netns{stale, mine} {
			if exists(n) {
				n.Delete()
			}
		}
	})
	removed, err := Sweep()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, string(stale)) || exists(stale) {
		t.Errorf("Sweep removed %v; the dead process's %s exists: %v", removed, stale, exists(stale))
	}
	if slices.Contains(removed, string(mine)) || !exists(mine) {
		t.Errorf("Sweep removed this process's %s", mine)
	}
}

// TestTopologies builds each kind of topology over two paths and checks
// that every path carries IPv4 and IPv6 from its own source, that what
// leaves from path N's addresses takes path N, and that Close removes
// every namespace.
func TestTopologies(t *testing.T) {
	Require(t)
	for _, m := range []Middle{Direct, Router, Wire} {
		t.Run(m.String(), func(t *testing.T) {
			tp, err := Build(Config{Paths: 2, Middle: m})
			if err != nil {
				t.Fatal(err)
			}
			nss := tp.Namespaces()
			t.Cleanup(func() { tp.Close() })
			if m == Wire {
				// Nothing moves frames yet: the paths are dead.
				if err := tp.WaitReady(300 * time.Millisecond); err == nil {
					t.Error("a wire with nothing in the middle carries packets")
				}
				// Stand in for the emulator.
				if err := tp.BridgeWire(); err != nil {
					t.Fatal(err)
				}
				if err := tp.WaitReady(10 * time.Second); err != nil {
					t.Fatal(err)
				}
			} else if err := tp.BridgeWire(); err == nil {
				t.Errorf("BridgeWire accepted a %v topology", m)
			}
			for _, p := range tp.Paths {
				for _, v6 := range []bool{false, true} {
					// Every combination of source and destination leaves by
					// the source's path.
					for _, q := range tp.Paths {
						for _, dst := range []netip.Addr{q.Server.Get(v6), q.ServerStack.Get(v6)} {
							checkRoute(t, tp.Client, p.Client.Get(v6), dst, p.ClientIf)
						}
						for _, dst := range []netip.Addr{q.Client.Get(v6), q.ClientStack.Get(v6)} {
							checkRoute(t, tp.Server, p.Server.Get(v6), dst, p.ServerIf)
						}
					}
					if m == Router {
						checkRoute(t, tp.Middle, netip.Addr{}, p.ServerStack.Get(v6), p.MiddleServerIf)
						checkRoute(t, tp.Middle, netip.Addr{}, p.ClientStack.Get(v6), p.MiddleClientIf)
					}
				}
			}
			// A kernel TCP connection on each path and family, bound to
			// the path's addresses, carries data both ways.
			for _, p := range tp.Paths {
				for _, v6 := range []bool{false, true} {
					echoOnce(t, tp, p.Client.Get(v6), p.Server.Get(v6), false)
				}
			}
			if m == Wire {
				if err := tp.UnbridgeWire(); err != nil {
					t.Fatal(err)
				}
			}
			if err := tp.Close(); err != nil {
				t.Fatal(err)
			}
			for _, n := range nss {
				if exists(n) {
					t.Errorf("%s left after Close", n)
				}
			}
		})
	}
}

// checkRoute checks, with ip route get, that a packet from src to dst in n
// leaves by interface dev.
func checkRoute(t *testing.T, n Netns, src, dst netip.Addr, dev string) {
	t.Helper()
	args := []string{"ip", "-j", "route", "get", dst.String()}
	if src.IsValid() {
		args = append(args, "from", src.String())
	}
	out, err := n.Exec(args...)
	if err != nil {
		t.Error(err)
		return
	}
	var r []struct{ Dev string }
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r) != 1 {
		t.Errorf("ip route get: %v: %s", err, out)
		return
	}
	if r[0].Dev != dev {
		t.Errorf("in %s, %v -> %v leaves by %s, want %s", n, src, dst, r[0].Dev, dev)
	}
}

// echoOnce connects from src in the client to a kernel echo server at dst
// in the server (MPTCP sockets if mptcp) and checks that data comes back.
func echoOnce(t *testing.T, tp *Topology, src, dst netip.Addr, mptcp bool) {
	t.Helper()
	dialEcho(t, tp, src, dst, mptcp).Close()
}

// dialEcho is echoOnce that leaves the connection open.
func dialEcho(t *testing.T, tp *Topology, src, dst netip.Addr, mptcp bool) net.Conn {
	t.Helper()
	var ln net.Listener
	if err := tp.Server.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(mptcp)
		ln, err = lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(dst, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	var c net.Conn
	if err := tp.Client.Do(func() (err error) {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
		d.SetMultipathTCP(mptcp)
		c, err = d.Dial("tcp", ln.Addr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := fmt.Sprintf("hello from %v to %v", src, dst)
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Errorf("%v -> %v: echo %q, %v", src, dst, buf, err)
	}
	return c
}

// TestRateLimit checks that a rate-limited path gets its tbf qdiscs where
// the documentation says, with the configured rate.
func TestRateLimit(t *testing.T) {
	for _, m := range []Middle{Direct, Router} {
		t.Run(m.String(), func(t *testing.T) {
			tp := New(t, Config{Paths: 2, Middle: m, Links: []LinkConfig{{Rate: 50_000_000}}})
			p1, p2 := tp.Paths[0], tp.Paths[1]
			type ep struct {
				n   Netns
				ifc string
			}
			limited := []ep{{tp.Client, p1.ClientIf}, {tp.Server, p1.ServerIf}}
			free := []ep{{tp.Client, p2.ClientIf}, {tp.Server, p2.ServerIf}}
			if m == Router {
				limited = []ep{{tp.Middle, p1.MiddleClientIf}, {tp.Middle, p1.MiddleServerIf}}
				free = append(free, ep{tp.Client, p1.ClientIf}, ep{tp.Middle, p2.MiddleClientIf})
			}
			for _, e := range limited {
				if got := tbfRate(t, e.n, e.ifc); got != 50_000_000/8 {
					t.Errorf("%s %s: tbf rate %d bytes/s, want %d", e.n, e.ifc, got, 50_000_000/8)
				}
			}
			for _, e := range free {
				if got := tbfRate(t, e.n, e.ifc); got != 0 {
					t.Errorf("%s %s: tbf rate %d on an unlimited link", e.n, e.ifc, got)
				}
			}
			// Changing and removing the limit at run time.
			e := limited[0]
			if err := e.n.SetRate(e.ifc, LinkConfig{Rate: 10_000_000}); err != nil {
				t.Fatal(err)
			}
			if got := tbfRate(t, e.n, e.ifc); got != 10_000_000/8 {
				t.Errorf("after SetRate: %d bytes/s", got)
			}
			if err := e.n.ClearRate(e.ifc); err != nil {
				t.Fatal(err)
			}
			if got := tbfRate(t, e.n, e.ifc); got != 0 {
				t.Errorf("after ClearRate: %d bytes/s", got)
			}
			// The limited path still works.
			echoOnce(t, tp, p1.Client.V4, p1.Server.V4, false)
		})
	}
}

// tbfRate returns the rate in bytes per second of the tbf root qdisc on
// an interface, or 0 if there is none.
func tbfRate(t *testing.T, n Netns, ifc string) uint64 {
	t.Helper()
	out := n.Run(t, "tc", "-j", "qdisc", "show", "dev", ifc, "root")
	var qs []struct {
		Kind    string
		Options struct{ Rate uint64 }
	}
	if err := json.Unmarshal([]byte(out), &qs); err != nil {
		t.Fatalf("tc -j: %v: %s", err, out)
	}
	for _, q := range qs {
		if q.Kind == "tbf" {
			return q.Options.Rate
		}
	}
	return 0
}

// TestKernelMPTCP uses the MPTCP helpers: endpoint and limits in the
// namespaces make the kernel open a second subflow over path 2, which the
// server's MPTcpExt counters show.
func TestKernelMPTCP(t *testing.T) {
	tp := New(t, Config{Paths: 2})
	for _, n := range []Netns{tp.Client, tp.Server} {
		if err := n.MPTCPLimits(2, 2); err != nil {
			t.Fatal(err)
		}
	}
	p2 := tp.Paths[1]
	if err := tp.Client.AddMPTCPEndpoint(Endpoint{Addr: p2.Client.V4, Dev: p2.ClientIf, Flags: []string{"subflow"}}); err != nil {
		t.Fatal(err)
	}
	out := tp.Client.Run(t, "ip", "mptcp", "endpoint", "show")
	if !strings.Contains(out, p2.Client.V4.String()) || !strings.Contains(out, "subflow") {
		t.Errorf("endpoints: %s", out)
	}
	before, err := tp.Server.Nstat()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := before["MPTcpExtMPJoinSynRx"]; !ok {
		t.Fatalf("nstat has no MPTcpExtMPJoinSynRx: %d counters", len(before))
	}
	c := dialEcho(t, tp, tp.Paths[0].Client.V4, tp.Paths[0].Server.V4, true)
	defer c.Close()
	// The join is asynchronous: wait for the counter.
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, err := tp.Server.Nstat()
		if err != nil {
			t.Fatal(err)
		}
		if after["MPTcpExtMPCapableSYNRX"] > before["MPTcpExtMPCapableSYNRX"] && after["MPTcpExtMPJoinSynRx"] > before["MPTcpExtMPJoinSynRx"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server counters: MPCapableSYNRX %d -> %d, MPJoinSynRx %d -> %d; want both to grow",
				before["MPTcpExtMPCapableSYNRX"], after["MPTcpExtMPCapableSYNRX"], before["MPTcpExtMPJoinSynRx"], after["MPTcpExtMPJoinSynRx"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tp.Client.FlushMPTCPEndpoints(); err != nil {
		t.Fatal(err)
	}
}

// TestStackInterface checks that a TUN created for a user-space stack
// lives in the side's namespace, not on the host, and takes the stack
// addresses' routes.
func TestStackInterface(t *testing.T) {
	tp := New(t, Config{Paths: 2})
	ifc, err := tp.StackInterface(tp.Server, "ustack0")
	if err != nil {
		t.Fatal(err)
	}
	defer ifc.Device.Close()
	if _, err := exec.Command("ip", "link", "show", "ustack0").CombinedOutput(); err == nil {
		t.Error("ustack0 exists on the host")
	}
	tp.Server.Run(t, "ip", "link", "show", "ustack0")
	for _, p := range tp.Paths {
		for _, v6 := range []bool{false, true} {
			checkRoute(t, tp.Server, netip.Addr{}, p.ServerStack.Get(v6), "ustack0")
			if !slices.Contains(ifc.Prefixes, host(p.ServerStack.Get(v6))) {
				t.Errorf("prefixes %v lack %v", ifc.Prefixes, p.ServerStack.Get(v6))
			}
		}
	}
	if ifc.MTU != 1500 || ifc.Device.BatchSize() < 1 {
		t.Errorf("MTU %d, batch size %d", ifc.MTU, ifc.Device.BatchSize())
	}
	if _, err := tp.StackInterface(tp.Client, "ustack1", 7); err == nil {
		t.Error("StackInterface accepted path 7 of 2")
	}
}

// TestCleanupAfterPanic runs a test that panics in a child process and
// checks that its namespaces are gone; and kills another child with
// SIGKILL, which runs no cleanup, and checks that Sweep removes what it
// left.
func TestCleanupAfterPanic(t *testing.T) {
	Require(t)
	if os.Getenv("LAB_CHILD") != "" {
		t.Skip("in the child")
	}
	for _, mode := range []string{"panic", "kill"} {
		t.Run(mode, func(t *testing.T) {
			c := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v")
			c.Env = append(os.Environ(), "LAB_CHILD="+mode)
			stdout, err := c.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			c.Stderr = c.Stdout
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			var names []Netns
			var all strings.Builder
			buf := make([]byte, 4096)
			for {
				k, err := stdout.Read(buf)
				all.Write(buf[:k])
				if i := strings.Index(all.String(), "NAMESPACES:"); i >= 0 && strings.Contains(all.String()[i:], "\n") {
					line := all.String()[i+len("NAMESPACES:"):]
					line = line[:strings.Index(line, "\n")]
					for _, f := range strings.Fields(line) {
						names = append(names, Netns(f))
					}
					break
				}
				if err != nil {
					t.Fatalf("child ended without naming its namespaces: %v\n%s", err, all.String())
				}
			}
			if mode == "kill" {
				c.Process.Kill()
			}
			go io.Copy(io.Discard, stdout)
			if err := c.Wait(); err == nil {
				t.Errorf("the child passed, want a panic or a kill")
			}
			if len(names) != 3 {
				t.Fatalf("child named %v", names)
			}
			if mode == "kill" {
				for _, n := range names {
					if !exists(n) {
						t.Errorf("%s gone although the killed child ran no cleanup", n)
					}
				}
				if _, err := Sweep(); err != nil {
					t.Error(err)
				}
			}
			for _, n := range names {
				if exists(n) {
					t.Errorf("%s left behind", n)
					n.Delete()
				}
			}
		})
	}
}

// TestChild is the child of TestCleanupAfterPanic.
func TestChild(t *testing.T) {
	mode := os.Getenv("LAB_CHILD")
	if mode == "" {
		t.Skip("run by TestCleanupAfterPanic")
	}
	tp := New(t, Config{Paths: 1, Middle: Router})
	var names []string
	for _, n := range tp.Namespaces() {
		names = append(names, string(n))
	}
	fmt.Println("NAMESPACES:", strings.Join(names, " "))
	if mode == "kill" {
		time.Sleep(time.Minute)
	}
	panic("the test fails hard")
}
