package tcp

import "time"

// txSeg is one transmitted segment awaiting acknowledgment: the unit of
// loss detection and retransmission. Its boundaries are fixed when it is
// first sent and kept on retransmission, which is how record boundaries
// survive loss.
type txSeg struct {
	start, end uint64 // sequence offsets; end includes the FIN
	xmit       time.Duration
	flags      segFlags

	// Delivery-rate snapshot at (re)transmission.
	delivered     uint64
	deliveredTime time.Duration
	firstSent     time.Duration
	appLimited    bool

	// Links of the time-ordered list of segments that are in flight:
	// neither SACKed nor marked lost awaiting retransmission.
	prev, next int64
}

type segFlags uint8

const (
	segSACKed      segFlags = 1 << iota // selectively acknowledged
	segLost                             // deemed lost (RACK, RTO)
	segRetrans                          // a retransmission of it is in flight
	segEverRetrans                      // retransmitted at least once
	segFIN                              // carries our FIN
	segInTS                             // on the time-ordered list
)

func (s *txSeg) has(f segFlags) bool { return s.flags&f != 0 }

// dataLen returns the payload bytes of the segment.
func (s *txSeg) dataLen() int {
	n := int(s.end - s.start)
	if s.has(segFIN) {
		n--
	}
	return n
}

// txQueue is the sender's scoreboard: the segments between snd.una and
// snd.nxt in sequence order, in a ring indexed by a monotonically growing
// absolute index (stable for a segment's lifetime), with the counters that
// give the bytes in flight as Linux computes them: outstanding - SACKed -
// lost + retransmitted.
type txQueue struct {
	segs []txSeg // len is a power of two
	head int64   // absolute index of the oldest segment
	n    int

	tsHead, tsTail int64 // time-ordered in-flight list, -1 when empty

	sacked  int // bytes (sequence space) of SACKed segments
	lost    int // bytes of segments marked lost
	retrans int // bytes of retransmissions in flight

	// hint is the lowest index that may be lost and not yet retransmitted.
	hint int64
}

const none = -1

func (q *txQueue) init() {
	q.tsHead, q.tsTail = none, none
}

func (q *txQueue) at(i int64) *txSeg { return &q.segs[i&int64(len(q.segs)-1)] }

func (q *txQueue) tail() int64 { return q.head + int64(q.n) }

func (q *txQueue) empty() bool { return q.n == 0 }

// push appends a new segment and returns its index.
func (q *txQueue) push(s txSeg) int64 {
	if q.n == len(q.segs) {
		q.grow()
	}
	i := q.tail()
	*q.at(i) = s
	q.n++
	return i
}

// txQueueFirst is the scoreboard's first size. Most connections are short
// (a request, an answer of a few segments) and never have more in flight;
// a bulk transfer doubles it a few times. It was 64 (5 KB a connection and
// direction, fresh memory the kernel faults in: 5 % of the CPU of short
// requests in a profile).
const txQueueFirst = 16

func (q *txQueue) grow() {
	size := max(txQueueFirst, 2*len(q.segs))
	ns := make([]txSeg, size)
	for i := q.head; i < q.tail(); i++ {
		ns[i&int64(size-1)] = *q.at(i)
	}
	q.segs = ns
}

// find returns the index of the segment containing sequence offset x, or
// the first one after it.
func (q *txQueue) find(x uint64) int64 {
	lo, hi := q.head, q.tail()
	for lo < hi {
		m := lo + (hi-lo)/2
		if q.at(m).end <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// tsAppend puts segment i at the tail of the time-ordered list.
func (q *txQueue) tsAppend(i int64) {
	s := q.at(i)
	if s.has(segInTS) {
		q.tsRemove(i)
	}
	s.flags |= segInTS
	s.prev, s.next = q.tsTail, none
	if q.tsTail != none {
		q.at(q.tsTail).next = i
	} else {
		q.tsHead = i
	}
	q.tsTail = i
}

// tsRemove takes segment i off the time-ordered list.
func (q *txQueue) tsRemove(i int64) {
	s := q.at(i)
	if !s.has(segInTS) {
		return
	}
	s.flags &^= segInTS
	if s.prev != none {
		q.at(s.prev).next = s.next
	} else {
		q.tsHead = s.next
	}
	if s.next != none {
		q.at(s.next).prev = s.prev
	} else {
		q.tsTail = s.prev
	}
}

// markLost marks segment i lost. It reports whether it changed anything.
func (q *txQueue) markLost(i int64) bool {
	s := q.at(i)
	if s.has(segSACKed) || (s.has(segLost) && !s.has(segRetrans)) {
		return false
	}
	l := int(s.end - s.start)
	if !s.has(segLost) {
		s.flags |= segLost
		q.lost += l
	}
	if s.has(segRetrans) {
		s.flags &^= segRetrans
		q.retrans -= l
	}
	q.tsRemove(i)
	if i < q.hint {
		q.hint = i
	}
	return true
}

// markSACKed marks segment i selectively acknowledged and returns the
// bytes newly SACKed.
func (q *txQueue) markSACKed(i int64) int {
	s := q.at(i)
	if s.has(segSACKed) {
		return 0
	}
	l := int(s.end - s.start)
	q.clearCounters(s, l)
	s.flags |= segSACKed
	q.sacked += l
	q.tsRemove(i)
	return l
}

// clearCounters removes l bytes of s from the lost and retransmitted
// counters as it leaves those states.
func (q *txQueue) clearCounters(s *txSeg, l int) {
	if s.has(segLost) {
		q.lost -= l
		s.flags &^= segLost
	}
	if s.has(segRetrans) {
		q.retrans -= l
		s.flags &^= segRetrans
	}
}

// sentRetransmission records that segment i was retransmitted at now.
func (q *txQueue) sentRetransmission(i int64, now time.Duration) {
	s := q.at(i)
	if !s.has(segRetrans) {
		s.flags |= segRetrans
		q.retrans += int(s.end - s.start)
	}
	s.flags |= segEverRetrans
	s.xmit = now
	q.tsAppend(i)
}

// popFront removes the oldest segment, fully acknowledged.
func (q *txQueue) popFront() {
	i := q.head
	s := q.at(i)
	l := int(s.end - s.start)
	if s.has(segSACKed) {
		q.sacked -= l
	}
	q.clearCounters(s, l)
	q.tsRemove(i)
	q.head++
	q.n--
	if q.hint < q.head {
		q.hint = q.head
	}
}

// trimFront drops the first bytes of the oldest segment, up to x, after a
// partial acknowledgment.
func (q *txQueue) trimFront(x uint64) {
	s := q.at(q.head)
	if x <= s.start || x >= s.end {
		return
	}
	d := int(x - s.start)
	if s.has(segSACKed) {
		q.sacked -= d
	}
	if s.has(segLost) {
		q.lost -= d
	}
	if s.has(segRetrans) {
		q.retrans -= d
	}
	s.start = x
}

// reset empties the queue.
func (q *txQueue) reset() {
	q.head += int64(q.n)
	q.n = 0
	q.tsHead, q.tsTail = none, none
	q.sacked, q.lost, q.retrans = 0, 0, 0
	q.hint = q.head
}
