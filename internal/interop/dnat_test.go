//go:build linux

package interop

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/link/tun"
)

// TestBehindDNAT: two of our servers behind one address, a load balancer
// that spreads connections to that address over them by iptables DNAT.
// Each server sets the C flag in MP_CAPABLE (Config.DenyJoinInitial: no
// join to the address the client dialled, which the balancer would send
// to either server) and announces its own unicast address with a port
// that takes joins only (Config.Announce), which the balancer routes
// without translation. The kernel's client opens two connections, one
// reaching each server, and joins each at the address its server
// announced: every join lands on the server holding its connection, and
// every byte arrives.
//
//	client 10.20.0.2 -- lb (DNAT 10.20.9.9:5201 -> 10.31.1.1 | 10.31.2.1) -- server 1 (our stack, 10.31.1.1)
//	                                                                      \- server 2 (our stack, 10.31.2.1)
func TestBehindDNAT(t *testing.T) {
	lab.Require(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("iptables is not installed (apt-get install iptables)")
	}
	client, lb := lab.TempNetns(t, "cli"), lab.TempNetns(t, "lb")
	lab.Veth(t, client, "c0", "10.20.0.2/24", lb, "l0", "10.20.0.1/24")
	client.Run(t, "ip", "route", "add", "default", "via", "10.20.0.1")
	if err := lb.Sysctl("net.ipv4.ip_forward=1"); err != nil {
		t.Fatal(err)
	}
	if err := client.MPTCPLimits(2, 2); err != nil {
		t.Fatal(err)
	}
	const vip, joinPort = "10.20.9.9", 5202
	var servers []*mptcp.Stack
	for i := 1; i <= 2; i++ {
		srv := lab.TempNetns(t, fmt.Sprintf("srv%d", i))
		link := fmt.Sprintf("10.21.%d", i)
		own := netip.MustParseAddr(fmt.Sprintf("10.31.%d.1", i))
		lab.Veth(t, lb, fmt.Sprintf("l%d", i), link+".1/24", srv, "e0", link+".2/24")
		lb.Run(t, "ip", "route", "add", own.String()+"/32", "via", link+".2")
		srv.Run(t, "ip", "route", "add", "default", "via", link+".1")
		if err := srv.Sysctl("net.ipv4.ip_forward=1"); err != nil {
			t.Fatal(err)
		}
		dev, err := srv.CreateTUN("tun0", 1500)
		if err != nil {
			t.Fatal(err)
		}
		srv.Run(t, "ip", "route", "add", own.String()+"/32", "dev", "tun0")
		st, err := mptcp.NewStack(mptcp.Config{DenyJoinInitial: true, Announce: []netip.AddrPort{netip.AddrPortFrom(own, joinPort)}})
		if err != nil {
			dev.Close()
			t.Fatal(err)
		}
		st.AddAddress(own)
		drv, err := tun.New(st.Link(), tun.Config{Interfaces: []tun.Interface{{Device: dev, MTU: 1500, Prefixes: []netip.Prefix{netip.PrefixFrom(own, 32)}}},
			OnError: func(err error) { t.Logf("driver %d: %v", i, err) }})
		if err != nil {
			dev.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { drv.Close() })
		ln, err := st.Listen("tcp4", ":5201")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go serveEcho(ln)
		servers = append(servers, st)
	}
	// The balancer: every other new connection to the VIP to each server.
	lb.Run(t, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", vip, "-p", "tcp", "--dport", "5201",
		"-m", "statistic", "--mode", "nth", "--every", "2", "--packet", "0", "-j", "DNAT", "--to-destination", "10.31.1.1")
	lb.Run(t, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", vip, "-p", "tcp", "--dport", "5201",
		"-j", "DNAT", "--to-destination", "10.31.2.1")

	payload := make([]byte, 256<<10)
	for i := range payload {
		payload[i] = byte(i*31 + i>>8)
	}
	var conns []net.Conn
	for range 2 {
		var c net.Conn
		if err := client.Do(func() (err error) {
			d := net.Dialer{Timeout: 10 * time.Second}
			d.SetMultipathTCP(true)
			c, err = d.Dial("tcp", vip+":5201")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(caseTimeout))
		conns = append(conns, c)
	}
	// Each connection is joined at its server's announced address.
	lab.WaitFor(t, 20*time.Second, "a join on each server", func() (bool, string) {
		var state []string
		ok := true
		for i, st := range servers {
			n := 0
			for _, ci := range st.Conns() {
				n += len(ci.Subflows)
			}
			state = append(state, fmt.Sprintf("server %d: %d connections, %d subflows", i+1, len(st.Conns()), n))
			ok = ok && len(st.Conns()) == 1 && n == 2
		}
		return ok, strings.Join(state, "; ")
	})
	for i, c := range conns {
		errc := make(chan error, 1)
		go func() { _, err := c.Write(payload); errc <- err }()
		got := make([]byte, len(payload))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(payload) {
			t.Fatalf("connection %d: echo %v (equal %v)", i+1, err, string(got) == string(payload))
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	kc := kernelCounters(t, client)
	t.Logf("client: MPJoinSynTx %d, MPJoinSynAckRx %d, AddAddr %d", kc["MPJoinSynTx"], kc["MPJoinSynAckRx"], kc["AddAddr"])
	if kc["MPJoinSynAckRx"] != 2 {
		t.Errorf("client MPJoinSynAckRx = %d, want 2 (one join per connection, each answered by its server)", kc["MPJoinSynAckRx"])
	}
	for i, st := range servers {
		m := st.MIB()
		if m.Get(core.MPJoinNoTokenFound) != 0 || m.Get(core.MPJoinAckRx) != 1 {
			t.Errorf("server %d: MPJoinNoTokenFound %d, MPJoinAckRx %d; want 0 and 1", i+1, m.Get(core.MPJoinNoTokenFound), m.Get(core.MPJoinAckRx))
		}
	}
}

// serveEcho echoes every connection the listener accepts.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}
