//go:build linux

package proxy

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// TestServersBehindDNAT: two `mptcp proxy server`s behind one address,
// which a load balancer spreads over them with iptables DNAT, as
// docs/proxy.md sets them up: each server's namespace refuses joins to the
// initial address and port (net.mptcp.allow_join_initial_addr_port=0, the
// C flag in its MP_CAPABLE) and announces its own unicast address with a
// port that takes joins (a signal endpoint with a port), which the
// balancer routes untranslated. The client (kernel MPTCP, a second uplink)
// makes two downloads at once, which land one on each server, and each
// server's connections are joined from the second uplink at that server's
// address, none refused for an unknown token.
//
//	client 10.20.1.2, 10.20.2.2 -- lb (DNAT 10.20.9.9:5124 -> 10.21.1.2 | 10.21.2.2) -- server 1, server 2
func TestServersBehindDNAT(t *testing.T) {
	lab.Require(t)
	for _, tool := range []string{"curl", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	client, lb := lab.TempNetns(t, "cli"), lab.TempNetns(t, "lb")
	for p := 1; p <= 2; p++ {
		lab.Veth(t, client, fmt.Sprintf("c%d", p), fmt.Sprintf("10.20.%d.2/24", p), lb, fmt.Sprintf("u%d", p), fmt.Sprintf("10.20.%d.1/24", p))
		// Policy routing: each uplink's address leaves by its uplink.
		client.Run(t, "ip", "rule", "add", "from", fmt.Sprintf("10.20.%d.2", p), "table", strconv.Itoa(100+p))
		client.Run(t, "ip", "route", "add", "default", "via", fmt.Sprintf("10.20.%d.1", p), "table", strconv.Itoa(100+p))
	}
	client.Run(t, "ip", "route", "add", "default", "via", "10.20.1.1")
	if err := client.MPTCPLimits(2, 2); err != nil {
		t.Fatal(err)
	}
	if err := client.AddMPTCPEndpoint(lab.Endpoint{Addr: netip.MustParseAddr("10.20.2.2"), Flags: []string{"subflow"}}); err != nil {
		t.Fatal(err)
	}
	if err := lb.Sysctl("net.ipv4.ip_forward=1"); err != nil {
		t.Fatal(err)
	}
	const vip, origin = "10.20.9.9", "10.99.0.1:8080"
	var servers []lab.Netns
	for i := 1; i <= 2; i++ {
		srv := lab.TempNetns(t, fmt.Sprintf("srv%d", i))
		own := fmt.Sprintf("10.21.%d.2", i)
		lab.Veth(t, lb, fmt.Sprintf("s%d", i), fmt.Sprintf("10.21.%d.1/24", i), srv, "e0", own+"/24")
		srv.Run(t, "ip", "route", "add", "default", "via", fmt.Sprintf("10.21.%d.1", i))
		// The origin: one address, served in each server's namespace.
		srv.Run(t, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo")
		if err := srv.Sysctl("net.mptcp.allow_join_initial_addr_port=0"); err != nil {
			t.Fatal(err)
		}
		if err := srv.MPTCPLimits(2, 2); err != nil {
			t.Fatal(err)
		}
		if err := srv.AddMPTCPEndpoint(lab.Endpoint{Addr: netip.MustParseAddr(own), Port: 5125, Flags: []string{"signal"}}); err != nil {
			t.Fatal(err)
		}
		startHelper(t, srv, "origin", origin)
		startHelper(t, srv, "server", "0.0.0.0:5124", "127.0.0.1:5126")
		servers = append(servers, srv)
	}
	lb.Run(t, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", vip, "-p", "tcp", "--dport", "5124",
		"-m", "statistic", "--mode", "nth", "--every", "2", "--packet", "0", "-j", "DNAT", "--to-destination", "10.21.1.2")
	lb.Run(t, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", vip, "-p", "tcp", "--dport", "5124",
		"-j", "DNAT", "--to-destination", "10.21.2.2")
	startHelper(t, client, "client", vip+":5124", "127.0.0.1:1080", "127.0.0.1:1081", "127.0.0.1:1082")

	const size = 2 << 20
	url := fmt.Sprintf("http://%s/bytes/%d", origin, size)
	get := func() (string, error) {
		// At 2 MB/s: the connection lives a second, time enough for the
		// server's announcement and the client's join whatever the load.
		return client.Exec("curl", "-sS", "--max-time", "30", "--limit-rate", "2M", "-o", "/dev/null", "-w", "%{size_download}", "--socks5", "127.0.0.1:1080", url)
	}
	for try := 0; try < 50; try++ { // until the helpers listen: an Info-less probe through the front end
		if out, err := client.Exec("curl", "-sS", "--max-time", "5", "-o", "/dev/null", "--socks5", "127.0.0.1:1080", fmt.Sprintf("http://%s/bytes/1", origin)); err == nil || !strings.Contains(out, "onnect") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Two downloads at once: the balancer sends one to each server (the
	// probe above went to one of them, so the counts below allow for it).
	type res struct {
		out string
		err error
	}
	done := make(chan res, 2)
	for range 2 {
		go func() { out, err := get(); done <- res{out, err} }()
	}
	for i := 0; i < 2; i++ {
		r := <-done
		if r.err != nil || strings.TrimSpace(r.out) != strconv.Itoa(size) {
			t.Fatalf("download: %q, %v", r.out, r.err)
		}
	}
	total := map[string]uint64{}
	for i, srv := range servers {
		c, err := srv.Nstat()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("server %d: MPCapableSYNRX %d, MPJoinSynRx %d, MPJoinAckRx %d, MPJoinNoTokenFound %d", i+1,
			c["MPTcpExtMPCapableSYNRX"], c["MPTcpExtMPJoinSynRx"], c["MPTcpExtMPJoinAckRx"], c["MPTcpExtMPJoinNoTokenFound"])
		if c["MPTcpExtMPCapableSYNRX"] == 0 || c["MPTcpExtMPJoinAckRx"] == 0 || c["MPTcpExtMPJoinNoTokenFound"] != 0 {
			t.Errorf("server %d: want connections, joined, and no join for an unknown token", i+1)
		}
		for _, k := range []string{"MPTcpExtMPCapableSYNRX", "MPTcpExtMPJoinAckRx"} {
			total[k] += c[k]
		}
	}
	// The two downloads and the probe: three connections, and a join on
	// each of the downloads at least.
	if total["MPTcpExtMPCapableSYNRX"] != 3 || total["MPTcpExtMPJoinAckRx"] < 2 {
		t.Errorf("servers together: %v, want 3 connections and at least 2 joins", total)
	}
}
