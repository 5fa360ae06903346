package policytest

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// ecmp spreads flows over equal-cost paths by hashing the 5-tuple, as a
// datacenter switch does. netsim routers forward by longest prefix only,
// so the choice is made by rewriting the destination to an alias address
// routed over the chosen path, and undone at the far end of the paths:
//
//	client -- A ==spine 0..k-1== B -- server
//
// A rewrites the server's address to alias j = hash mod k, which A routes
// over spine j; B restores it. Packets to the client take the mirror
// route, hashed at B. Checksums are updated incrementally (RFC 1624).
type ecmp struct {
	salt    uint32
	targets map[netip.Addr][]netip.Addr // real address -> its aliases, by path
	real    map[netip.Addr]netip.Addr   // alias -> real address
	count   []int                       // packets sent per path
}

// Process implements netsim.Processor.
func (e *ecmp) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	h, err := wire.ParseIPv4(pkt)
	if err != nil {
		emit(pkt)
		return
	}
	dst := h.Dst()
	if r, ok := e.real[dst]; ok {
		e.rewrite(h, r)
	} else if aliases, ok := e.targets[dst]; ok {
		j := e.hash(h) % uint32(len(aliases))
		e.count[j]++
		e.rewrite(h, aliases[j])
	}
	emit(pkt)
}

// hash is FNV-1a over the 5-tuple with the fabric's salt, avalanched.
func (e *ecmp) hash(h wire.IPv4) uint32 {
	f := fnv.New32a()
	var b [4 + 4 + 4 + 1 + 4]byte
	binary.BigEndian.PutUint32(b[:], e.salt)
	copy(b[4:8], h[12:20]) // source and destination addresses
	b[12] = h.Protocol()
	if p := h.Payload(); len(p) >= 4 && (h.Protocol() == 6 || h.Protocol() == 17) {
		copy(b[13:17], p[:4]) // ports
	}
	f.Write(b[:])
	// FNV's low bits mix poorly for a modulo by a small k: finish with
	// MurmurHash3's avalanche step.
	x := f.Sum32()
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return x
}

// rewrite sets the destination and fixes the TCP checksum, whose
// pseudo-header covers it.
func (e *ecmp) rewrite(h wire.IPv4, to netip.Addr) {
	old := binary.BigEndian.Uint32(h[16:20])
	h.SetDst(to)
	if p := h.Payload(); h.Protocol() == 6 && len(p) >= 18 {
		n := to.As4()
		sum := binary.BigEndian.Uint16(p[16:])
		binary.BigEndian.PutUint16(p[16:], wire.ChecksumUpdate32(sum, old, binary.BigEndian.Uint32(n[:])))
	}
}

// fabric is a client and a server joined by k equal-cost spine links.
type fabric struct {
	*testNet
	spines []*netsim.Link
	a, b   *ecmp
}

// newFabric builds the fabric: access and server links at 1 Gbit/s, k
// spines of the given rate and one-way delay, each with a queue of one
// bandwidth-delay product (at least 16 KiB). The client gets addrs
// addresses on its one interface.
func newFabric(t testing.TB, seed uint64, k int, rate int64, delay time.Duration, addrs int, client, server func(*core.Config)) *fabric {
	t.Helper()
	s := netsim.New(seed)
	n := &testNet{&simtest.Net{Sim: s}}
	f := &fabric{testNet: n}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	n.Client, err = s.NewHost("client")
	must(err)
	n.Server, err = s.NewHost("server")
	must(err)
	ra, err := s.NewRouter("leafA")
	must(err)
	rb, err := s.NewRouter("leafB")
	must(err)
	n.Router = ra
	fast := netsim.PipeConfig{Rate: 1e9, Delay: 50 * time.Microsecond}

	var cpfx []netip.Prefix
	for i := range addrs {
		cpfx = append(cpfx, netip.MustParsePrefix(fmt.Sprintf("10.0.1.%d/24", 2+i)))
	}
	ci, err := n.Client.AddInterface("eth0", cpfx...)
	must(err)
	rai, err := ra.AddInterface("c0", netip.MustParsePrefix("10.0.1.1/24"))
	must(err)
	_, err = s.Connect(ci, rai, fast)
	must(err)
	si, err := n.Server.AddInterface("eth0", netip.MustParsePrefix("10.9.0.2/24"))
	must(err)
	rbi, err := rb.AddInterface("s0", netip.MustParsePrefix("10.9.0.1/24"))
	must(err)
	_, err = s.Connect(si, rbi, fast)
	must(err)
	n.ServerAddr = si.Addr(true)
	for _, p := range cpfx {
		n.ClientAddrs = append(n.ClientAddrs, p.Addr())
	}

	f.a = &ecmp{salt: uint32(seed) * 2654435761, targets: map[netip.Addr][]netip.Addr{}, real: map[netip.Addr]netip.Addr{}, count: make([]int, k)}
	f.b = &ecmp{salt: uint32(seed)*2654435761 + 1, targets: map[netip.Addr][]netip.Addr{}, real: map[netip.Addr]netip.Addr{}, count: make([]int, k)}
	q := max(16<<10, int(float64(rate)/8*2*delay.Seconds()))
	for j := range k {
		ap := netip.MustParsePrefix(fmt.Sprintf("10.100.%d.1/24", j))
		bp := netip.MustParsePrefix(fmt.Sprintf("10.100.%d.2/24", j))
		ai, err := ra.AddInterface(fmt.Sprintf("spine%d", j), ap)
		must(err)
		bi, err := rb.AddInterface(fmt.Sprintf("spine%d", j), bp)
		must(err)
		l, err := s.Connect(ai, bi, netsim.PipeConfig{Rate: rate, Delay: delay, QueueBytes: q})
		must(err)
		f.spines = append(f.spines, l)
		// Aliases of the server (towards B) and of each client address
		// (towards A), one per spine.
		sAlias := netip.MustParsePrefix(fmt.Sprintf("10.101.%d.0/24", j))
		must(ra.AddRoute(sAlias, ai))
		sa := netip.AddrFrom4([4]byte{10, 101, byte(j), 2})
		f.a.targets[n.ServerAddr] = append(f.a.targets[n.ServerAddr], sa)
		f.b.real[sa] = n.ServerAddr
		cAlias := netip.MustParsePrefix(fmt.Sprintf("10.102.%d.0/24", j))
		must(rb.AddRoute(cAlias, bi))
		for i, c := range n.ClientAddrs {
			al := netip.AddrFrom4([4]byte{10, 102, byte(j), byte(2 + i)})
			f.b.targets[c] = append(f.b.targets[c], al)
			f.a.real[al] = c
		}
	}
	must(ra.AddRoute(netip.MustParsePrefix("10.9.0.0/24"), ra.Interface("spine0"))) // unused: A always rewrites
	must(rb.AddRoute(netip.MustParsePrefix("10.0.1.0/24"), rb.Interface("spine0")))
	ra.AddProcessor(f.a)
	rb.AddProcessor(f.b)
	n.CS, n.SS, err = simtest.NewStacks(n.Client, n.Server, simtest.Options{Client: client, Server: server})
	must(err)
	for _, a := range n.ClientAddrs {
		n.CS.AddAddress(a)
	}
	n.SS.AddAddress(n.ServerAddr)
	n.Client.SetStack(n.CS)
	n.Server.SetStack(n.SS)
	return f
}
