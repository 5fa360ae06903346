package tcp

import (
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// twEntry is what TIME-WAIT keeps of a connection: enough to acknowledge a
// retransmitted FIN, reject old duplicates and judge whether a new SYN may
// reuse the 4-tuple (RFC 6191). A few dozen bytes instead of a Conn.
type twEntry struct {
	sndNxt, rcvNxt uint32 // wire values
	tsOK           bool
	tsRecent       uint32
	tsOffset       uint32
	wnd            uint16
	expires        time.Duration
	lastACK        time.Duration
}

// timeWaitTable holds the TIME-WAIT entries, bounded, with their expiry
// order in a FIFO: every entry lives the same 2*MSL, so insertion order is
// expiry order, and an entry restarted by a retransmitted FIN is moved to
// the back when its old slot comes up.
type timeWaitTable struct {
	m    map[tuple]twEntry
	fifo []twRef
	head int
}

type twRef struct {
	key     tuple
	expires time.Duration
}

func (t *timeWaitTable) init() { t.m = make(map[tuple]twEntry) }

func (t *timeWaitTable) len() int { return len(t.m) }

func (t *timeWaitTable) has(k tuple) bool {
	_, ok := t.m[k]
	return ok
}

func (t *timeWaitTable) remove(k tuple) { delete(t.m, k) }

// add inserts an entry, or reports false when the table is full.
func (t *timeWaitTable) add(s *Stack, k tuple, e twEntry) bool {
	if len(t.m) >= s.cfg.MaxTimeWait {
		return false
	}
	t.m[k] = e
	t.fifo = append(t.fifo, twRef{k, e.expires})
	return true
}

// next returns the earliest expiry, or 0.
func (t *timeWaitTable) next() time.Duration {
	if t.head < len(t.fifo) {
		return t.fifo[t.head].expires
	}
	return 0
}

// expire removes the entries whose time is up.
func (t *timeWaitTable) expire(now time.Duration) {
	for t.head < len(t.fifo) && t.fifo[t.head].expires <= now {
		r := t.fifo[t.head]
		t.fifo[t.head] = twRef{}
		t.head++
		if e, ok := t.m[r.key]; ok {
			if e.expires <= now {
				delete(t.m, r.key)
			} else {
				t.fifo = append(t.fifo, twRef{r.key, e.expires})
			}
		}
	}
	if t.head > 64 && t.head*2 > len(t.fifo) {
		n := copy(t.fifo, t.fifo[t.head:])
		clear(t.fifo[n:])
		t.fifo = t.fifo[:n]
		t.head = 0
	}
}

// input handles a segment for a tuple in TIME-WAIT (RFC 9293 section
// 3.10.7.4, RFC 6191, RFC 1337). It reports false when the segment is a
// SYN allowed to start a new incarnation, which the caller then hands to
// the listener.
func (t *timeWaitTable) input(s *Stack, g *inSeg) bool {
	k := tuple{g.local, g.remote}
	e, ok := t.m[k]
	if !ok {
		return false
	}
	if g.has(wire.FlagRST) {
		// RFC 1337: a RST must not cut TIME-WAIT short (TIME-WAIT
		// assassination).
		return true
	}
	o := g.opts
	paws := e.tsOK && o.HasTimestamps && seqLT(o.TSVal, e.tsRecent)
	if g.has(wire.FlagSYN) && !g.has(wire.FlagACK) {
		newer := seqGT(g.seq, e.rcvNxt)
		if e.tsOK && o.HasTimestamps {
			newer = seqGT(o.TSVal, e.tsRecent)
		}
		if !paws && newer {
			delete(t.m, k)
			s.stats.TimeWaitRecycled++
			return false
		}
		t.ack(s, g, &e)
		t.m[k] = e
		return true
	}
	if paws {
		s.stats.PAWSEstab++
	}
	if !paws && g.seq == e.rcvNxt && g.seqLen() == 0 {
		return true // a late bare ACK
	}
	if g.has(wire.FlagFIN) || paws || g.has(wire.FlagACK) {
		// A retransmitted FIN: our last ACK was lost. Restart 2*MSL.
		e.expires = s.now + s.cfg.TimeWait
	}
	t.ack(s, g, &e)
	t.m[k] = e
	return true
}

// ack sends the TIME-WAIT ACK, rate-limited like out-of-window ACKs.
func (t *timeWaitTable) ack(s *Stack, g *inSeg, e *twEntry) {
	if e.lastACK != 0 && s.now-e.lastACK < oowACKInterval && !g.has(wire.FlagFIN) {
		return
	}
	e.lastACK = s.now
	f := wire.TCPFields{
		SrcPort: g.local.Port(),
		DstPort: g.remote.Port(),
		Seq:     e.sndNxt,
		Ack:     e.rcvNxt,
		Flags:   wire.FlagACK,
		Window:  e.wnd,
	}
	b := &s.optb
	b.Reset()
	if e.tsOK {
		b.AddTimestamps(e.tsOffset+uint32(s.now/time.Millisecond), e.tsRecent)
	}
	s.emit(s.buildPacket(g.local.Addr(), g.remote.Addr(), &f, b.Bytes(), nil, nil))
}
