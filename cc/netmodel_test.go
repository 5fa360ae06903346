package cc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// This file extends the single-flow packet model of model_test.go to several
// flows over several bottlenecks, to test coupled algorithms as MPTCP uses
// them: each flow is one TCP connection or one MPTCP subflow with an
// unlimited backlog (so the MPTCP scheduler plays no part), crossing one
// bottleneck link, a FIFO of fixed rate with a queue counted in bytes, plus
// a fixed propagation delay of its own. The senders behave as model's: ACK
// per packet, loss after a packet threshold of three, one congestion event
// per window, a retransmission timer, retransmissions sent as new packets.
//
// The queue drops arriving packets when full (drop tail) and, like RED in
// its gentle form, drops a few early, with a probability growing linearly
// from 0 at minThresh to maxP at the full queue. Early drops keep competing
// flows from synchronising their losses on a deterministic simulator, where
// drop tail would otherwise hand all of one link's losses to whichever flow
// happens to be in phase with the queue. The drops come from a random source
// seeded by the test: runs are exactly repeatable.

// netLink is a bottleneck.
type netLink struct {
	name      string
	rate      float64 // bytes per second
	queueCap  int     // bytes
	minThresh int     // bytes of queue before early drops begin; 0: drop tail only
	maxP      float64 // early drop probability just below a full queue

	busyUntil time.Duration
	drops     int
	// queueSum and queueN sample the queue an arriving packet finds, for
	// the mean queueing delay.
	queueSum time.Duration
	queueN   int
}

// netFlow is one sender: a TCP connection or one MPTCP subflow.
type netFlow struct {
	name  string
	c     Controller
	link  *netLink
	rtt   time.Duration // round-trip propagation delay, queue excluded
	start time.Duration // when it begins to send

	started  bool
	out      []modelPkt
	acks     []modelAck
	nextPN   uint64
	inFlight int
	largest  uint64

	recovering bool
	recoverPN  uint64

	srtt, rttvar, minRTT time.Duration
	rtoBase              time.Duration

	delivered []int64 // bytes forwarded by the bottleneck, per bucket
	events    int     // congestion events
	rtos      int
}

// netModel runs flows over links in virtual time.
type netModel struct {
	mss    int
	bucket time.Duration
	now    time.Duration
	flows  []*netFlow
	rng    *rand.Rand
}

func newNetModel(seed uint64, mss int) *netModel {
	return &netModel{
		mss:    mss,
		bucket: 100 * time.Millisecond,
		rng:    rand.New(rand.NewPCG(seed, 0x6d70746370)),
	}
}

// flow adds a sender using controller c over link l with propagation RTT
// rtt, starting at start.
func (n *netModel) flow(name string, c Controller, l *netLink, rtt, start, length time.Duration) *netFlow {
	f := &netFlow{name: name, c: c, link: l, rtt: rtt, start: start,
		delivered: make([]int64, int(length/n.bucket)+1)}
	n.flows = append(n.flows, f)
	return f
}

func (n *netModel) abs(d time.Duration) time.Time { return epoch0.Add(d) }

// rto is RFC 6298's timeout with a 200 ms floor, as Linux's.
func (f *netFlow) rto() time.Duration {
	if f.srtt == 0 {
		return time.Second
	}
	return max(f.srtt+4*f.rttvar, 200*time.Millisecond)
}

// next returns when f next needs to run, and whether that is its timer.
func (f *netFlow) next(now time.Duration) (at time.Duration, timer bool) {
	at = 1<<63 - 1
	if !f.started {
		return f.start, false
	}
	if len(f.acks) > 0 {
		at = f.acks[0].at
	}
	if f.inFlight > 0 {
		if t := f.rtoBase + f.rto(); t < at {
			return t, true
		}
	}
	return at, false
}

// send fills f's window.
func (n *netModel) send(f *netFlow) {
	f.started = true
	for f.inFlight+n.mss <= f.c.Window() {
		p := modelPkt{pn: f.nextPN, sentAt: n.now, size: n.mss}
		f.nextPN++
		f.c.OnPacketSent(n.abs(n.now), Sent{Bytes: p.size, PriorInFlight: f.inFlight})
		if f.inFlight == 0 {
			f.rtoBase = n.now
		}
		f.inFlight += p.size
		f.out = append(f.out, p)

		l := f.link
		backlog := max(int(float64(l.busyUntil-n.now)/float64(time.Second)*l.rate), 0)
		l.queueSum += max(l.busyUntil-n.now, 0)
		l.queueN++
		if backlog+p.size > l.queueCap {
			l.drops++
			continue
		}
		if l.minThresh > 0 && backlog > l.minThresh {
			prob := l.maxP * float64(backlog-l.minThresh) / float64(l.queueCap-l.minThresh)
			if n.rng.Float64() < prob {
				l.drops++
				continue
			}
		}
		l.busyUntil = max(n.now, l.busyUntil) + time.Duration(float64(p.size)/l.rate*float64(time.Second))
		if b := int(l.busyUntil / n.bucket); b < len(f.delivered) {
			f.delivered[b] += int64(p.size)
		}
		at := l.busyUntil + f.rtt
		if k := len(f.acks); k > 0 {
			at = max(at, f.acks[k-1].at)
		}
		f.acks = append(f.acks, modelAck{at: at, pn: p.pn})
	}
}

// run drives every flow until the given time.
func (n *netModel) run(until time.Duration) {
	for {
		var f *netFlow
		at, timer := until, false
		for _, g := range n.flows {
			if t, tm := g.next(n.now); t < at {
				f, at, timer = g, t, tm
			}
		}
		if f == nil {
			return
		}
		n.now = at
		switch {
		case timer:
			n.timeout(f)
		case len(f.acks) > 0 && f.acks[0].at == at:
			a := f.acks[0]
			f.acks = f.acks[1:]
			n.ack(f, a.pn)
		}
		n.send(f)
	}
}

func (n *netModel) timeout(f *netFlow) {
	f.rtos++
	f.c.OnRTO(n.abs(n.now), Loss{FlightSize: f.inFlight, Lost: f.inFlight})
	f.out = f.out[:0]
	f.inFlight = 0
	f.recovering = false
	f.rtoBase = n.now
}

func (n *netModel) ack(f *netFlow, pn uint64) {
	if len(f.out) == 0 || pn < f.out[0].pn || pn >= f.out[0].pn+uint64(len(f.out)) {
		return
	}
	p := &f.out[pn-f.out[0].pn]
	if p.acked {
		return
	}
	p.acked = true
	prior := f.inFlight
	f.inFlight -= p.size
	f.largest = max(f.largest, pn)
	f.rtoBase = n.now

	r := n.now - p.sentAt
	if f.srtt == 0 {
		f.srtt, f.rttvar = r, r/2
	} else {
		d := f.srtt - r
		if d < 0 {
			d = -d
		}
		f.rttvar = (3*f.rttvar + d) / 4
		f.srtt = (7*f.srtt + r) / 8
	}
	if f.minRTT == 0 || r < f.minRTT {
		f.minRTT = r
	}

	flight := f.inFlight + p.size
	lost, event := 0, false
	for len(f.out) > 0 {
		h := f.out[0]
		if h.acked {
			f.out = f.out[1:]
			continue
		}
		if h.pn+3 > f.largest {
			break
		}
		f.out = f.out[1:]
		lost += h.size
		f.inFlight -= h.size
		if h.pn >= f.recoverPN {
			event = true
		}
	}
	if f.recovering && (len(f.out) == 0 || f.out[0].pn >= f.recoverPN) {
		f.recovering = false
		f.c.OnRecoveryExit(n.abs(n.now))
	}
	if event {
		f.events++
		f.recovering = true
		f.recoverPN = f.nextPN
		f.c.OnCongestionEvent(n.abs(n.now), Loss{FlightSize: flight, Lost: lost})
	}
	f.c.OnAck(n.abs(n.now), Ack{
		Acked:         p.size,
		PriorInFlight: prior,
		RTT:           r,
		SRTT:          f.srtt,
		MinRTT:        f.minRTT,
	})
}

// rate returns f's throughput in bytes per second over [from, to).
func (n *netModel) rate(f *netFlow, from, to time.Duration) float64 {
	var b int64
	for i := int(from / n.bucket); i < int(to/n.bucket) && i < len(f.delivered); i++ {
		b += f.delivered[i]
	}
	return float64(b) / (to - from).Seconds()
}

// meanQueueDelay is the mean queueing delay packets found at l.
func (l *netLink) meanQueueDelay() time.Duration {
	if l.queueN == 0 {
		return 0
	}
	return l.queueSum / time.Duration(l.queueN)
}

// Mbps formats a rate in bytes per second as Mbit/s.
func mbps(bytesPerSecond float64) string { return fmt.Sprintf("%.2f Mbit/s", bytesPerSecond*8/1e6) }

// scenario is a topology for the multipath tests: links, TCP flows and one
// or more MPTCP connections, each a list of subflows.
type scenario struct {
	links []netLink    // copied afresh for each run
	tcp   []pathSpec   // single-path Reno flows
	mptcp [][]pathSpec // connections of subflows
}

// pathSpec places a flow on link number link with propagation RTT rtt.
type pathSpec struct {
	link int
	rtt  time.Duration
}

// result holds a scenario's measured rates in bytes per second.
type result struct {
	tcp   []float64   // per TCP flow
	sub   [][]float64 // per MPTCP connection, per subflow
	model *netModel
	links []*netLink
	flows struct {
		tcp []*netFlow
		sub [][]*netFlow
	}
}

// conn returns MPTCP connection i's aggregate rate.
func (r *result) conn(i int) float64 {
	s := 0.0
	for _, x := range r.sub[i] {
		s += x
	}
	return s
}

// Test lengths: long enough for some hundreds of loss cycles at these
// rates, with the first part, slow start and convergence, not measured.
const (
	netMSS     = 1448
	netLength  = 300 * time.Second
	netMeasure = 60 * time.Second
)

// mbit is a link rate of x Mbit/s in bytes per second.
func mbit(x float64) float64 { return x * 1e6 / 8 }

// newLink returns a link of the given rate whose queue holds one
// bandwidth-delay product at rtt, with early drops from a fifth of it.
func newLink(name string, rate float64, rtt time.Duration) netLink {
	bdp := int(rate * rtt.Seconds())
	return netLink{name: name, rate: rate, queueCap: bdp, minThresh: bdp / 5, maxP: 0.1}
}

// run runs s with the named algorithm on the MPTCP connections. Flows
// start 10 ms apart in the order given, TCP first.
func (s scenario) run(t *testing.T, algo string, seed uint64) *result {
	t.Helper()
	n := newNetModel(seed, netMSS)
	links := make([]*netLink, len(s.links))
	for i := range s.links {
		l := s.links[i]
		links[i] = &l
	}
	r := &result{model: n, links: links}
	start := time.Duration(0)
	for i, p := range s.tcp {
		c := mustNew(t, "reno", Params{MSS: netMSS})
		r.flows.tcp = append(r.flows.tcp, n.flow(fmt.Sprintf("tcp%d", i), c, links[p.link], p.rtt, start, netLength))
		start += 10 * time.Millisecond
	}
	for i, conn := range s.mptcp {
		g := NewGroup()
		var fs []*netFlow
		for j, p := range conn {
			c := mustNew(t, algo, Params{MSS: netMSS, Group: g})
			fs = append(fs, n.flow(fmt.Sprintf("mp%d.%d", i, j), c, links[p.link], p.rtt, start, netLength))
			start += 10 * time.Millisecond
		}
		r.flows.sub = append(r.flows.sub, fs)
	}
	n.run(netLength)
	for _, f := range r.flows.tcp {
		r.tcp = append(r.tcp, n.rate(f, netMeasure, netLength))
	}
	for _, fs := range r.flows.sub {
		var rates []float64
		for _, f := range fs {
			rates = append(rates, n.rate(f, netMeasure, netLength))
		}
		r.sub = append(r.sub, rates)
	}
	return r
}

// summary describes r in one line per flow, for the test log.
func (r *result) summary() string {
	var b strings.Builder
	for i, f := range r.flows.tcp {
		fmt.Fprintf(&b, "\n  %s on %s: %s, %d congestion events, %d RTOs", f.name, f.link.name, mbps(r.tcp[i]), f.events, f.rtos)
	}
	for i, fs := range r.flows.sub {
		for j, f := range fs {
			fmt.Fprintf(&b, "\n  %s on %s: %s, %d congestion events, %d RTOs", f.name, f.link.name, mbps(r.sub[i][j]), f.events, f.rtos)
		}
		fmt.Fprintf(&b, "\n  mptcp%d total: %s", i, mbps(r.conn(i)))
	}
	return b.String()
}
