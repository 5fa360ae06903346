package mptcp_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/scenario"
)

// simNet is a built scenario with a user-space stack on the client and on
// the server, run by netsim's realtime runner inside a synctest bubble.
type simNet struct {
	top            *scenario.Topology
	client, server *mptcp.Stack
	rt             *netsim.Realtime
	stop           func()
}

func startSim(t *testing.T, name string) *simNet {
	t.Helper()
	return startSimLoops(t, name, 1)
}

// startSimLoops is startSim with stacks of several protocol loops
// (Config.Loops), which the simulator runs in turn.
func startSimLoops(t *testing.T, name string, loops int) *simNet {
	t.Helper()
	sc, err := scenario.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	sim := netsim.New(sc.Seed)
	top, err := sc.Build(sim)
	if err != nil {
		t.Fatal(err)
	}
	rt := netsim.NewRealtime(sim)
	stack := func(h *netsim.Host, addrs ...netip.Addr) *mptcp.Stack {
		st, err := mptcp.NewStack(mptcp.Config{Rand: h.Rand(), Loops: loops})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			st.AddAddress(a)
		}
		h.SetStack(st.Link())
		return st
	}
	n := &simNet{top: top, rt: rt}
	n.client = stack(top.Client, top.ClientAddrs...)
	n.server = stack(top.Server, top.ServerAddr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	n.stop = func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("simulation: %v", err)
		}
	}
	return n
}

// TestHTTPOverSimulatedMultipath serves net/http over a Listener and
// fetches with net/http's client dialling through the stack, over the two
// paths of the aggregate scenario.
func TestHTTPOverSimulatedMultipath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		body := make([]byte, 4<<20)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range body {
			body[i] = byte(r.Uint32())
		}
		ln, err := n.server.Listen("tcp", netip.AddrPortFrom(n.top.ServerAddr, 80).String())
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Write(body)
		})}
		go srv.Serve(ln)
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return n.client.DialContext(ctx, network, addr)
		}}
		client := &http.Client{Transport: tr}
		start := time.Now()
		resp, err := client.Get("http://" + netip.AddrPortFrom(n.top.ServerAddr, 80).String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		if !bytes.Equal(got, body) {
			t.Fatalf("body differs: got %d bytes, want %d", len(got), len(body))
		}
		t.Logf("4 MiB in %v of virtual time", elapsed)
		if mib := n.client.MIB(); mib.Get(core.MPJoinSynAckRx) == 0 {
			t.Errorf("no subflow joined: %v", mib)
		}
		tr.CloseIdleConnections()
		srv.Close()
		n.stop()
	})
}

func TestConnDeadlinesAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		addr := netip.AddrPortFrom(n.top.ServerAddr, 9).String()
		ln, err := n.server.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				t.Error(err)
			}
			accepted <- c
		}()
		c, err := n.client.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		sc := <-accepted
		// Nothing to read: the deadline fires, as a net.Error with Timeout.
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 10)
		_, err = c.Read(buf)
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("read past deadline: %v", err)
		}
		c.SetReadDeadline(time.Time{})
		// Half-close: the server reads EOF after the data and can still send.
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if err := c.(*mptcp.Conn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(sc)
		if err != nil || string(got) != "hello" {
			t.Fatalf("server read %q, %v", got, err)
		}
		if _, err := sc.Write([]byte("bye")); err != nil {
			t.Fatal(err)
		}
		sc.Close()
		got, err = io.ReadAll(c)
		if err != nil || string(got) != "bye" {
			t.Fatalf("client read %q, %v", got, err)
		}
		c.Close()
		if _, err := c.Read(buf); err == nil {
			t.Fatal("read after close succeeded")
		}
		ln.Close()
		if _, err := ln.Accept(); err == nil {
			t.Fatal("accept after close succeeded")
		}
		// A port nobody listens on is refused.
		if _, err := n.client.Dial("tcp", netip.AddrPortFrom(n.top.ServerAddr, 10).String()); err == nil {
			t.Fatal("dial to a closed port succeeded")
		}
		n.stop()
	})
}

func TestDialErrors(t *testing.T) {
	st, err := mptcp.NewStack(mptcp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ network, addr string }{
		{"udp", "10.0.0.1:1"}, {"tcp", "example.com:80"}, {"tcp4", "[::1]:80"}, {"tcp", "10.0.0.1:1"},
	} {
		if _, err := st.Dial(c.network, c.addr); err == nil {
			t.Errorf("Dial(%q, %q) succeeded", c.network, c.addr)
		}
	}
	if _, err := mptcp.NewStack(mptcp.Config{Scheduler: "nope"}); err == nil {
		t.Error("unknown scheduler accepted")
	}
}

// TestListenAllAddresses: ":port" listens on every address, as net.Listen
// does.
func TestListenAllAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		ln, err := n.server.Listen("tcp", ":7000")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			c.Close()
		}()
		c, err := n.client.Dial("tcp", netip.AddrPortFrom(n.top.ServerAddr, 7000).String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "hi" {
			t.Fatalf("read %q, %v", got, err)
		}
		c.Close()
		ln.Close()
		n.stop()
	})
}
