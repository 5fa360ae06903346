package observe_test

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/observe"
)

// TestDiagnoseLimits makes each limit hold in the simulator and checks
// that Diagnose names it: a download's sender is read every 100 ms of
// virtual time for 2 s, and for each subflow (by path: the client's
// address) the limit named most often must be the one the network
// imposes. Reading instants, not one instant, keeps the test about the
// heuristic rather than one moment of the transfer.
func TestDiagnoseLimits(t *testing.T) {
	fast, slow := simtest.Path{Rate: 20e6, Delay: 5 * time.Millisecond}, simtest.Path{Rate: 20e6, Delay: 100 * time.Millisecond}
	bigWindow := func(c *core.Config) { c.ReceiveBuffer = 8 << 20 }
	for _, c := range []struct {
		name     string
		paths    []simtest.Path
		cli, srv func(*core.Config)
		size     int
		want     []string // per path
	}{
		// A receive buffer smaller than the paths' BDP: the peer's
		// window, shared by both subflows, is what they wait for.
		{"receive window", []simtest.Path{{Rate: 50e6, Delay: 20 * time.Millisecond}, {Rate: 50e6, Delay: 20 * time.Millisecond}},
			func(c *core.Config) { c.ReceiveBuffer, c.DisableAutoTune = 32<<10, true }, nil, 64 << 20,
			[]string{observe.LimitWindow, observe.LimitWindow}},
		// 3% of the packets lost.
		{"loss", []simtest.Path{{Rate: 20e6, Delay: 10 * time.Millisecond, Loss: 0.03}}, nil, nil, 64 << 20,
			[]string{observe.LimitLoss}},
		// A window far above the BDP and a deep queue: slow start and
		// then congestion avoidance fill the congestion window.
		{"congestion window", []simtest.Path{{Rate: 20e6, Delay: 10 * time.Millisecond, Queue: 1 << 20}}, bigWindow, nil, 64 << 20,
			[]string{observe.LimitCwnd}},
		// BLEST leaves the path with twenty times the RTT unused where
		// its data would block the receive window (256 KiB) that the
		// fast one keeps moving: room in its congestion window, data
		// waiting, none sent on it.
		{"rtt", []simtest.Path{fast, slow}, func(c *core.Config) { c.ReceiveBuffer, c.DisableAutoTune = 256<<10, true },
			func(c *core.Config) { c.Scheduler = "blest" }, 64 << 20,
			[]string{"", observe.LimitRTT}},
		// 100 kB, then the server's application has nothing more.
		{"application", []simtest.Path{fast, fast}, nil, nil, 100 << 10,
			[]string{observe.LimitApplication, observe.LimitApplication}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := simtest.NewNet(1, c.paths, simtest.Options{Client: c.cli, Server: c.srv})
			if err != nil {
				t.Fatal(err)
			}
			n.ServerKeepsOpen = true // the connection stays after an application-limited download
			if _, err := n.StartTransfer(0, c.size, core.ConnOptions{}); err != nil {
				t.Fatal(err)
			}
			src := observe.CoreSource(n.SS, &sync.Mutex{})
			tally := make([]map[string]int, len(c.paths))
			for i := range tally {
				tally[i] = map[string]int{}
			}
			n.Sim.RunFor(200 * time.Millisecond) // past the handshakes
			for range 20 {
				n.Sim.RunFor(100 * time.Millisecond)
				for _, cl := range observe.Diagnose(observe.SocketsOf(src.Conns(), observe.Limits{}, nil), nil) {
					for _, sf := range cl.Subflows {
						if p := pathOf(n, sf); p >= 0 {
							tally[p][sf.Limit]++
						}
					}
				}
			}
			for p, want := range c.want {
				if got := most(tally[p]); want != "" && got != want {
					t.Errorf("path %d: limits named %v, most often %q; want %q", p, tally[p], got, want)
				}
			}
			t.Logf("limits named per path: %v", tally)
		})
	}
}

// pathOf is the path a subflow of the server takes: the client interface
// its peer address is on, -1 if none.
func pathOf(n *simtest.Net, sf observe.SubflowLimit) int {
	for i, ifc := range n.ClientIfs {
		for _, pfx := range ifc.Addrs() {
			if pfx.Contains(sf.Peer.Addr()) {
				return i
			}
		}
	}
	return -1
}

// most returns the key with the highest count (ties: the first in
// string order), "" for an empty tally.
func most(m map[string]int) string {
	best, n := "", -1
	for k, v := range m {
		if v > n || v == n && k < best {
			best, n = k, v
		}
	}
	return best
}

// TestDiagnoseReceiveBuffer: an application that does not read fills its
// connection's receive buffer; Diagnose names it at the receiver, and the
// sender's subflows wait for the receive window.
func TestDiagnoseReceiveBuffer(t *testing.T) {
	n, err := simtest.NewNet(1, []simtest.Path{{Rate: 20e6, Delay: 5 * time.Millisecond}, {Rate: 20e6, Delay: 5 * time.Millisecond}}, simtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := n.SS.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
	if err != nil {
		t.Fatal(err)
	}
	ln.SetNotify(func() { // accepted, never read
		for {
			if _, err := ln.Accept(); err != nil {
				return
			}
		}
	})
	now := n.Sim.Now()
	c, err := n.CS.Dial(now, netip.Addr{}, netip.AddrPortFrom(n.ServerAddr, 80), core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	(&simtest.Endpoint{Conn: c, Host: n.Client, Key: 1, PeerKey: 2, Send: 64 << 20, KeepOpen: true}).Attach(now)
	n.Sim.RunFor(2 * time.Second)
	diagnose := func(s *core.Stack) []observe.ConnLimit {
		return observe.Diagnose(observe.SocketsOf(observe.CoreSource(s, &sync.Mutex{}).Conns(), observe.Limits{}, nil), nil)
	}
	srv, cli := diagnose(n.SS), diagnose(n.CS)
	if len(srv) != 1 || srv[0].Limit != observe.LimitReceiveBuffer {
		t.Errorf("receiver: %+v, want its connection limited by its receive buffer", srv)
	}
	if len(cli) != 1 || len(cli[0].Subflows) != 2 {
		t.Fatalf("sender: %+v, want one connection with two subflows", cli)
	}
	for _, sf := range cli[0].Subflows {
		if sf.Limit != observe.LimitWindow {
			t.Errorf("sender's subflow %v: limited by %q, want the receive window", sf.Local, sf.Limit)
		}
	}
}
