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
//   - an MP_JOIN SYN belongs to the shard of its token, and the 4-tuple
//     of the subflow it opens is recorded (joinTable) so that the rest of
//     the subflow follows it;
//   - a segment to a listening port belongs to the shard its 4-tuple was
//     recorded for, else to the shard a hash of its 4-tuple picks (the
//     plain or MP_CAPABLE SYN that opened it was sent there);
//   - any other segment is for a connection a shard dialled: port % n;
//   - an ICMP error goes to every shard (each applies it to its own
//     connections, and all learn the path MTU);
//   - anything unreadable stays where it is, for its stack to count.
//
// gVisor's dispatcher shards by a hash of the 4-tuple the same way; the
// token and the port carry the shard where a hash cannot be chosen.

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

	joins joinTable
}

func newDemux(n int) *demux {
	return &demux{n: n, listenRef: make(map[uint16]int), joins: joinTable{m: make(map[flow]joinEntry)}}
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
		if token, ok := joinToken(t, fl, opts); ok {
			sh := int(token % uint32(d.n))
			if listening {
				d.joins.set(f, sh)
			}
			return sh
		}
		if listening {
			// A new connection on a 4-tuple a join once used.
			d.joins.remove(f)
			return d.hash(f)
		}
	}
	if !listening {
		return int(f.local.Port()) % d.n
	}
	if sh, ok := d.joins.get(f); ok {
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

// hash picks the shard of a connection opened to a listening port: a
// fixed function of the 4-tuple, so that every packet of the connection,
// whichever loop reads it, and every run of a simulation, agree.
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

// joinTable records the shard of each subflow a peer joined to a
// listening port, from its MP_JOIN SYN on. An entry goes when a new SYN
// without MP_JOIN reuses its 4-tuple, or when its shard sweeps it: a
// sweep marks the entries whose subflow the shard no longer knows, and
// the next removes those still unknown, so that a SYN that has been
// routed but not yet delivered (it waits in the owner's inbox) survives
// one sweep.
type joinTable struct {
	mu sync.RWMutex
	m  map[flow]joinEntry
}

type joinEntry struct {
	shard int
	stale bool // marked by the last sweep
}

// maxJoins bounds the table: past it, a new join is routed by its token
// but its later segments by hash, which reaches the wrong shard (one in
// n) and is answered by a reset. Sweeps keep the table far below it.
const maxJoins = 1 << 18

func (t *joinTable) set(f flow, shard int) {
	t.mu.Lock()
	if _, ok := t.m[f]; ok || len(t.m) < maxJoins {
		t.m[f] = joinEntry{shard: shard}
	}
	t.mu.Unlock()
}

func (t *joinTable) get(f flow) (int, bool) {
	t.mu.RLock()
	e, ok := t.m[f]
	t.mu.RUnlock()
	return e.shard, ok
}

func (t *joinTable) remove(f flow) {
	t.mu.RLock()
	_, ok := t.m[f]
	t.mu.RUnlock()
	if !ok {
		return
	}
	t.mu.Lock()
	delete(t.m, f)
	t.mu.Unlock()
}

// sweep drops shard's entries that knows has said twice in a row it does
// not know, and marks those it says so for the first time.
func (t *joinTable) sweep(shard int, knows func(local, remote netip.AddrPort) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for f, e := range t.m {
		switch {
		case e.shard != shard:
		case knows(f.local, f.remote):
			if e.stale {
				t.m[f] = joinEntry{shard: shard}
			}
		case e.stale:
			delete(t.m, f)
		default:
			t.m[f] = joinEntry{shard: shard, stale: true}
		}
	}
}

func (t *joinTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}
