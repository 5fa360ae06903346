package cc

import (
	"testing"
	"time"
)

// This file holds a small, deterministic, ACK-clocked packet model of one
// bulk flow over one bottleneck, to test controllers as an engine would drive
// them: a sender with an unlimited backlog, a FIFO bottleneck of fixed rate
// with a drop-tail queue counted in bytes, a fixed propagation delay, a
// receiver that acknowledges every packet, loss detection by a packet
// threshold of three (as RFC 9002 and RACK do), one congestion event per
// window, and a retransmission timer. Retransmissions are new packets, so
// every packet the bottleneck forwards is useful data.

// epoch0 is the model's time zero; any fixed instant would do.
var epoch0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type modelLink struct {
	rate     float64       // bottleneck rate in bytes per second; 0 is infinite
	rtt      time.Duration // round-trip propagation delay
	queueCap int           // drop-tail queue in bytes; 0 is unlimited
	// extra, if set, adds a delay to packets sent at a time since the start,
	// for shaping RTT samples.
	extra func(sent time.Duration) time.Duration
}

type modelPkt struct {
	pn     uint64
	sentAt time.Duration
	size   int
	acked  bool
}

type modelAck struct {
	at time.Duration
	pn uint64
}

// modelStats is what a run of the model measured.
type modelStats struct {
	delivered   []int64 // bytes forwarded by the bottleneck per bucket
	bucket      time.Duration
	events      int // congestion events
	rtos        int
	drops       int
	firstLossAt time.Duration // -1 if none
	maxCwnd     int
}

// bytesBetween returns the bytes the bottleneck forwarded in [from, to).
func (s *modelStats) bytesBetween(from, to time.Duration) int64 {
	var n int64
	for i := int(from / s.bucket); i < int(to/s.bucket) && i < len(s.delivered); i++ {
		n += s.delivered[i]
	}
	return n
}

type model struct {
	t    *testing.T
	c    Controller
	mss  int
	link modelLink

	now       time.Duration
	busyUntil time.Duration // when the bottleneck finishes its queue
	lastAckAt time.Duration

	out      []modelPkt // outstanding packets, in packet number order
	acks     []modelAck // acknowledgements on their way, in arrival order
	nextPN   uint64
	inFlight int
	largest  uint64

	// nextSend is when pacing next allows a segment. paceSlack lets a
	// sender that fell behind catch up by a little, as Linux's fq does not
	// (it is zero), or sends a short burst.
	nextSend  time.Duration
	paceSlack time.Duration

	recovering bool
	recoverPN  uint64 // recovery ends when a packet numbered at least this is acked

	srtt, rttvar, minRTT time.Duration
	rtoBase              time.Duration // last time the timer was (re)armed

	// onAck, if set, is called after each ACK is processed.
	onAck func(m *model)

	stats modelStats
}

func newModel(t *testing.T, c Controller, mss int, l modelLink, length time.Duration) *model {
	bucket := 100 * time.Millisecond
	return &model{
		t: t, c: c, mss: mss, link: l,
		stats: modelStats{
			delivered:   make([]int64, int(length/bucket)+1),
			bucket:      bucket,
			firstLossAt: -1,
		},
	}
}

func (m *model) abs(d time.Duration) time.Time { return epoch0.Add(d) }

// send fills the congestion window, no faster than the pacing rate.
func (m *model) send() {
	for m.inFlight+m.mss <= m.c.Window() {
		if m.nextSend > m.now {
			return
		}
		if r := m.c.PacingRate(); r > 0 {
			m.nextSend = max(m.nextSend, m.now-m.paceSlack) + time.Duration(float64(m.mss)/r*float64(time.Second))
		}
		p := modelPkt{pn: m.nextPN, sentAt: m.now, size: m.mss}
		m.nextPN++
		m.c.OnPacketSent(m.abs(m.now), Sent{Bytes: p.size, PriorInFlight: m.inFlight})
		if m.inFlight == 0 {
			m.rtoBase = m.now
		}
		m.inFlight += p.size
		m.out = append(m.out, p)

		start := max(m.now, m.busyUntil)
		if m.link.rate > 0 {
			backlog := float64(m.busyUntil-m.now) / float64(time.Second) * m.link.rate
			if m.link.queueCap > 0 && backlog > 0 && int(backlog)+p.size > m.link.queueCap {
				m.stats.drops++
				continue
			}
			m.busyUntil = start + time.Duration(float64(p.size)/m.link.rate*float64(time.Second))
		} else {
			m.busyUntil = start
		}
		if b := int(m.busyUntil / m.stats.bucket); b < len(m.stats.delivered) {
			m.stats.delivered[b] += int64(p.size)
		}
		at := m.busyUntil + m.link.rtt
		if m.link.extra != nil {
			at += m.link.extra(m.now)
		}
		at = max(at, m.lastAckAt) // the return path does not reorder
		m.lastAckAt = at
		m.acks = append(m.acks, modelAck{at: at, pn: p.pn})
	}
	m.stats.maxCwnd = max(m.stats.maxCwnd, m.c.Window())
}

func (m *model) rto() time.Duration {
	if m.srtt == 0 {
		return time.Second
	}
	return max(m.srtt+4*m.rttvar, 200*time.Millisecond)
}

// run drives the model until the given time.
func (m *model) run(until time.Duration) {
	m.send()
	for {
		next := until
		if len(m.acks) > 0 {
			next = min(next, m.acks[0].at)
		}
		rtoAt := m.rtoBase + m.rto()
		timer := m.inFlight > 0 && rtoAt < next
		if timer {
			next = rtoAt
		}
		pace := m.nextSend > m.now && m.nextSend < next && m.inFlight+m.mss <= m.c.Window()
		if pace {
			next, timer = m.nextSend, false
		}
		if next >= until {
			return
		}
		m.now = next
		switch {
		case pace:
		case timer:
			m.timeout()
		default:
			a := m.acks[0]
			m.acks = m.acks[1:]
			m.ack(a.pn)
		}
		m.send()
	}
}

func (m *model) timeout() {
	m.stats.rtos++
	lost := m.inFlight
	m.c.OnRTO(m.abs(m.now), Loss{FlightSize: m.inFlight, Lost: lost})
	m.out = m.out[:0]
	m.inFlight = 0
	m.recovering = false
	m.rtoBase = m.now
}

func (m *model) ack(pn uint64) {
	if len(m.out) == 0 || pn < m.out[0].pn || pn >= m.out[0].pn+uint64(len(m.out)) {
		return // declared lost already; a late copy
	}
	p := &m.out[pn-m.out[0].pn]
	if p.acked {
		return
	}
	p.acked = true
	prior := m.inFlight
	m.inFlight -= p.size
	m.largest = max(m.largest, pn)
	m.rtoBase = m.now

	r := m.now - p.sentAt
	if m.srtt == 0 {
		m.srtt, m.rttvar = r, r/2
	} else {
		d := m.srtt - r
		if d < 0 {
			d = -d
		}
		m.rttvar = (3*m.rttvar + d) / 4
		m.srtt = (7*m.srtt + r) / 8
	}
	if m.minRTT == 0 || r < m.minRTT {
		m.minRTT = r
	}

	// Loss detection: a packet three behind the largest acknowledged one
	// is lost. Acknowledged packets at the head are done with.
	flight := m.inFlight + p.size // outstanding before this ACK, SND.NXT - SND.UNA
	lost, event := 0, false
	for len(m.out) > 0 {
		h := m.out[0]
		if h.acked {
			m.out = m.out[1:]
			continue
		}
		if h.pn+3 > m.largest {
			break
		}
		m.out = m.out[1:]
		lost += h.size
		m.inFlight -= h.size
		// One congestion event per window: only the loss of a packet sent
		// after the last event began starts a new one.
		if h.pn >= m.recoverPN {
			event = true
		}
	}
	// Recovery ends when everything outstanding at the event has been
	// acknowledged or given up as lost (SND.UNA passes the recovery point).
	if m.recovering && (len(m.out) == 0 || m.out[0].pn >= m.recoverPN) {
		m.recovering = false
		m.c.OnRecoveryExit(m.abs(m.now))
	}
	if event {
		m.stats.events++
		if m.stats.firstLossAt < 0 {
			m.stats.firstLossAt = m.now
		}
		m.recovering = true
		m.recoverPN = m.nextPN
		m.c.OnCongestionEvent(m.abs(m.now), Loss{FlightSize: flight, Lost: lost})
	}

	m.c.OnAck(m.abs(m.now), Ack{
		Acked:         p.size,
		PriorInFlight: prior,
		RTT:           r,
		SRTT:          m.srtt,
		MinRTT:        m.minRTT,
	})
	if m.onAck != nil {
		m.onAck(m)
	}
}

// TestModelUtilisation checks that one flow of either algorithm keeps a
// 100 Mbit/s, 40 ms bottleneck with a BDP-sized buffer at least 95% busy in
// steady state, with isolated congestion events and no timeout.
func TestModelUtilisation(t *testing.T) {
	const (
		mss     = 1448
		rate    = 100e6 / 8
		rtt     = 40 * time.Millisecond
		length  = 60 * time.Second
		measure = 20 * time.Second
	)
	bdp := int(rate * rtt.Seconds())
	for _, tc := range []struct {
		name  string
		paced bool
	}{{"reno", false}, {"reno", true}, {"cubic", false}, {"cubic", true}} {
		name := tc.name
		if tc.paced {
			name += "/paced"
		}
		t.Run(name, func(t *testing.T) {
			c, err := New(tc.name, Params{MSS: mss, Pacing: tc.paced})
			if err != nil {
				t.Fatal(err)
			}
			m := newModel(t, c, mss, modelLink{rate: rate, rtt: rtt, queueCap: bdp}, length)
			m.run(length)
			got := float64(m.stats.bytesBetween(measure, length)) / (rate * (length - measure).Seconds())
			t.Logf("%s: utilisation %.4f over %v..%v; %d congestion events, %d drops, %d RTOs, max cwnd %d (BDP %d)",
				name, got, measure, length, m.stats.events, m.stats.drops, m.stats.rtos, m.stats.maxCwnd, bdp)
			if got < 0.95 {
				t.Errorf("utilisation %.4f, want >= 0.95", got)
			}
			if m.stats.rtos != 0 {
				t.Errorf("%d RTOs, want 0", m.stats.rtos)
			}
			if m.stats.events == 0 {
				t.Errorf("no congestion event in %v: the model did not probe the bottleneck", length)
			}
		})
	}
}
