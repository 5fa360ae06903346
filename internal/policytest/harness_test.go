package policytest

import (
	"errors"
	"flag"
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/netsim"
)

var sweep = flag.Bool("sweep", false, "run the long sweeps (more seeds and settings)")

// path is one client access path; both directions alike.
type path struct {
	rate   int64         // bit/s
	delay  time.Duration // one way
	loss   float64       // towards the client (data of a download)
	jitter time.Duration // extra delay drawn uniformly in [0, jitter], both ways
	queue  int           // bytes (default: 2 BDP, at least 32 KiB)
}

// testNet is simtest's network: a multihomed client, one link per path to
// a router, and a server behind a fast link.
type testNet struct{ *simtest.Net }

const port = 443

// newNet builds the topology; client and server adjust the stacks'
// configurations.
func newNet(t testing.TB, seed uint64, paths []path, client, server func(*core.Config)) *testNet {
	t.Helper()
	ps := make([]simtest.Path, len(paths))
	for i, p := range paths {
		q := p.queue
		if q == 0 {
			q = max(32<<10, int(float64(p.rate)/8*4*p.delay.Seconds()))
		}
		ps[i] = simtest.Path{Rate: p.rate, Delay: p.delay, Loss: p.loss, LossDownOnly: true, Jitter: p.jitter, Queue: q}
	}
	n, err := simtest.NewNet(seed, ps, simtest.Options{Client: client, Server: server})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n.TimerErr != nil {
			t.Error(n.TimerErr)
		}
	})
	return &testNet{n}
}

// sink reads a connection and records when each message of msgSize
// bytes was complete.
type sink struct {
	c       *core.Conn
	host    *netsim.Host
	msgSize int
	got     int64
	done    []time.Time // completion time of each message
	eof     bool
	err     error
	buf     []byte
	marks   []mark // bytes read by time, for rates over windows
}

type mark struct {
	at  time.Time
	got int64
}

func (k *sink) pump() {
	now := k.host.Sim().Now()
	for !k.eof {
		n, err := k.c.Read(k.buf)
		if n > 0 {
			before := k.got
			k.got += int64(n)
			if k.msgSize > 0 {
				for m := before/int64(k.msgSize) + 1; m*int64(k.msgSize) <= k.got; m++ {
					k.done = append(k.done, now)
				}
			}
			continue
		}
		if err == io.EOF {
			k.eof = true
		} else if err != nil && !errors.Is(err, core.ErrWouldBlock) {
			k.err = err
		}
		break
	}
	if len(k.marks) == 0 || k.marks[len(k.marks)-1].at != now {
		k.marks = append(k.marks, mark{now, k.got})
	} else {
		k.marks[len(k.marks)-1].got = k.got
	}
	k.host.Wake()
}

// bytesAt returns how many bytes had been read by t.
func (k *sink) bytesAt(t time.Time) int64 {
	i, _ := slices.BinarySearchFunc(k.marks, t, func(m mark, t time.Time) int { return m.at.Compare(t) })
	if i < len(k.marks) && k.marks[i].at.Equal(t) {
		return k.marks[i].got
	}
	if i == 0 {
		return 0
	}
	return k.marks[i-1].got
}

// source writes messages: message i is due at due[i] (all at once for a
// bulk transfer); what the send buffer does not take waits for the next
// notification.
type source struct {
	c       *core.Conn
	host    *netsim.Host
	msgSize int
	due     []time.Time // when each message was handed to the connection by the application
	total   int64       // bytes due so far
	sent    int64
	bulk    bool // unlimited: always more to write
	buf     []byte
}

func (s *source) pump() {
	for s.bulk || s.sent < s.total {
		k := len(s.buf)
		if !s.bulk {
			k = int(min(int64(k), s.total-s.sent))
		}
		n, err := s.c.Write(s.buf[:k])
		s.sent += int64(n)
		if err != nil || n < k {
			break
		}
	}
	s.host.Wake()
}

// queue hands one more message to the connection now.
func (s *source) queue(now time.Time) {
	s.due = append(s.due, now)
	s.total += int64(s.msgSize)
	s.pump()
}

// flow is a download from the server to the client: a source on the
// server, a sink on the client.
type flow struct {
	src *source
	dst *sink
}

// startDownload dials from the client's first address and attaches a
// source to the server's end.
func (n *testNet) startDownload(t testing.TB, msgSize int, bulk bool, opts core.ConnOptions) *flow {
	t.Helper()
	// On every address: joins may come to addresses the server announces.
	ln, err := n.SS.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), port))
	if err != nil {
		t.Fatal(err)
	}
	f := &flow{}
	ln.SetNotify(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if f.src != nil {
				continue
			}
			f.src = &source{c: c, host: n.Server, msgSize: msgSize, bulk: bulk, buf: make([]byte, 64<<10)}
			c.SetNotify(f.src.pump)
			f.src.pump()
		}
	})
	c, err := n.CS.Dial(n.Sim.Now(), n.ClientAddrs[0], netip.AddrPortFrom(n.ServerAddr, port), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.dst = &sink{c: c, host: n.Client, msgSize: msgSize, buf: make([]byte, 64<<10)}
	c.SetNotify(f.dst.pump)
	n.Client.Wake()
	return f
}

// delays returns the delivery delay of each complete message: from the
// moment the application handed it over to the moment its last byte was
// read.
func (f *flow) delays() []time.Duration {
	out := make([]time.Duration, 0, len(f.dst.done))
	for i, d := range f.dst.done {
		if i < len(f.src.due) {
			out = append(out, d.Sub(f.src.due[i]))
		}
	}
	return out
}

// stats summarises delays.
type stats struct {
	n              int
	mean, p50, p99 time.Duration
	max            time.Duration
}

func summarise(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return stats{n: len(s), mean: sum / time.Duration(len(s)), p50: q(0.5), p99: q(0.99), max: s[len(s)-1]}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// subflowBytes returns the data-level bytes the client's subflows
// received, closed ones included, by the index of the client address
// they use.
func (n *testNet) subflowBytes(c *core.Conn) []uint64 {
	out := make([]uint64, len(n.ClientAddrs))
	info := c.Info()
	for _, s := range append(info.Subflows, info.ClosedSubflows...) {
		for i, a := range n.ClientAddrs {
			if s.Local.Addr() == a {
				out[i] += s.BytesReceived
			}
		}
	}
	return out
}

// addServerAddr gives the server another address, 10.9.i.2, on its own
// fast link to the router, and returns it.
func (n *testNet) addServerAddr(t testing.TB, i int) netip.Addr {
	t.Helper()
	a, err := n.AddServerAddr(i)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
