package mptcp

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/link"
	"github.com/mptcp-go/mptcp/wire"
)

// shard is one protocol core of a Stack with its lock and driver: the
// whole stack when Config.Loops is one, one of Loops otherwise (see
// demux.go). A connection lives in one shard, and its calls take that
// shard's lock only.
type shard struct {
	mu   sync.Mutex
	core *core.Stack
	drv  link.Driver // guarded by mu
	last time.Time   // latest time seen, so that time never runs backwards
	idx  int
	st   *Stack

	// waker is drv, for the other shards' loops, which hand this shard
	// packets without its lock.
	waker atomic.Pointer[link.Driver]
	inbox inbox
	lk    Link // this shard's own loop

	// Guarded by mu: the demux's option scratch, and when the shard next
	// sweeps its flow-table entries.
	opts    wire.TCPOptions
	sweepAt time.Time

	// Guarded by mu: whether a driver's round holds the lock, and the
	// waiters' channels its notifications noted, to be closed once it
	// lets go (see signal).
	inRound bool
	signals []chan struct{}

	// What the shard's driver said it does with TCP checksums
	// (Link.OffloadChecksums); guarded by every shard's mu.
	csumTx, csumRx bool
}

// sweepEvery is how often a shard sweeps its entries of the flow table:
// an entry outlives its subflow by one to two periods.
const sweepEvery = time.Second

// attach records d as the shard's driver.
func (sh *shard) attach(d link.Driver) {
	sh.mu.Lock()
	sh.drv = d
	sh.mu.Unlock()
	sh.waker.Store(&d)
}

// advance returns now, or the latest time already seen if now is
// earlier: the driver's clock and the one applications calls read may
// differ slightly (a simulator's virtual time lags its clock between
// events), and the core must never see time go backwards.
func (sh *shard) advance(now time.Time) time.Time {
	if now.Before(sh.last) {
		return sh.last
	}
	sh.last = now
	return now
}

// now is the time for a call made by the application; sh.mu is held.
func (sh *shard) now() time.Time {
	if sh.drv == nil {
		return sh.last
	}
	return sh.advance(sh.drv.Now())
}

// wake asks the driver to poll soon, after the application changed
// something; sh.mu must not be held (a simulator's Wake may poll at once).
func (sh *shard) wake() {
	sh.mu.Lock()
	d := sh.drv
	sh.mu.Unlock()
	switch d := d.(type) {
	case nil:
	case link.Kicker:
		d.Kick()
	default:
		d.Wake()
	}
}

// hasFamily reports whether the shard has an address of a's family;
// sh.mu is held.
func (sh *shard) hasFamily(a netip.Addr) bool {
	for _, l := range sh.core.Addresses() {
		if l.Addr.Is4() == a.Is4() {
			return true
		}
	}
	return false
}

// signal wakes the goroutines waiting on ch; sh.mu is held, or sh is nil
// (a caller that holds no shard's lock: ch closes at once). During a
// driver's round it only notes ch, and the round's unlock closes it: a
// goroutine woken at once would run into the lock the round still holds,
// sleep on it and need a second wake-up when the round lets go; woken
// after the unlock, it often runs on the round's own thread as soon as
// that one blocks again, with no thread woken at all.
func (sh *shard) signal(ch chan struct{}) {
	if sh == nil || !sh.inRound {
		close(ch)
		return
	}
	sh.signals = append(sh.signals, ch)
}

// lockRound takes sh.mu for a driver's round.
func (sh *shard) lockRound() {
	sh.mu.Lock()
	sh.inRound = true
}

// unlockRound lets go of sh.mu at the end of a driver's round and then
// closes the channels the round's notifications noted (the first few;
// any more are closed before the unlock, as without a round).
func (sh *shard) unlockRound() {
	var after [8]chan struct{}
	n := copy(after[:], sh.signals)
	for _, ch := range sh.signals[n:] {
		close(ch)
	}
	clear(sh.signals)
	sh.signals = sh.signals[:0]
	sh.inRound = false
	sh.mu.Unlock()
	for _, ch := range after[:n] {
		close(ch)
	}
}

// deliver hands the core one packet; sh.mu is held.
func (sh *shard) deliver(now time.Time, pkt []byte) {
	sh.core.Deliver(sh.advance(now), pkt)
}

// poll delivers what other loops handed over, sweeps the flow table when
// due, and polls the core; sh.mu is held.
func (sh *shard) poll(now time.Time, send func(pkt []byte)) time.Time {
	now = sh.advance(now)
	for _, pkt := range sh.inbox.take() {
		sh.core.Deliver(now, pkt)
	}
	if dm := sh.st.dm; dm != nil && !now.Before(sh.sweepAt) {
		sh.sweepAt = now.Add(sweepEvery)
		dm.flows.sweep(sh.idx, sh.core.TCP().Knows)
	}
	return sh.core.Poll(now, send)
}

// handOff gives pkt, read by another shard's loop, to this shard's loop.
func (sh *shard) handOff(pkt []byte) {
	if !sh.inbox.put(pkt) {
		return
	}
	if d := sh.waker.Load(); d != nil {
		(*d).Wake() // never Kick: the caller holds its own shard's lock
	}
}
