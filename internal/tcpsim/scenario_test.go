package tcpsim

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/tcp"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// patternPeriod is the period of the test stream: not a power of two, so
// it lines up with no segment or buffer size.
const patternPeriod = 1<<20 + 7

// pattern is the test stream's bytes, twice over, so that any window of up
// to one period starting anywhere is one contiguous slice.
var pattern = func() []byte {
	r := rand.New(rand.NewPCG(42, 43))
	p := make([]byte, 2*patternPeriod)
	for i := range patternPeriod {
		p[i] = byte(r.Uint32())
	}
	copy(p[patternPeriod:], p[:patternPeriod])
	return p
}()

// streamAt returns up to n bytes of the test stream at offset off.
func streamAt(off int64, n int) []byte {
	s := int(off % patternPeriod)
	return pattern[s : s+min(n, patternPeriod)]
}

// bulk is an application that sends total bytes of the test stream and
// checks what it receives against the stream, copy-free (Peek/Discard)
// and with a running CRC, so a byte out of place anywhere is caught.
type bulk struct {
	tcp.NopHooks
	host  *netsim.Host
	conn  *tcp.Conn
	total int64 // bytes to send; -1 for unlimited
	sent  int64
	fin   bool // CloseWrite once everything is written

	recv     int64
	bad      int64
	crc      uint32
	eof      bool
	closedAt time.Time
	firstAt  time.Time
	err      error
	// samples of (time, bytes received) every sampleEvery
	sampleEvery time.Duration
	samples     []sample
	nextSample  time.Time
}

type sample struct {
	t     time.Time
	bytes int64
}

func (b *bulk) Notify(c *tcp.Conn, now time.Time, ev tcp.Event) {
	b.conn = c
	if ev&(tcp.EventEstablished|tcp.EventWritable) != 0 {
		b.fill(c)
	}
	if ev&tcp.EventReadable != 0 {
		b.drain(c, now)
	}
	if ev&tcp.EventClosed != 0 && b.closedAt.IsZero() {
		b.closedAt = now
		b.err = c.Err()
	}
}

func (b *bulk) fill(c *tcp.Conn) {
	for b.total < 0 || b.sent < b.total {
		n := 256 << 10
		if b.total >= 0 {
			n = int(min(int64(n), b.total-b.sent))
		}
		w, err := c.Write(streamAt(b.sent, n))
		b.sent += int64(w)
		if err != nil || w < n {
			break
		}
	}
	if b.fin && b.total >= 0 && b.sent == b.total {
		c.CloseWrite()
	}
}

func (b *bulk) drain(c *tcp.Conn, now time.Time) {
	for {
		x, y := c.Peek()
		if len(x) == 0 {
			break
		}
		b.check(x)
		b.check(y)
		c.Discard(len(x) + len(y))
	}
	if b.sampleEvery > 0 {
		for !now.Before(b.nextSample) {
			b.samples = append(b.samples, sample{b.nextSample, b.recv})
			b.nextSample = b.nextSample.Add(b.sampleEvery)
		}
	}
	if c.EOF() {
		b.eof = true
	}
}

// check compares received bytes with the stream at the receive offset.
func (b *bulk) check(p []byte) {
	if len(p) == 0 {
		return
	}
	if b.recv == 0 {
		b.firstAt = time.Time{}
	}
	b.crc = crc32.Update(b.crc, castagnoli, p)
	for len(p) > 0 {
		want := streamAt(b.recv, len(p))
		k := len(want)
		if !bytes.Equal(p[:k], want) {
			for i := range k {
				if p[i] != want[i] {
					b.bad++
				}
			}
		}
		b.recv += int64(k)
		p = p[k:]
	}
}

// receivedBetween returns the bytes received between two sample times.
func (b *bulk) receivedBetween(t1, t2 time.Time) int64 {
	var x, y int64 = -1, -1
	for _, s := range b.samples {
		if x < 0 && !s.t.Before(t1) {
			x = s.bytes
		}
		if !s.t.After(t2) {
			y = s.bytes
		}
	}
	if x < 0 || y < 0 {
		return 0
	}
	return y - x
}

// acceptor hands every connection of a listener a new bulk app.
type acceptor struct {
	mk   func() *bulk
	apps []*bulk
}

func (a *acceptor) SYN(now time.Time, r *tcp.Request) (tcp.Hooks, error) {
	b := a.mk()
	a.apps = append(a.apps, b)
	return b, nil
}

// path is one simulated path between a client and a server.
type path struct {
	sim    *netsim.Sim
	client *netsim.Host
	server *netsim.Host
	cs, ss *tcp.Stack
	link   *netsim.Link
	caddr  netip.Addr
	saddr  netip.Addr
}

// stackConfig is the engine configuration the scenarios use.
func stackConfig(h *netsim.Host, cc string, tweak func(*tcp.Config)) tcp.Config {
	cfg := tcp.Config{Rand: h.Rand()}
	cfg.CongestionControl = cc
	if tweak != nil {
		tweak(&cfg)
	}
	return cfg
}

// newPath builds client <-> server over one link with the given pipe
// configuration in both directions.
func newPath(t testing.TB, seed uint64, pc netsim.PipeConfig, cc string, tweak func(*tcp.Config)) *path {
	t.Helper()
	s := netsim.New(seed)
	p := &path{sim: s, caddr: netip.MustParseAddr("10.0.0.1"), saddr: netip.MustParseAddr("10.0.0.2")}
	var err error
	if p.client, err = s.NewHost("client"); err != nil {
		t.Fatal(err)
	}
	if p.server, err = s.NewHost("server"); err != nil {
		t.Fatal(err)
	}
	ic, _ := p.client.AddInterface("eth0", netip.PrefixFrom(p.caddr, 24))
	is, _ := p.server.AddInterface("eth0", netip.PrefixFrom(p.saddr, 24))
	if p.link, err = s.Connect(ic, is, pc); err != nil {
		t.Fatal(err)
	}
	if p.cs, err = tcp.NewStack(stackConfig(p.client, cc, tweak)); err != nil {
		t.Fatal(err)
	}
	if p.ss, err = tcp.NewStack(stackConfig(p.server, cc, tweak)); err != nil {
		t.Fatal(err)
	}
	p.cs.AddAddress(p.caddr)
	p.ss.AddAddress(p.saddr)
	p.client.SetStack(p.cs)
	p.server.SetStack(p.ss)
	return p
}

// transfer sets up a bulk transfer: up bytes client->server and down bytes
// server->client, each side closing when done. It returns the client and
// server apps.
func (p *path) transfer(t testing.TB, up, down int64) (*bulk, *bulk) {
	t.Helper()
	srv := &bulk{total: down, fin: true, host: p.server}
	acc := &acceptor{mk: func() *bulk { return srv }}
	if _, err := p.ss.Listen(netip.AddrPortFrom(p.saddr, 5201), &tcp.ListenConfig{Hooks: acc}); err != nil {
		t.Fatal(err)
	}
	cli := &bulk{total: up, fin: true, host: p.client}
	c, err := p.cs.Dial(p.sim.Now(), netip.AddrPortFrom(p.saddr, 5201), &tcp.DialConfig{Hooks: cli})
	if err != nil {
		t.Fatal(err)
	}
	cli.conn = c
	p.client.Wake()
	return cli, srv
}

// runUntilDone runs the simulation until both apps saw EOF, or limit.
func (p *path) runUntilDone(limit time.Duration, apps ...*bulk) bool {
	end := p.sim.Now().Add(limit)
	for p.sim.Now().Before(end) {
		p.sim.RunFor(100 * time.Millisecond)
		done := true
		for _, a := range apps {
			done = done && a.eof
		}
		if done {
			return true
		}
	}
	return false
}

func crc32Update(c uint32, p []byte) uint32 { return crc32.Update(c, castagnoli, p) }
