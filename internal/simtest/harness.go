// Package simtest runs the MPTCP stack (package core) over the
// deterministic network simulator (package netsim) for tests: topologies
// of a multihomed client and a server, bulk transfers that check every
// byte, and the invariants the stack must keep (each byte delivered once
// and in order, no stall beyond a bound, counters consistent).
package simtest

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// Path is one client-side path: a link between a client interface and
// the router, in both directions alike.
type Path struct {
	Rate  int64 // bit/s
	Delay time.Duration
	Loss  float64
	// LossDownOnly applies Loss only towards the client (the data of a
	// download), as on a path whose losses are on its downlink.
	LossDownOnly bool
	// Jitter adds a delay drawn uniformly in [0, Jitter] to each packet,
	// both ways.
	Jitter time.Duration
	// Queue is the drop-tail queue in bytes (default: one bandwidth-delay
	// product, at least 64 KiB).
	Queue int
}

// Net is a client with one interface per path, a router, and a server
// behind a fast link.
type Net struct {
	Sim            *netsim.Sim
	Client, Server *netsim.Host
	Router         *netsim.Router
	CS, SS         *core.Stack
	ClientIfs      []*netsim.Interface
	ClientAddrs    []netip.Addr // one per path, in order
	PathLinks      []*netsim.Link
	ServerLink     *netsim.Link
	ServerAddr     netip.Addr
	ServerIfs      []*netsim.Interface

	// ClientKeepsOpen and ServerKeepsOpen make the endpoints of
	// StartTransfer keep their sending side open (Endpoint.KeepOpen).
	ClientKeepsOpen, ServerKeepsOpen bool

	// TimerErr is the first connection found waiting on a timer nobody
	// armed (tcp.Stack.CheckTimers) after a poll; Pair.Check fails with it.
	TimerErr error

	inj     *injector
	injHost *netsim.Host
	injIf   *netsim.Interface
}

// Options tune a Net.
type Options struct {
	Client, Server func(*core.Config) // adjust the stacks' configurations
	// ServerAddrs is the number of server addresses (default 1), each on
	// its own fast link to the router.
	ServerAddrs int
	// IPv6 numbers everything with IPv6 addresses (2001:db8::/32)
	// instead of IPv4 ones.
	IPv6 bool
	// NoTimerCheck skips the check of the TCP engines' timers after every
	// poll (see Net.TimerErr), for benchmarks: it costs a pass over the
	// connections.
	NoTimerCheck bool
}

// prefixes returns the host and router prefixes of link k on side
// ("0" client paths, "9" server links) for the family.
func prefixes(v6 bool, side, k int) (host, router netip.Prefix) {
	if v6 {
		return netip.MustParsePrefix(fmt.Sprintf("2001:db8:%d:%d::2/64", side, k)),
			netip.MustParsePrefix(fmt.Sprintf("2001:db8:%d:%d::1/64", side, k))
	}
	return netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.2/24", side, k)),
		netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.1/24", side, k))
}

// NewNet builds the topology for the given paths.
func NewNet(seed uint64, paths []Path, o Options) (*Net, error) {
	s := netsim.New(seed)
	n := &Net{Sim: s}
	var err error
	if n.Client, err = s.NewHost("client"); err != nil {
		return nil, err
	}
	if n.Server, err = s.NewHost("server"); err != nil {
		return nil, err
	}
	if n.Router, err = s.NewRouter("router"); err != nil {
		return nil, err
	}
	for i, p := range paths {
		cp, rp := prefixes(o.IPv6, 0, i+1)
		ci, err := n.Client.AddInterface(fmt.Sprintf("eth%d", i), cp)
		if err != nil {
			return nil, err
		}
		ri, err := n.Router.AddInterface(fmt.Sprintf("c%d", i), rp)
		if err != nil {
			return nil, err
		}
		q := p.Queue
		if q == 0 {
			q = max(64<<10, int(float64(p.Rate)/8*2*p.Delay.Seconds()))
		}
		down := netsim.PipeConfig{Rate: p.Rate, Delay: p.Delay, Loss: p.Loss, QueueBytes: q, Jitter: p.Jitter}
		up := down
		if p.LossDownOnly {
			up.Loss = 0
		}
		l, err := s.ConnectAsym(ci, ri, up, down)
		if err != nil {
			return nil, err
		}
		if err := n.Router.AddRoute(cp.Masked(), ri); err != nil {
			return nil, err
		}
		n.ClientIfs = append(n.ClientIfs, ci)
		n.ClientAddrs = append(n.ClientAddrs, cp.Addr())
		n.PathLinks = append(n.PathLinks, l)
	}
	for i := range max(1, o.ServerAddrs) {
		if _, err := n.addServerLink(i, o.IPv6); err != nil {
			return nil, err
		}
	}
	if n.CS, n.SS, err = NewStacks(n.Client, n.Server, o); err != nil {
		return nil, err
	}
	for _, ci := range n.ClientIfs {
		n.CS.AddAddress(ci.Addr(!o.IPv6))
	}
	for _, si := range n.ServerIfs {
		n.SS.AddAddress(si.Addr(!o.IPv6))
	}
	if o.NoTimerCheck {
		n.Client.SetStack(n.CS)
		n.Server.SetStack(n.SS)
	} else {
		n.Client.SetStack(checked{n.CS, n})
		n.Server.SetStack(checked{n.SS, n})
	}
	return n, nil
}

// checked is a stack of the harness whose TCP engine's timers are checked
// after every poll (tcp.Stack.CheckTimers): a connection that waits on a
// timer nobody armed would wait for ever if the one packet that wakes it
// were lost, so no test may pass with one, whatever it measures.
type checked struct {
	*core.Stack
	n *Net
}

// Poll polls the stack, then checks its timers; the first failure is kept
// in Net.TimerErr.
func (c checked) Poll(now time.Time, send func([]byte)) time.Time {
	next := c.Stack.Poll(now, send)
	if c.n.TimerErr == nil {
		if err := c.Stack.TCP().CheckTimers(); err != nil {
			c.n.TimerErr = fmt.Errorf("at %v: %w", now.Sub(netsim.Epoch), err)
		}
	}
	return next
}

// addServerLink gives the server address i (10.9.i.2) on its own fast
// link to the router.
func (n *Net) addServerLink(i int, v6 bool) (netip.Addr, error) {
	sp, rp := prefixes(v6, 9, i)
	si, err := n.Server.AddInterface(fmt.Sprintf("eth%d", i), sp)
	if err != nil {
		return netip.Addr{}, err
	}
	ri, err := n.Router.AddInterface(fmt.Sprintf("s%d", i), rp)
	if err != nil {
		return netip.Addr{}, err
	}
	l, err := n.Sim.Connect(si, ri, netsim.PipeConfig{Rate: 10e9, Delay: 100 * time.Microsecond})
	if err != nil {
		return netip.Addr{}, err
	}
	if err := n.Router.AddRoute(sp.Masked(), ri); err != nil {
		return netip.Addr{}, err
	}
	if i == 0 {
		n.ServerLink = l
		n.ServerAddr = sp.Addr()
	}
	n.ServerIfs = append(n.ServerIfs, si)
	return sp.Addr(), nil
}

// AddServerAddr gives the running server one more IPv4 address, 10.9.i.2,
// on its own fast link to the router, and returns it.
func (n *Net) AddServerAddr(i int) (netip.Addr, error) {
	a, err := n.addServerLink(i, false)
	if err == nil {
		n.SS.AddAddress(a)
	}
	return a, err
}

// NewStacks returns the client's and the server's stacks with the
// harness's configuration (each host's random stream, checksums not
// verified: the simulator does not corrupt unless asked) as o adjusts it.
func NewStacks(client, server *netsim.Host, o Options) (cs, ss *core.Stack, err error) {
	ccfg := core.Config{Rand: client.Rand()}
	ccfg.TCP.SkipChecksumVerify = true
	if o.Client != nil {
		o.Client(&ccfg)
	}
	scfg := core.Config{Rand: server.Rand()}
	scfg.TCP.SkipChecksumVerify = true
	if o.Server != nil {
		o.Server(&scfg)
	}
	if cs, err = core.NewStack(ccfg); err != nil {
		return nil, nil, err
	}
	if ss, err = core.NewStack(scfg); err != nil {
		return nil, nil, err
	}
	return cs, ss, nil
}

// patternLen is the period of the pseudo-random block: a prime, so no
// power-of-two misplacement maps a byte onto an equal one.
const patternLen = 65521

var patternBlocks = map[uint64][]byte{}

// Pattern returns the byte at offset i of the test stream named by key:
// a pseudo-random block of prime length, changed by each repetition's
// index, so a byte delivered at the wrong offset is caught.
func Pattern(key uint64, i uint64) byte {
	b := patternBlock(key)
	r := i / patternLen
	return b[i%patternLen] ^ byte(r*0x9D+r>>8)
}

func patternBlock(key uint64) []byte {
	b := patternBlocks[key]
	if b == nil {
		b = make([]byte, patternLen)
		for j := range b {
			x := uint64(j)*0x9E3779B97F4A7C15 ^ key*0xD1B54A32D192ED03
			x ^= x >> 29
			x *= 0xBF58476D1CE4E5B9
			x ^= x >> 32
			b[j] = byte(x)
		}
		patternBlocks[key] = b
	}
	return b
}

// fillPattern writes the stream bytes from offset off into p.
func fillPattern(key uint64, off uint64, p []byte) {
	b := patternBlock(key)
	for i := range p {
		o := off + uint64(i)
		r := o / patternLen
		p[i] = b[o%patternLen] ^ byte(r*0x9D+r>>8)
	}
}

// Endpoint drives one connection as an application: it writes Send bytes
// of its pattern then closes its side, and reads and checks everything the
// peer sends.
type Endpoint struct {
	Conn    *core.Conn
	Host    *netsim.Host
	Key     uint64 // pattern of what this side sends
	PeerKey uint64 // pattern of what it receives
	Send    int
	// KeepOpen leaves the sending side open after Send bytes (no
	// CloseWrite): a peer that only listens.
	KeepOpen bool
	// Hold stops reading (the receive window closes) until it is
	// cleared and Pump runs.
	Hold bool

	Sent, Got  int
	Bad        int // bytes that differed from the pattern
	FirstBad   int
	EOF        bool
	Err        error
	LastGot    time.Time
	MaxStall   time.Duration
	Done       time.Time // when EOF arrived
	closedSend bool
	buf        []byte
	out        []byte
	pending    []byte // generated, not yet taken by Write
	want       []byte // what the next bytes read must be
	started    time.Time
}

// Attach installs the endpoint on its connection.
func (e *Endpoint) Attach(now time.Time) {
	e.buf = make([]byte, 64<<10)
	e.out = make([]byte, 64<<10)
	e.started, e.LastGot = now, now
	e.FirstBad = -1
	e.Conn.SetNotify(e.Pump)
	e.Pump()
}

// Pump writes and reads what it can; the stack calls it on every change.
func (e *Endpoint) Pump() {
	c := e.Conn
	now := e.Host.Sim().Now()
	for e.Sent < e.Send {
		if len(e.pending) == 0 {
			k := min(len(e.out), e.Send-e.Sent)
			fillPattern(e.Key, uint64(e.Sent), e.out[:k])
			e.pending = e.out[:k]
		}
		n, err := c.Write(e.pending)
		e.Sent += n
		e.pending = e.pending[n:]
		if err != nil {
			e.Err = err
			break
		}
		if len(e.pending) > 0 {
			break
		}
	}
	if e.Sent == e.Send && !e.closedSend && !e.KeepOpen {
		e.closedSend = true
		_ = c.CloseWrite()
	}
	for !e.EOF && !e.Hold {
		n, err := c.Read(e.buf)
		if n > 0 {
			if len(e.want) < n {
				e.want = make([]byte, len(e.buf))
			}
			fillPattern(e.PeerKey, uint64(e.Got), e.want[:n])
			for i := range n {
				if e.buf[i] != e.want[i] {
					if e.FirstBad < 0 {
						e.FirstBad = e.Got + i
					}
					e.Bad++
				}
			}
			e.Got += n
			if d := now.Sub(e.LastGot); d > e.MaxStall {
				e.MaxStall = d
			}
			e.LastGot = now
		}
		if err == io.EOF {
			e.EOF = true
			e.Done = now
			break
		}
		if err != nil {
			if err != core.ErrWouldBlock {
				e.Err = err
			}
			break
		}
	}
	e.Host.Wake()
}

// Pair is a client and server endpoint of one connection.
type Pair struct {
	C, S *Endpoint
	net  *Net
}

// StartTransfer dials from the client, accepts on the server, and starts
// both endpoints: the client sends up bytes, the server down bytes.
func (n *Net) StartTransfer(up, down int, opts core.ConnOptions) (*Pair, error) {
	now := n.Sim.Now()
	any := netip.IPv4Unspecified()
	if n.ServerAddr.Is6() {
		any = netip.IPv6Unspecified()
	}
	ln, err := n.SS.Listen(netip.AddrPortFrom(any, 80))
	if err != nil {
		return nil, err
	}
	p := &Pair{net: n}
	ln.SetNotify(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.S != nil {
				continue
			}
			p.S = &Endpoint{Conn: c, Host: n.Server, Key: 2, PeerKey: 1, Send: down, KeepOpen: n.ServerKeepsOpen}
			p.S.Attach(n.Sim.Now())
		}
	})
	c, err := n.CS.Dial(now, netip.Addr{}, netip.AddrPortFrom(n.ServerAddr, 80), opts)
	if err != nil {
		return nil, err
	}
	p.C = &Endpoint{Conn: c, Host: n.Client, Key: 1, PeerKey: 2, Send: up, KeepOpen: n.ClientKeepsOpen}
	p.C.Attach(now)
	return p, nil
}

// Finished reports whether both sides received everything and EOF.
func (p *Pair) Finished() bool {
	return p.S != nil && p.C.EOF && p.S.EOF
}

// RunUntilDone runs the simulation until the transfer finished or limit
// passed, in steps, and returns whether it finished.
func (n *Net) RunUntilDone(p *Pair, limit time.Duration) bool {
	end := n.Sim.Now().Add(limit)
	for n.Sim.Now().Before(end) {
		n.Sim.RunFor(50 * time.Millisecond)
		if p.Finished() {
			return true
		}
	}
	return p.Finished()
}

// Check returns an error describing what went wrong with the transfer,
// nil if every byte arrived once, in order and intact in both directions.
func (p *Pair) Check(up, down int) error {
	if p.net != nil && p.net.TimerErr != nil {
		return p.net.TimerErr
	}
	if p.S == nil {
		return fmt.Errorf("server never accepted (client err %v, state %v)", p.C.Conn.Err(), p.C.Conn.State())
	}
	for _, x := range []struct {
		name string
		e    *Endpoint
		want int
	}{{"client<-server", p.C, down}, {"server<-client", p.S, up}} {
		if x.e.Bad > 0 {
			return fmt.Errorf("%s: %d corrupted bytes, first at %d", x.name, x.e.Bad, x.e.FirstBad)
		}
		if x.e.Got != x.want {
			return fmt.Errorf("%s: got %d bytes, want %d (eof %v, err %v, conn err %v)", x.name, x.e.Got, x.want, x.e.EOF, x.e.Err, x.e.Conn.Err())
		}
		if !x.e.EOF {
			return fmt.Errorf("%s: no EOF", x.name)
		}
	}
	return nil
}

// CheckClosed runs the simulation a little longer and reports an error
// unless both connections closed in order, the stacks forgot them, and
// the MPCurrEstab gauges are back to zero.
func (n *Net) CheckClosed(p *Pair, d time.Duration) error {
	n.Sim.RunFor(d)
	for _, e := range []*Endpoint{p.C, p.S} {
		if e == nil {
			continue
		}
		if st := e.Conn.State(); st != core.StateClosed || e.Conn.Err() != nil {
			return fmt.Errorf("server=%v: state %v, err %v after the transfer", e.Conn.Server(), st, e.Conn.Err())
		}
	}
	for name, s := range map[string]*core.Stack{"client": n.CS, "server": n.SS} {
		if k := len(s.Conns()); k != 0 {
			return fmt.Errorf("%s stack still holds %d connections", name, k)
		}
		if g := s.MIB().Get(core.MPCurrEstab); g != 0 {
			return fmt.Errorf("%s MPCurrEstab = %d", name, g)
		}
	}
	return nil
}

// injector is a stack that sends the packets it is given, whatever their
// source address, and ignores what it receives.
type injector struct{ q [][]byte }

func (i *injector) Deliver(time.Time, []byte) {}
func (i *injector) Poll(_ time.Time, send func([]byte)) time.Time {
	for _, p := range i.q {
		send(p)
	}
	i.q = i.q[:0]
	return time.Time{}
}

// Inject sends pkt into the router from a host that claims pkt's source
// address (a spoofing attacker next to the router). Replies follow the
// router's routes, to the real owner of that address.
func (n *Net) Inject(pkt []byte) error {
	src, _, _, _, err := wire.ParseIP(pkt)
	if err != nil {
		return err
	}
	if n.inj == nil {
		h, err := n.Sim.NewHost("injector")
		if err != nil {
			return err
		}
		ri, err := n.Router.AddInterface("inj", netip.MustParsePrefix("10.8.0.1/24"))
		if err != nil {
			return err
		}
		hi, err := h.AddInterface("eth0", netip.MustParsePrefix("10.8.0.2/24"))
		if err != nil {
			return err
		}
		if _, err := n.Sim.Connect(hi, ri, netsim.PipeConfig{Delay: time.Millisecond}); err != nil {
			return err
		}
		n.inj, n.injHost, n.injIf = &injector{}, h, hi
		h.SetStack(n.inj)
	}
	if !slices.ContainsFunc(n.injIf.Addrs(), func(p netip.Prefix) bool { return p.Addr() == src }) {
		if err := n.injIf.AddAddress(netip.PrefixFrom(src, src.BitLen())); err != nil {
			return err
		}
	}
	n.inj.q = append(n.inj.q, append([]byte(nil), pkt...))
	n.injHost.Wake()
	return nil
}

// CheckCounters returns an error if the two stacks' counters contradict
// each other or the connection: one MP_CAPABLE handshake each way, joins
// completed on both sides (all of them unless the paths are lossy, where
// one may still be retrying when the transfer ends), and no MPTCP error
// counted on a network without middleboxes.
func (n *Net) CheckCounters(p *Pair, joins int, lossy bool) error {
	cm, sm := n.CS.MIB(), n.SS.MIB()
	check := func(what string, ok bool) error {
		if !ok {
			return fmt.Errorf("counters: %s (client %v, server %v)", what, cm.Map(false), sm.Map(false))
		}
		return nil
	}
	for _, e := range []error{
		check("one MP_CAPABLE handshake", cm.Get(core.MPCapableSYNACKRX) == 1 && sm.Get(core.MPCapableACKRX) == 1 &&
			sm.Get(core.MPCapableSYNRX) >= 1 && cm.Get(core.MPCapableSYNTX) >= sm.Get(core.MPCapableSYNRX)),
		check("joins completed on both sides", (int(sm.Get(core.MPJoinAckRx)) == joins || lossy && int(sm.Get(core.MPJoinAckRx)) <= joins) &&
			cm.Get(core.MPJoinSynAckRx) >= sm.Get(core.MPJoinAckRx) && sm.Get(core.MPJoinSynRx) >= sm.Get(core.MPJoinAckRx)),
		check("no protocol errors", cm.Get(core.DSSNotMatching)+sm.Get(core.DSSNotMatching)+cm.Get(core.DSSNoMatchTCP)+
			sm.Get(core.DSSNoMatchTCP)+cm.Get(core.MPJoinSynAckHMacFailure)+sm.Get(core.MPJoinAckHMacFailure)+
			cm.Get(core.FallbackFailed)+sm.Get(core.FallbackFailed)+cm.Get(core.DataCsumErr)+sm.Get(core.DataCsumErr) == 0),
		check("no data beyond the window", cm.Get(core.NoDSSInWindow)+sm.Get(core.NoDSSInWindow) == 0),
	} {
		if e != nil {
			return e
		}
	}
	return nil
}
