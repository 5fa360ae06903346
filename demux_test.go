package mptcp

import (
	"net/netip"
	"testing"

	"github.com/mptcp-go/mptcp/wire"
)

var (
	hostA = netip.MustParseAddr("10.0.0.1")
	peerB = netip.MustParseAddr("10.9.0.2")
)

// segment builds a TCP packet from peer port pp to our port lp.
func segment(t *testing.T, pp, lp uint16, flags wire.TCPFlags, join *wire.MPJoin) []byte {
	t.Helper()
	var b wire.OptionBuilder
	if join != nil {
		if err := b.AddMPJoin(join); err != nil {
			t.Fatal(err)
		}
	}
	return wire.AppendTCPPacket(nil, peerB, hostA, &wire.TCPFields{SrcPort: pp, DstPort: lp, Flags: flags, Window: 100}, b.Bytes(), []byte("x"))
}

func TestDemuxOwner(t *testing.T) {
	const n = 4
	d := newDemux(n)
	var opts wire.TCPOptions
	d.listen(80)
	owner := func(pkt []byte) int { return d.owner(pkt, 3, &opts) }

	// To a port we dialled from: the port says.
	for _, lp := range []uint16{40001, 40002, 40003, 40004} {
		if got := owner(segment(t, 80, lp, wire.FlagACK, nil)); got != int(lp)%n {
			t.Errorf("segment to port %d: shard %d, want %d", lp, got, int(lp)%n)
		}
	}
	// A new connection to a listening port: the shard with the fewest,
	// the same for its SYN, the SYN again, and what follows.
	seen := map[int]int{}
	for pp := uint16(5000); pp < 5064; pp++ {
		syn := owner(segment(t, pp, 80, wire.FlagSYN, nil))
		if again := owner(segment(t, pp, 80, wire.FlagSYN, nil)); again != syn {
			t.Fatalf("port %d: SYN to shard %d, again to %d", pp, syn, again)
		}
		if ack := owner(segment(t, pp, 80, wire.FlagACK, nil)); ack != syn {
			t.Fatalf("port %d: SYN to shard %d, ACK to %d", pp, syn, ack)
		}
		seen[syn]++
	}
	for i := range n {
		if seen[i] != 16 {
			t.Errorf("64 connections spread %v, want 16 each", seen)
		}
	}
	// A join: its token's shard, which the subflow's later segments
	// follow.
	for token := uint32(100); token < 108; token++ {
		pp := uint16(6000 + token)
		syn := segment(t, pp, 80, wire.FlagSYN, &wire.MPJoin{Form: wire.MPJoinSYN, Token: token, Nonce: 1})
		if got := owner(syn); got != int(token%n) {
			t.Fatalf("join with token %d: shard %d", token, got)
		}
		if got := owner(segment(t, pp, 80, wire.FlagACK, nil)); got != int(token%n) {
			t.Fatalf("join with token %d: its ACK to shard %d", token, got)
		}
	}
	if d.flows.len() != 64+8 {
		t.Fatalf("flow table holds %d entries, want 72", d.flows.len())
	}
	// A new connection on a join's 4-tuple stays on the join's shard,
	// which holds what is left of it.
	if got := owner(segment(t, 6100, 80, wire.FlagSYN, nil)); got != 100%n {
		t.Errorf("a plain SYN on a join's 4-tuple: shard %d, want %d", got, 100%n)
	}
	// Not TCP, or not readable: the loop that read it keeps it; ICMP
	// errors go to every shard.
	if got := owner([]byte{0x45, 0}); got != 3 {
		t.Errorf("garbage to shard %d, want the reader's", got)
	}
	icmp := wire.AppendTCPPacket(nil, peerB, hostA, &wire.TCPFields{SrcPort: 1, DstPort: 2}, nil, nil)
	icmp[9] = wire.ProtoICMP
	if got := owner(icmp); got != allShards {
		t.Errorf("ICMP to shard %d, want all", got)
	}
	// Without the listener, segments to port 80 go by port again.
	d.unlisten(80)
	if got := owner(segment(t, 5000, 80, wire.FlagACK, nil)); got != 80%n {
		t.Errorf("after unlisten: shard %d", got)
	}
}

func TestFlowTableSweep(t *testing.T) {
	jt := flowTable{m: map[flow]flowEntry{}, load: make([]int, 3)}
	f1 := flow{netip.AddrPortFrom(hostA, 80), netip.AddrPortFrom(peerB, 1)}
	f2 := flow{netip.AddrPortFrom(hostA, 80), netip.AddrPortFrom(peerB, 2)}
	f3 := flow{netip.AddrPortFrom(hostA, 80), netip.AddrPortFrom(peerB, 3)}
	jt.place(f1, 1, 0)
	jt.place(f2, 1, 0)
	jt.place(f3, 2, 0)
	known := map[flow]bool{f1: true}
	knows := func(l, r netip.AddrPort) bool { return known[flow{l, r}] }
	jt.sweep(1, knows) // marks f2
	if jt.len() != 3 {
		t.Fatalf("first sweep removed entries: %d left", jt.len())
	}
	jt.sweep(1, knows) // removes f2; f3 is shard 2's
	if _, ok := jt.get(f2); ok || jt.len() != 2 || jt.load[1] != 1 {
		t.Fatalf("second sweep: %d left (shard 1 holds %d), f2 kept %v", jt.len(), jt.load[1], ok)
	}
	delete(known, f1)
	jt.sweep(1, knows)
	known[f1] = true
	jt.sweep(1, knows) // known again: unmarked
	jt.sweep(1, knows)
	if _, ok := jt.get(f1); !ok {
		t.Fatal("an entry known again was removed")
	}
}

func TestInbox(t *testing.T) {
	var b inbox
	for i := range inboxSlots + 3 {
		b.put([]byte{byte(i), 1, 2})
	}
	if b.drops.Load() != 3 || b.handoffs.Load() != inboxSlots {
		t.Fatalf("drops %d, handoffs %d", b.drops.Load(), b.handoffs.Load())
	}
	got := b.take()
	if len(got) != inboxSlots || got[5][0] != 5 || len(got[5]) != 3 {
		t.Fatalf("took %d packets", len(got))
	}
	if b.take() != nil {
		t.Fatal("second take not empty")
	}
}

// TestDemuxAllocs: deciding a packet's owner and handing it to another
// loop allocate nothing once the buffers exist.
func TestDemuxAllocs(t *testing.T) {
	d := newDemux(4)
	d.listen(80)
	var opts wire.TCPOptions
	join := segment(t, 7000, 80, wire.FlagSYN, &wire.MPJoin{Form: wire.MPJoinSYN, Token: 9, Nonce: 1})
	d.owner(join, 0, &opts)
	pkts := [][]byte{join, segment(t, 7000, 80, wire.FlagACK, nil), segment(t, 80, 40001, wire.FlagACK, nil), segment(t, 5, 80, wire.FlagSYN, nil)}
	var b inbox
	for range 2 {
		for _, p := range pkts {
			b.put(p)
		}
		b.take()
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range pkts {
			d.owner(p, 0, &opts)
			b.put(p)
		}
		b.take()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round", allocs)
	}
}
