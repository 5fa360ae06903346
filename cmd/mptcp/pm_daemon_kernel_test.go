//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// twoPaths builds a client and a server joined by two veth links:
// ca 10.10.1.2 - sa 10.10.1.1 and cb 10.10.2.2 - sb 10.10.2.1.
func twoPaths(t *testing.T, name string) (cli, srv lab.Netns) {
	t.Helper()
	lab.RequireMPTCP(t)
	requireTools(t, "ss", "nstat", "sysctl")
	cli, srv = lab.TempNetns(t, name+"-cli"), lab.TempNetns(t, name+"-srv")
	lab.Veth(t, cli, "ca", "10.10.1.2/24", srv, "sa", "10.10.1.1/24")
	lab.Veth(t, cli, "cb", "10.10.2.2/24", srv, "sb", "10.10.2.1/24")
	// The server keeps the kernel's path manager; it must accept joins.
	srv.Run(t, "ip", "mptcp", "limits", "set", "subflows", "8", "add_addr_accepted", "8")
	return cli, srv
}

// startDaemon runs "mptcp pm daemon ARGS" in ns until the test ends and
// waits until it manages new connections.
func startDaemon(t *testing.T, ns lab.Netns, args ...string) *proc {
	t.Helper()
	d := startPM(t, ns, append([]string{"daemon"}, args...)...)
	d.waitOutput(t, "path manager ready", 10*time.Second)
	if pm := strings.TrimSpace(ns.Run(t, "sysctl", "-n", "net.mptcp.path_manager")); pm != "userspace" {
		t.Fatalf("path_manager = %q while the daemon runs", pm)
	}
	return d
}

// stopDaemon stops it and checks that the path manager is restored.
func stopDaemon(t *testing.T, ns lab.Netns, d *proc) {
	t.Helper()
	if code := d.stop(); code != 0 {
		t.Errorf("daemon exit status %d:\n%s", code, d.stderr.String())
	}
	if pm := strings.TrimSpace(ns.Run(t, "sysctl", "-n", "net.mptcp.path_manager")); pm != "kernel" {
		t.Errorf("path_manager = %q after the daemon stopped, want kernel", pm)
	}
}

func pairs(ps []tcpPair) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s -> %s\n", p.local, p.remote)
	}
	return b.String()
}

// pathSet lists the (local address, remote address) of each subflow, sorted.
func pathSet(ps []tcpPair) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.local.Addr().String()+">"+p.remote.Addr().Unmap().String())
	}
	slices.Sort(out)
	return out
}

func TestPMKernelDaemonFullmesh(t *testing.T) {
	cli, srv := twoPaths(t, "fm")
	// The server announces its second address, so that the client knows
	// two peer addresses: fullmesh makes 2 x 2 subflows.
	srv.Run(t, "ip", "mptcp", "endpoint", "add", "10.10.2.1", "signal")
	d := startDaemon(t, cli, "--policy", "fullmesh")

	ln := srv.ListenMPTCP(t, "0.0.0.0:7300")
	echoServer(ln)
	conn := cli.DialMPTCP(t, "10.10.1.1:7300")
	// One byte each way makes the connection fully established (the
	// kernel announces ESTABLISHED then), so the daemon creates subflows.
	transfer(t, conn, 1, 0)

	all := []string{"10.10.1.2>10.10.1.1", "10.10.1.2>10.10.2.1", "10.10.2.2>10.10.1.1", "10.10.2.2>10.10.2.1"}
	lab.WaitFor(t, 15*time.Second, "a subflow per path", func() (bool, string) {
		ps := subflows(t, cli, 7300)
		return slices.Equal(pathSet(ps), all), pairs(ps) + d.stderr.String()
	})
	// The first bytes go once the subflows exist: on Linux 6.18 a few KB
	// of stream data were lost, rarely, when the kernel created subflows
	// during a transfer (see TestPMKernelStressDataIntegrity, MPTCP_PM_STRESS=N); that is the
	// kernel's data path, not what this test is about.
	transfer(t, conn, 1<<20, 1)
	// A join the daemon had to retry counts too, hence "at least".
	lab.WaitFor(t, 10*time.Second, "3 joins counted by the server and ss -M", func() (bool, string) {
		joins := counter(t, srv, "MPTcpExtMPJoinAckRx")
		extra, ss := mptcpExtraSubflows(t, cli)
		return joins >= 3 && extra == 3, fmt.Sprintf("MPJoinAckRx %d\n%s%s", joins, ss, d.stderr.String())
	})
	txA, txB := txBytes(t, cli, "ca"), txBytes(t, cli, "cb")
	transfer(t, conn, 8<<20, 2)
	// Both interfaces carried the data, not only the initial one.
	dA, dB := txBytes(t, cli, "ca")-txA, txBytes(t, cli, "cb")-txB
	t.Logf("8 MiB echoed: ca sent %d bytes, cb %d", dA, dB)
	if dA < 256<<10 || dB < 256<<10 {
		t.Errorf("ca sent %d bytes and cb %d: a path is unused", dA, dB)
	}
	logs := d.stderr.String()
	for _, want := range []string{"address not used: loopback address", "create subflow"} {
		if !strings.Contains(logs, want) {
			t.Errorf("daemon log lacks %q:\n%s", want, logs)
		}
	}

	// Interface down: its subflows go.
	t.Log("cb down")
	cli.Run(t, "ip", "link", "set", "cb", "down")
	lab.WaitFor(t, 10*time.Second, "the subflows on cb to go", func() (bool, string) {
		ps := subflows(t, cli, 7300)
		want := []string{"10.10.1.2>10.10.1.1", "10.10.1.2>10.10.2.1"}
		extra, ss := mptcpExtraSubflows(t, cli)
		return slices.Equal(pathSet(ps), want) && extra == 1, pairs(ps) + ss + d.stderr.String()
	})
	d.waitOutput(t, "interface cb is down", time.Second)
	transfer(t, conn, 1<<20, 3)

	// Interface up: subflows on it again.
	t.Log("cb up")
	cli.Run(t, "ip", "link", "set", "cb", "up")
	lab.WaitFor(t, 15*time.Second, "the subflows on cb to come back", func() (bool, string) {
		ps := subflows(t, cli, 7300)
		return slices.Equal(pathSet(ps), all), pairs(ps) + d.stderr.String()
	})
	lab.WaitFor(t, 10*time.Second, "2 more joins counted by the server", func() (bool, string) {
		joins := counter(t, srv, "MPTcpExtMPJoinAckRx")
		extra, ss := mptcpExtraSubflows(t, cli)
		return joins >= 5 && extra == 3, fmt.Sprintf("MPJoinAckRx %d\n%s", joins, ss)
	})
	t.Log("subflows back")
	transfer(t, conn, 8<<20, 4)
	conn.Close()
	stopDaemon(t, cli, d)
}

func TestPMKernelDaemonNdiffports(t *testing.T) {
	cli, srv := twoPaths(t, "nd")
	cfg := filepath.Join(t.TempDir(), "pm.yaml")
	if err := os.WriteFile(cfg, []byte("policy: ndiffports\nndiffports: 4\ninterfaces:\n  deny: [\"cb\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cli, "--config", cfg, "--json")

	ln := srv.ListenMPTCP(t, "0.0.0.0:7400")
	echoServer(ln)
	conn := cli.DialMPTCP(t, "10.10.1.1:7400")
	// One byte each way makes the connection fully established (the
	// kernel announces ESTABLISHED then), so the daemon creates subflows.
	transfer(t, conn, 1, 0)
	var ps []tcpPair
	lab.WaitFor(t, 15*time.Second, "4 subflows on one pair of addresses", func() (bool, string) {
		ps = subflows(t, cli, 7400)
		return len(ps) == 4, pairs(ps) + d.stderr.String()
	})
	// The first bytes go once the subflows exist: on Linux 6.18 a few KB
	// of stream data were lost, rarely, when the kernel created subflows
	// during a transfer (see TestPMKernelStressDataIntegrity, MPTCP_PM_STRESS=N); that is the
	// kernel's data path, not what this test is about.
	transfer(t, conn, 1<<20, 1)
	ports := map[uint16]bool{}
	for _, p := range ps {
		if p.local.Addr() != netip.MustParseAddr("10.10.1.2") || p.remote != netip.MustParseAddrPort("10.10.1.1:7400") {
			t.Errorf("subflow %s -> %s is not on the initial pair", p.local, p.remote)
		}
		ports[p.local.Port()] = true
	}
	if len(ports) != 4 {
		t.Errorf("source ports not distinct:\n%s", pairs(ps))
	}
	// A join the daemon had to retry counts too, hence "at least".
	lab.WaitFor(t, 10*time.Second, "3 joins counted by the server and ss -M", func() (bool, string) {
		joins := counter(t, srv, "MPTcpExtMPJoinAckRx")
		extra, ss := mptcpExtraSubflows(t, cli)
		return joins >= 3 && extra == 3, fmt.Sprintf("MPJoinAckRx %d\n%s%s", joins, ss, d.stderr.String())
	})
	transfer(t, conn, 8<<20, 2)
	// The deny list is applied and said.
	if logs := d.stderr.String(); !strings.Contains(logs, `interface cb matches deny pattern \"cb\"`) {
		t.Errorf("daemon log lacks the deny decision:\n%s", logs)
	}
	conn.Close()
	stopDaemon(t, cli, d)
}

// txBytes reads an interface's transmitted byte counter in ns.
func txBytes(t *testing.T, ns lab.Netns, dev string) int {
	t.Helper()
	out := strings.TrimSpace(ns.Run(t, "cat", "/sys/class/net/"+dev+"/statistics/tx_bytes"))
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("tx_bytes of %s: %q", dev, out)
	}
	return n
}

func TestPMKernelDaemonServerAnnounces(t *testing.T) {
	cli, srv := twoPaths(t, "an")
	// The client keeps the kernel's path manager, which joins what the
	// server announces.
	cli.Run(t, "ip", "mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "4")
	d := startDaemon(t, srv, "--policy", "none", "--announce", "10.10.2.1,:7501", "--backup", "sb")

	ln := srv.ListenMPTCP(t, "0.0.0.0:7500")
	echoServer(ln)
	// Joins to the announced port need an MPTCP listening socket bound to
	// that very address and port; the kernel attaches them to the
	// connection by token.
	srv.ListenMPTCP(t, "10.10.1.1:7501")
	conn := cli.DialMPTCP(t, "10.10.1.1:7500")
	// One byte each way makes the connection fully established, so the
	// daemon announces; the first megabyte goes once the joins exist (a
	// kernel-to-kernel transfer lost 180 KB of stream data once in CI
	// while the kernel's client joined the announced addresses: the Linux
	// 6.18 loss TestPMKernelStressDataIntegrity reproduces).
	transfer(t, conn, 1, 0)

	remotes := func() []string {
		var out []string
		for _, port := range []int{7500, 7501} {
			for _, p := range subflows(t, cli, port) {
				out = append(out, p.remote.String())
			}
		}
		slices.Sort(out)
		return out
	}
	want := []string{"10.10.1.1:7500", "10.10.1.1:7501", "10.10.2.1:7500"}
	lab.WaitFor(t, 15*time.Second, "subflows to the announced address and port", func() (bool, string) {
		got := remotes()
		return slices.Equal(got, want), strings.Join(got, "\n") + "\n" + d.stderr.String()
	})
	transfer(t, conn, 1<<20, 1)
	transfer(t, conn, 4<<20, 2)
	logs := d.stderr.String()
	for _, w := range []string{
		"announce address token=", "10.10.2.1:0 (id", "10.10.1.1:7501 (id",
		"set backup=true", // the join that arrived on sb, a backup interface
	} {
		if !strings.Contains(logs, w) {
			t.Errorf("daemon log lacks %q:\n%s", w, logs)
		}
	}
	conn.Close()
	stopDaemon(t, srv, d)
}
