package mptcp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/tcp"
)

// ErrNoDriver is returned by Dial and Listen on a Stack that no driver
// runs yet (see Stack.Link).
var ErrNoDriver = errors.New("mptcp: stack has no driver")

// Stack is one host's user-space MPTCP stack: its addresses, connections,
// listeners and counters. Its methods are safe for concurrent use: a mutex
// serialises the application's goroutines with the driver's, and the
// protocol core under it runs single-threaded.
//
// With Config.Loops above one the stack is that many protocol cores, each
// with its own mutex, run by a driver of its own (Loop), each owning a
// share of the connections: a connection's calls take its core's mutex
// only, and the loops run on as many CPUs.
//
// A Stack does no I/O of its own: a driver runs it through its Link, or
// drivers through its Loops.
type Stack struct {
	shards []*shard
	dm     *demux        // nil with one shard
	dials  atomic.Uint32 // dials so far, to spread them over the shards
	lk     Link
}

// NewStack returns a stack with no addresses and no driver.
func NewStack(cfg Config) (*Stack, error) {
	n := max(cfg.Loops, 1)
	if n > core.MaxShards {
		return nil, fmt.Errorf("mptcp: %d loops: at most %d", cfg.Loops, core.MaxShards)
	}
	s := &Stack{}
	s.lk.s = s
	base := cfg.coreConfig()
	if n > 1 {
		s.dm = newDemux(n)
		shareConfig(&base)
	}
	for i := range n {
		cc := base
		if n > 1 {
			cc.Rand = mrand.NewChaCha8(seed(base.Rand))
			cc.TCP.Rand = nil
			cc.Shard, cc.Shards = i, n
		}
		cs, err := core.NewStack(cc)
		if err != nil {
			return nil, fmt.Errorf("mptcp: %w", err)
		}
		sh := &shard{core: cs, idx: i, st: s}
		sh.lk = Link{s: s, sh: sh}
		s.shards = append(s.shards, sh)
	}
	if s.dm != nil {
		for _, a := range cfg.Announce {
			if a.Port() != 0 {
				s.dm.listen(a.Port())
			}
		}
	}
	return s, nil
}

// shareConfig makes what the shards of one stack must share out of a
// configuration: one Fast Open key, so that a cookie one shard gave is
// good at another, and an event sink that takes one event at a time.
func shareConfig(cc *core.Config) {
	if cc.TCP.FastOpenKey == (tcp.FastOpenKey{}) {
		binary.LittleEndian.PutUint64(cc.TCP.FastOpenKey[:8], cc.Rand.Uint64())
		binary.LittleEndian.PutUint64(cc.TCP.FastOpenKey[8:], cc.Rand.Uint64())
	}
	if sink := cc.Events; sink != nil {
		var mu sync.Mutex
		cc.Events = func(ev core.Event) {
			mu.Lock()
			sink(ev)
			mu.Unlock()
		}
	}
}

// seed draws a ChaCha8 seed from r: each shard gets a random stream of
// its own, a function of the stack's.
func seed(r core.Rand) [32]byte {
	var b [32]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b
}

// Link returns the side of the stack that drivers use. Hand it to one:
// netsim.Host.SetStack(st.Link()) in the simulator, tun.New(st.Link(), cfg)
// on Linux TUN devices, or package host's Start, which does all of it.
// With several loops (Config.Loops) the link runs them all from the one
// driver, in a fixed order, as the simulator does; Loop gives each a
// driver of its own.
func (s *Stack) Link() *Link { return &s.lk }

// Loops returns the number of protocol loops (Config.Loops, at least 1).
func (s *Stack) Loops() int { return len(s.shards) }

// Loop returns the link of protocol loop i (0 <= i < Loops), for a driver
// of its own: one tun.Driver per loop on queue i of every multi-queue
// device (tun.CreateQueues). A packet a loop reads that another loop owns
// is handed to that loop, which delivers it at its next round. Use either
// Link or the loops' links, not both.
func (s *Stack) Loop(i int) *Link { return &s.shards[i].lk }

// LoopStats counts what one protocol loop holds and was handed.
type LoopStats struct {
	// Conns is the number of connections the loop holds.
	Conns int
	// Handoffs counts packets another loop read for this one.
	Handoffs uint64
	// HandoffDrops counts packets lost because this loop's inbox was full.
	HandoffDrops uint64
	// MIB is the loop's share of the stack's counters (Stack.MIB sums
	// them).
	MIB core.MIBSnapshot
}

// LoopStats returns each loop's counters.
func (s *Stack) LoopStats() []LoopStats {
	out := make([]LoopStats, len(s.shards))
	for i, sh := range s.shards {
		sh.mu.Lock()
		out[i].Conns = sh.core.NumConns()
		out[i].MIB = sh.core.MIB()
		sh.mu.Unlock()
		out[i].Handoffs = sh.inbox.handoffs.Load()
		out[i].HandoffDrops = sh.inbox.drops.Load()
	}
	return out
}

// AddAddress gives the host a local address. The path manager uses new
// addresses on existing connections too (a subflow from it, or an
// announcement).
func (s *Stack) AddAddress(a netip.Addr) {
	for _, sh := range s.shards {
		sh.mu.Lock()
		sh.core.AddAddress(a)
		sh.mu.Unlock()
		sh.wake()
	}
}

// RemoveAddress takes an address away; subflows using it are closed and
// the peer is told (REMOVE_ADDR).
func (s *Stack) RemoveAddress(a netip.Addr) {
	for _, sh := range s.shards {
		sh.mu.Lock()
		sh.core.RemoveAddress(a)
		sh.mu.Unlock()
		sh.wake()
	}
}

// SetAddressBackup marks the paths from local address a as backup paths,
// or regular ones again: subflows from it carry the backup flag (MP_JOIN's
// B bit, or MP_PRIO on those already open), as an `ip mptcp endpoint`
// with the backup flag. It reports whether a is one of the stack's
// addresses.
func (s *Stack) SetAddressBackup(a netip.Addr, backup bool) bool {
	ok := false
	for _, sh := range s.shards {
		sh.mu.Lock()
		ok = sh.core.SetAddressBackup(a, backup) || ok
		sh.mu.Unlock()
		sh.wake()
	}
	return ok
}

// Addresses returns the host's addresses.
func (s *Stack) Addresses() []netip.Addr {
	sh := s.shards[0] // every shard has the same
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var out []netip.Addr
	for _, l := range sh.core.Addresses() {
		if l.Port == 0 {
			out = append(out, l.Addr)
		}
	}
	return out
}

// MIB returns a snapshot of the stack's counters, named as the Linux
// kernel's MPTcpExt counters.
func (s *Stack) MIB() core.MIBSnapshot {
	var m core.MIBSnapshot
	for _, sh := range s.shards {
		sh.mu.Lock()
		m = m.Add(sh.core.MIB())
		sh.mu.Unlock()
	}
	return m
}

// TCPStats returns the counters of the stack's TCP engine, all subflows
// together, named as Linux's Tcp and TcpExt counters: SYN cookies,
// challenge ACKs, malformed and misrouted segments, PAWS, resets. Where
// MIB shows what the MPTCP layer made of the packets, TCPStats shows
// what TCP dropped or answered before them.
func (s *Stack) TCPStats() tcp.StackStats {
	var st tcp.StackStats
	for _, sh := range s.shards {
		sh.mu.Lock()
		addStats(&st, sh.core.TCP().Stats())
		sh.mu.Unlock()
	}
	return st
}

// addStats adds every counter of b to a's (all are integers).
func addStats(a *tcp.StackStats, b tcp.StackStats) {
	av, bv := reflect.ValueOf(a).Elem(), reflect.ValueOf(b)
	for i := range av.NumField() {
		switch f := av.Field(i); f.Kind() {
		case reflect.Uint64:
			f.SetUint(f.Uint() + bv.Field(i).Uint())
		case reflect.Int:
			f.SetInt(f.Int() + bv.Field(i).Int())
		}
	}
}

// Conns returns a snapshot of every connection the stack holds (accepted
// or not), for monitoring: package observe serves it. Each connection is
// described at one instant, not all at the same one: the snapshot takes a
// loop's lock for infoChunk connections at a time, so that a monitor
// reading thousands of connections delays that loop's packets by a chunk,
// not by the whole snapshot.
func (s *Stack) Conns() []ConnInfo {
	var out []ConnInfo
	for _, sh := range s.shards {
		sh.mu.Lock()
		conns := sh.core.Conns()
		sh.mu.Unlock()
		for len(conns) > 0 {
			n := min(len(conns), infoChunk)
			sh.mu.Lock()
			for _, c := range conns[:n] {
				out = append(out, c.Info())
			}
			sh.mu.Unlock()
			conns = conns[n:]
		}
	}
	return out
}

// infoChunk is how many connections Conns describes per hold of a loop's
// lock.
const infoChunk = 128

// Drain waits until the peer of every connection the application closed
// has acknowledged all that was written and the end of the stream (the
// DATA_FIN), or until ctx is done. The kernel goes on sending after a program closes
// a socket and even after it exits; a user-space stack sends only while
// its driver runs, so a program calls Drain before it stops the driver
// (Host.Shutdown does both) or the last bytes it wrote, a response or a
// result, never leave. Connections still open are not waited for.
func (s *Stack) Drain(ctx context.Context) error {
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		n := 0
		for _, sh := range s.shards {
			sh.mu.Lock()
			n += sh.core.Closing()
			sh.mu.Unlock()
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mptcp: drain: %d connections still closing: %w", n, ctx.Err())
		case <-tick.C:
		}
	}
}

// drainPoll is how often Drain looks at the closing connections: often
// enough not to delay a program's exit noticeably, rarely enough to cost
// nothing (net/http's Shutdown polls the same way).
const drainPoll = 5 * time.Millisecond

// pick returns the shard a new connection to remote goes to: the next in
// turn, or for a Fast Open dial the one remote's address maps to, whose
// TCP engine holds the server's cookie.
func (s *Stack) pick(remote netip.AddrPort, fastOpen bool) *shard {
	n := len(s.shards)
	if n == 1 {
		return s.shards[0]
	}
	if fastOpen {
		return s.shards[s.dm.hash(flow{remote: netip.AddrPortFrom(remote.Addr(), 0)})]
	}
	return s.shards[int(s.dials.Add(1)-1)%n]
}

// Dial connects to address over network "tcp", "tcp4" or "tcp6", as
// net.Dial does; host names are resolved. The connection is MPTCP if the
// peer agrees and plain TCP otherwise. Dialer has the options.
func (s *Stack) Dial(network, address string) (net.Conn, error) {
	d := Dialer{Stack: s}
	return d.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context that bounds the connection attempt.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := Dialer{Stack: s}
	return d.DialContext(ctx, network, address)
}

// Listen listens on address over network "tcp", "tcp4" or "tcp6", as
// net.Listen does: ":port" (or a wildcard address) with "tcp" accepts
// IPv4 and IPv6 connections. It accepts MPTCP and plain TCP clients
// alike. ListenConfig has the options.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	lc := ListenConfig{Stack: s}
	return lc.Listen(context.Background(), network, address)
}
