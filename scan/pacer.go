package scan

import (
	"context"
	"sync"
	"time"
)

// pacer spaces probes evenly to a rate, across all the goroutines of a
// scan: each caller takes the next free slot and sleeps until it comes.
// It allows no burst, so a scan of many hosts never sends faster than
// asked, even at its start.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

// newPacer returns a pacer for rate probes per second, or nil (no limit)
// when rate is not positive.
func newPacer(rate float64) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{interval: time.Duration(float64(time.Second) / rate)}
}

// reserve returns the time at which the caller may send, given the time
// now, and books that slot.
func (p *pacer) reserve(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.next
	if t.Before(now) {
		t = now
	}
	p.next = t.Add(p.interval)
	return t
}

// wait blocks until the caller's slot, or until ctx is done.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	now := time.Now()
	d := p.reserve(now).Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
