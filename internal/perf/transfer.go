package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of a transfer.
var (
	// ErrCorrupt: the receiver read a byte that differs from the pattern.
	ErrCorrupt = errors.New("data corrupted")
	// ErrStalled: no byte moved for the stall timeout.
	ErrStalled = errors.New("transfer stalled")
	// ErrShort: a stream received fewer or more bytes than were sent.
	ErrShort = errors.New("byte count mismatch")
)

// DefaultStallTimeout is how long a transfer may move no byte before it is
// abandoned.
const DefaultStallTimeout = 15 * time.Second

// transfer moves the data of one side of a test over its streams, and
// samples them every interval.
type transfer struct {
	p        Params
	sender   bool
	conns    []net.Conn
	pat      *pattern
	interval time.Duration // 0: no interval reports
	stall    time.Duration
	onIv     func(Interval)

	start  time.Time
	counts []atomic.Int64
	done   []atomic.Bool
	ends   []time.Time // when each stream finished
	errs   []error

	abortOnce sync.Once
	abortErr  error
}

func newTransfer(p Params, sender bool, conns []net.Conn) *transfer {
	return &transfer{
		p: p, sender: sender, conns: conns, pat: newPattern(p.BlockSize),
		stall:  DefaultStallTimeout,
		counts: make([]atomic.Int64, len(conns)),
		done:   make([]atomic.Bool, len(conns)),
		ends:   make([]time.Time, len(conns)),
		errs:   make([]error, len(conns)),
	}
}

// abort ends every stream at once: a stall, a cancelled context, or a
// corrupted stream.
func (t *transfer) abort(err error) {
	t.abortOnce.Do(func() {
		t.abortErr = err
		for _, c := range t.conns {
			c.Close()
		}
	})
}

// run moves the data, from now, and returns this side's result. done,
// when closed, aborts the transfer.
func (t *transfer) run(cancel <-chan struct{}) *SideResult {
	t.start = time.Now()
	var wg sync.WaitGroup
	for i, c := range t.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if t.sender {
				t.errs[i] = t.send(i, c)
			} else {
				t.errs[i] = t.receive(i, c)
			}
			t.ends[i] = time.Now()
			t.done[i].Store(true)
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	t.sample(finished, cancel)
	<-finished
	return t.result()
}

// send writes stream i's pattern until the duration or the byte count is
// reached, then closes the sending direction.
func (t *transfer) send(i int, c net.Conn) error {
	limit := int64(-1)
	if t.p.Bytes > 0 {
		limit = streamBytes(t.p.Bytes, i, len(t.conns))
	}
	end := t.start.Add(t.p.Duration)
	var off int64
	for {
		n := t.p.BlockSize
		if limit >= 0 {
			if off >= limit {
				break
			}
			n = int(min(int64(n), limit-off))
		} else if !time.Now().Before(end) {
			break
		}
		w, err := c.Write(t.pat.at(i, off, n))
		off += int64(w)
		t.counts[i].Store(off)
		if err != nil {
			return fmt.Errorf("stream %d: write after %d bytes: %w", i, off, err)
		}
	}
	if err := closeWrite(c); err != nil {
		return fmt.Errorf("stream %d: closing the sending side: %w", i, err)
	}
	return nil
}

// closeWrite ends the sending direction of c, or c itself when it has no
// half-close.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// receive reads stream i to its end, checking the bytes if asked.
func (t *transfer) receive(i int, c net.Conn) error {
	buf := make([]byte, t.p.BlockSize)
	var off int64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if t.p.Verify {
				if cerr := t.pat.check(i, off, buf[:n]); cerr != nil {
					t.abort(cerr)
					return cerr
				}
			}
			off += int64(n)
			t.counts[i].Store(off)
		}
		if err == io.EOF {
			if t.p.Bytes > 0 {
				if want := streamBytes(t.p.Bytes, i, len(t.conns)); off != want {
					return fmt.Errorf("%w: stream %d: received %d bytes, want %d", ErrShort, i, off, want)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("stream %d: read after %d bytes: %w", i, off, err)
		}
	}
}

// sample reports an interval every t.interval until the streams finish,
// and abandons the transfer when nothing moves for the stall timeout or
// cancel is closed.
func (t *transfer) sample(finished, cancel <-chan struct{}) {
	// The ticker also watches for stalls, so it runs at least once a
	// second whatever the interval.
	tick := time.Second
	if t.interval > 0 && t.interval < tick {
		tick = t.interval
	}
	tk := time.NewTicker(tick)
	defer tk.Stop()
	s := newSampler(t)
	lastTotal, lastMove := int64(-1), time.Now()
	for {
		select {
		case <-finished:
			s.emit(time.Now(), true)
			return
		case <-cancel:
			t.abort(errors.New("cancelled"))
			cancel = nil
		case now := <-tk.C:
			if t.interval > 0 && now.Sub(s.last) >= t.interval-tick/2 {
				s.emit(now, false)
			}
			total := t.total()
			if total != lastTotal {
				lastTotal, lastMove = total, now
			} else if now.Sub(lastMove) >= t.stall {
				t.abort(fmt.Errorf("%w: no data for %v", ErrStalled, t.stall))
			}
		}
	}
}

func (t *transfer) total() int64 {
	var n int64
	for i := range t.counts {
		n += t.counts[i].Load()
	}
	return n
}

// result is this side's account once every stream ended.
func (t *transfer) result() *SideResult {
	r := &SideResult{Sender: t.sender, Verified: !t.sender && t.p.Verify}
	var last time.Time
	for i, c := range t.conns {
		sr := StreamResult{
			Stream: i, Bytes: t.counts[i].Load(),
			Seconds: t.ends[i].Sub(t.start).Seconds(), Final: Inspect(c),
		}
		err := t.errs[i]
		if t.abortErr != nil && err != nil {
			err = t.abortErr
		}
		if err != nil {
			sr.Error = err.Error()
			if r.err == nil {
				r.err, r.Error = err, sr.Error
			}
			r.Verified = false
		}
		r.Bytes += sr.Bytes
		if t.ends[i].After(last) {
			last = t.ends[i]
		}
		r.Streams = append(r.Streams, sr)
	}
	r.Seconds = last.Sub(t.start).Seconds()
	return r
}

// awaitAcked waits, on a sender, until the peer has acknowledged what was
// written on every stream, as long as the count of unacknowledged bytes
// keeps falling (or for the stall timeout without progress), so that a
// slow receiver draining large buffers is waited for and a dead one is
// not. Streams whose stack does not tell are not waited for.
func awaitAcked(ctx context.Context, conns []net.Conn, stall time.Duration) {
	last, lastMove := int64(-1), time.Now()
	for {
		var total int64
		for _, c := range conns {
			if n, ok := unacked(c); ok {
				total += n
			}
		}
		if total == 0 {
			return
		}
		now := time.Now()
		if last < 0 || total < last {
			last, lastMove = total, now
		} else if now.Sub(lastMove) >= stall {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// refreshFinal reads the connections' figures again once the peer has
// reported: a sender's last bytes may still have been unacknowledged when
// its streams ended.
func refreshFinal(r *SideResult, conns []net.Conn) {
	if r == nil {
		return
	}
	for i := range r.Streams {
		if i < len(conns) {
			if cs := Inspect(conns[i]); len(cs.Subflows) > 0 {
				r.Streams[i].Final = cs
			}
		}
	}
}

// sampler turns successive counter and subflow readings into intervals.
type sampler struct {
	t     *transfer
	last  time.Time
	bytes []int64
	subs  []map[string]SubflowStats // per stream, by subflow addresses
}

func newSampler(t *transfer) *sampler {
	s := &sampler{t: t, last: t.start, bytes: make([]int64, len(t.conns)), subs: make([]map[string]SubflowStats, len(t.conns))}
	for i, c := range t.conns {
		s.subs[i] = subflowMap(Inspect(c))
	}
	return s
}

func subflowMap(cs ConnStats) map[string]SubflowStats {
	m := make(map[string]SubflowStats, len(cs.Subflows))
	for _, sf := range cs.Subflows {
		m[sf.Local+" "+sf.Remote] = sf
	}
	return m
}

// emit reports the interval from the last report to now. The final one,
// shorter, is reported only if something moved in it and it lasts at
// least a tenth of the interval (iperf3 omits such slivers too: the
// summary counts every byte).
func (s *sampler) emit(now time.Time, final bool) {
	t := s.t
	d := now.Sub(s.last).Seconds()
	if d <= 0 {
		return
	}
	iv := Interval{Start: s.last.Sub(t.start).Seconds(), End: now.Sub(t.start).Seconds()}
	for i, c := range t.conns {
		n := t.counts[i].Load()
		si := StreamInterval{Stream: i, Bytes: n - s.bytes[i], BitsPerSecond: rate(n-s.bytes[i], d)}
		s.bytes[i] = n
		cs := Inspect(c)
		prev := s.subs[i]
		for _, sf := range cs.Subflows {
			old := prev[sf.Local+" "+sf.Remote]
			cur, was := sf.BytesReceived, old.BytesReceived
			if t.sender {
				cur, was = sf.BytesSent, old.BytesSent
			}
			var db uint64
			if cur >= was {
				db = cur - was
			}
			var dr uint64
			if sf.Retransmits >= old.Retransmits {
				dr = sf.Retransmits - old.Retransmits
			}
			si.Subflows = append(si.Subflows, SubflowInterval{
				Local: sf.Local, Remote: sf.Remote, Bytes: db, BitsPerSecond: rate(int64(db), d),
				SRTT: sf.SRTT, Cwnd: sf.Cwnd, Retransmits: dr, Backup: sf.Backup,
			})
		}
		s.subs[i] = subflowMap(cs)
		iv.Bytes += si.Bytes
		iv.Streams = append(iv.Streams, si)
	}
	iv.BitsPerSecond = rate(iv.Bytes, d)
	s.last = now
	if final && (iv.Bytes == 0 || t.interval <= 0 || time.Duration(d*float64(time.Second)) < t.interval/10) {
		return
	}
	if t.interval > 0 && t.onIv != nil {
		t.onIv(iv)
	}
}
