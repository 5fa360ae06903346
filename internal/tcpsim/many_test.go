package tcpsim

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/tcp"
)

// TestManyConnections runs 200 concurrent transfers between two stacks over
// a lossy link: every byte arrives, every connection closes, and the
// stacks are left with nothing but TIME-WAIT entries, which then expire.
func TestManyConnections(t *testing.T) {
	pc := netsim.PipeConfig{Rate: 100e6, Delay: 10 * time.Millisecond, QueueBytes: 250_000, Loss: 0.005}
	p := newPath(t, 11, pc, "cubic", nil)
	const conns, size = 200, 100_000
	var servers []*bulk
	acc := &acceptor{mk: func() *bulk {
		b := &bulk{total: size / 2, fin: true, host: p.server}
		servers = append(servers, b)
		return b
	}}
	if _, err := p.ss.Listen(netip.AddrPortFrom(p.saddr, 5201), &tcp.ListenConfig{Hooks: acc, Backlog: 1024}); err != nil {
		t.Fatal(err)
	}
	var clients []*bulk
	for range conns {
		cli := &bulk{total: size, fin: true, host: p.client}
		if _, err := p.cs.Dial(p.sim.Now(), netip.AddrPortFrom(p.saddr, 5201), &tcp.DialConfig{Hooks: cli}); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, cli)
	}
	p.client.Wake()
	all := append(append([]*bulk(nil), clients...), servers...)
	if !p.runUntilDone(120*time.Second, all...) || len(servers) != conns {
		t.Fatalf("incomplete: %d servers", len(servers))
	}
	for i, b := range all {
		want := int64(size)
		if i < conns {
			want = size / 2
		}
		if b.bad != 0 || b.recv != want || b.crc != crcOf(want) {
			t.Fatalf("app %d: %d bytes, %d bad", i, b.recv, b.bad)
		}
	}
	p.sim.RunFor(5 * time.Second)
	cs, ss := p.cs.Stats(), p.ss.Stats()
	// One end of each connection is in TIME-WAIT, both ends after a
	// simultaneous close.
	if tw := cs.TimeWaitConns + ss.TimeWaitConns; cs.Conns+ss.Conns != 0 || tw < conns || tw > 2*conns {
		t.Fatalf("after close: conns %d+%d, TIME-WAIT %d+%d", cs.Conns, ss.Conns, cs.TimeWaitConns, ss.TimeWaitConns)
	}
	p.sim.RunFor(61 * time.Second)
	if n := p.cs.Stats().TimeWaitConns + p.ss.Stats().TimeWaitConns; n != 0 {
		t.Fatalf("%d TIME-WAIT entries left after 2*MSL", n)
	}
	t.Logf("client stack: %+v", cs)
}
