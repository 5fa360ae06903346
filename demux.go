package mptcp

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/mptcp-go/mptcp/wire"
)

// With Config.Loops above one the stack is several core stacks (shards),
// each run by a protocol loop of its own, and every packet that arrives,
// whichever loop reads it, belongs to exactly one of them. The shards
// partition what names a connection (core.Config.Shard): an MPTCP token
// with token % n == i and an ephemeral port with port % n == i belong to
// shard i. So:
//
//   - an MP_JOIN SYN to a listening port belongs to the shard of its
//     token, and a new connection's SYN (plain or MP_CAPABLE) to the
//     shard that holds the fewest; either way the 4-tuple is recorded
//     (flowTable) so that the rest of the subflow follows its SYN;
//   - any other segment to a listening port belongs to the shard its
//     4-tuple was recorded for, else (the table was full when its SYN
//     came) to the shard a hash of its 4-tuple picks, as its SYN was;
//   - any other segment is for a connection a shard dialled: port % n;
//   - an ICMP error goes to every shard (each applies it to its own
//     connections, and all learn the path MTU);
//   - anything unreadable stays where it is, for its stack to count.
//
// gVisor's dispatcher shards by a hash of the 4-tuple; here the table
// lets a new connection go where there is room, and the token and the
// port carry the shard where nothing can be recorded.

// allShards is the owner of a packet every shard receives.
const allShards = -1

// flow is a TCP 4-tuple as the host sees it.
type flow struct {
	local, remote netip.AddrPort
}

// demux decides which shard owns an arriving packet. Its methods are safe
// for concurrent use by the shards' loops.
type demux struct {
	n int

	// listening has a bit per port some listener of the stack uses; a
	// reader loads one word, lock-free.
	listening [1 << 16 / 64]atomic.Uint64
	listenMu  sync.Mutex     // serialises changes to listening
	listenRef map[uint16]int // listeners per port

	flows flowTable
}

func newDemux(n int) *demux {
	return &demux{n: n, listenRef: make(map[uint16]int),
		flows: flowTable{m: make(map[flow]flowEntry), load: make([]int, n)}}
}

// listen records a listener on port (unlisten drops it).
func (d *demux) listen(port uint16) {
	d.listenMu.Lock()
	d.listenRef[port]++
	d.listening[port/64].Or(1 << (port % 64))
	d.listenMu.Unlock()
}

func (d *demux) unlisten(port uint16) {
	d.listenMu.Lock()
	if d.listenRef[port]--; d.listenRef[port] <= 0 {
		delete(d.listenRef, port)
		d.listening[port/64].And(^uint64(1 << (port % 64)))
	}
	d.listenMu.Unlock()
}

func (d *demux) isListening(port uint16) bool {
	return d.listening[port/64].Load()&(1<<(port%64)) != 0
}

// owner returns the shard that owns pkt, allShards, or self when the
// packet is not one a shard can be told from (malformed, not TCP): self's
// stack drops and counts it. opts is the caller's scratch.
func (d *demux) owner(pkt []byte, self int, opts *wire.TCPOptions) int {
	src, dst, proto, payload, err := wire.ParseIP(pkt)
	if err != nil {
		return self
	}
	switch proto {
	case wire.ProtoTCP:
	case wire.ProtoICMP, wire.ProtoICMPv6:
		return allShards
	default:
		return self
	}
	t, err := wire.ParseTCP(payload)
	if err != nil {
		return self
	}
	f := flow{local: netip.AddrPortFrom(dst, t.DstPort()), remote: netip.AddrPortFrom(src, t.SrcPort())}
	listening := d.isListening(f.local.Port())
	if fl := t.Flags(); fl&wire.FlagSYN != 0 && fl&wire.FlagACK == 0 {
		token, join := joinToken(t, fl, opts)
		switch {
		case join && listening:
			return d.flows.place(f, int(token%uint32(d.n)), d.hash(f))
		case join:
			return int(token % uint32(d.n))
		case listening:
			// A new connection (or its SYN again: it stays where the
			// first went, as does a new connection on the 4-tuple of one
			// whose TIME-WAIT its shard holds).
			return d.flows.place(f, -1, d.hash(f))
		}
	}
	if !listening {
		return int(f.local.Port()) % d.n
	}
	if sh, ok := d.flows.get(f); ok {
		return sh
	}
	return d.hash(f)
}

// joinToken returns the token of an MP_JOIN SYN.
func joinToken(t wire.TCP, fl wire.TCPFlags, opts *wire.TCPOptions) (uint32, bool) {
	if len(t.Options()) == 0 {
		return 0, false
	}
	_ = wire.ParseTCPOptions(t.Options(), fl, opts) // a bad option elsewhere leaves MP_JOIN readable
	mp := &opts.MPTCP
	if !mp.Has(wire.SubtypeMPJoin) || mp.Join.Form != wire.MPJoinSYN {
		return 0, false
	}
	return mp.Join.Token, true
}

// hash picks the shard of a connection opened to a listening port when
// the flow table is full: a fixed function of the 4-tuple, so that every
// packet of the connection, whichever loop reads it, and every run of a
// simulation, agree.
func (d *demux) hash(f flow) int {
	h := uint64(f.local.Port())<<16 | uint64(f.remote.Port())
	for _, a := range [2]netip.Addr{f.local.Addr(), f.remote.Addr()} {
		b := a.As16()
		h = mix(h ^ binary.LittleEndian.Uint64(b[:8]))
		h = mix(h ^ binary.LittleEndian.Uint64(b[8:]))
	}
	return int(mix(h) % uint64(d.n))
}

// mix is splitmix64's finaliser: every input bit moves every output bit.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// flowTable records the shard of each subflow opened to a listening
// port, from its SYN on, and how many each shard holds. An entry goes
// when its shard sweeps it: a sweep marks the entries whose subflow the
// shard no longer knows, and the next removes those still unknown, so
// that a SYN that has been routed but not yet delivered (it waits in the
// owner's inbox, or was answered with a SYN cookie) survives one sweep.
type flowTable struct {
	mu   sync.RWMutex
	m    map[flow]flowEntry
	load []int // entries per shard
}

type flowEntry struct {
	shard int
	stale bool // marked by the last sweep
}

// maxFlows bounds the table: past it, a SYN goes by the hash of its
// 4-tuple, as the rest of its subflow will (a join whose token names
// another shard then fails: one in n). Sweeps keep the table near the
// number of subflows the host holds.
const maxFlows = 1 << 18

// place returns the shard of a SYN's subflow f: the one already recorded
// for f, else shard (or, when shard is -1, the one with the fewest
// entries), recorded; when the table is full, it returns full.
func (t *flowTable) place(f flow, shard, full int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[f]; ok && (shard < 0 || e.shard == shard) {
		t.m[f] = flowEntry{shard: e.shard} // not stale: its SYN is on its way
		return e.shard
	} else if ok {
		t.load[e.shard]-- // a join's token names another shard now
	} else if len(t.m) >= maxFlows {
		if shard >= 0 {
			return shard
		}
		return full
	}
	if shard < 0 {
		shard = 0
		for i, n := range t.load {
			if n < t.load[shard] {
				shard = i
			}
		}
	}
	t.m[f] = flowEntry{shard: shard}
	t.load[shard]++
	return shard
}

func (t *flowTable) get(f flow) (int, bool) {
	t.mu.RLock()
	e, ok := t.m[f]
	t.mu.RUnlock()
	return e.shard, ok
}

// sweep drops shard's entries that knows has said twice in a row it does
// not know, and marks those it says so for the first time.
func (t *flowTable) sweep(shard int, knows func(local, remote netip.AddrPort) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for f, e := range t.m {
		switch {
		case e.shard != shard:
		case knows(f.local, f.remote):
			if e.stale {
				t.m[f] = flowEntry{shard: shard}
			}
		case e.stale:
			delete(t.m, f)
			t.load[shard]--
		default:
			t.m[f] = flowEntry{shard: shard, stale: true}
		}
	}
}

func (t *flowTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}
