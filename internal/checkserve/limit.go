package checkserve

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter is a token bucket per client address: Rate requests a second
// with bursts of Burst. Buckets of addresses idle for a minute are
// forgotten, so the table stays bounded by the active clients.
type Limiter struct {
	Rate  float64
	Burst int
	// Now is the clock (time.Now when nil), for tests.
	Now func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Allow takes a token for a; it reports false when a is over its rate.
func (l *Limiter) Allow(a netip.Addr) bool {
	if l == nil || l.Rate <= 0 {
		return true
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[netip.Addr]*bucket{}
	}
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[a]
	if b == nil {
		b = &bucket{tokens: float64(max(l.Burst, 1)), last: now}
		l.buckets[a] = b
	}
	b.tokens = min(float64(max(l.Burst, 1)), b.tokens+now.Sub(b.last).Seconds()*l.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
