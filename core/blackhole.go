package core

import (
	"net/netip"
	"time"
)

// Defaults of the MP_CAPABLE blackhole detection, the kernel's sysctls
// net.mptcp.syn_retrans_before_tcp_fallback and net.mptcp.blackhole_timeout.
const (
	DefaultSYNRetransBeforeFallback = 2
	DefaultBlackholeTimeout         = time.Hour
)

// maxBlackholes bounds the remembered paths; the oldest entry goes first.
const maxBlackholes = 1024

// blackholes remembers paths on which SYNs carrying MP_CAPABLE went
// unanswered while plain SYNs got through: some middlebox drops MPTCP
// there. New connections on such a path skip MPTCP until the entry
// expires, so they do not pay the SYN retransmissions again. As in the
// kernel, the timeout doubles each time the blackhole is found again right
// after it expired, and a connection that does get MPTCP through on the
// path clears it. Unlike the kernel, which disables MPTCP for the whole
// network namespace, the memory is per path (local and remote address).
type blackholes struct {
	timeout time.Duration // base timeout; <= 0 disables the memory
	m       map[bhKey]*bhEntry
}

type bhKey struct{ local, remote netip.Addr }

type bhEntry struct {
	until time.Time
	times int // consecutive detections
	added time.Time
}

// active reports whether the path is currently remembered as a blackhole.
func (b *blackholes) active(now time.Time, local, remote netip.Addr) bool {
	e := b.m[bhKey{local, remote}]
	return e != nil && now.Before(e.until)
}

// detected records a blackhole on the path.
func (b *blackholes) detected(now time.Time, local, remote netip.Addr) {
	if b.timeout <= 0 {
		return
	}
	if b.m == nil {
		b.m = make(map[bhKey]*bhEntry)
	}
	k := bhKey{local, remote}
	e := b.m[k]
	if e == nil {
		if len(b.m) >= maxBlackholes {
			b.evictOldest()
		}
		e = &bhEntry{added: now}
		b.m[k] = e
	}
	e.times++
	d := b.timeout << min(e.times-1, 10)
	e.until = now.Add(d)
}

// works records that MPTCP got through on the path.
func (b *blackholes) works(local, remote netip.Addr) {
	delete(b.m, bhKey{local, remote})
}

func (b *blackholes) evictOldest() {
	var oldest bhKey
	var t time.Time
	first := true
	for k, e := range b.m {
		if first || e.added.Before(t) || (e.added.Equal(t) && keyLess(k, oldest)) {
			oldest, t, first = k, e.added, false
		}
	}
	delete(b.m, oldest)
}

// keyLess breaks ties deterministically (map order is random).
func keyLess(a, b bhKey) bool {
	if c := a.local.Compare(b.local); c != 0 {
		return c < 0
	}
	return a.remote.Less(b.remote)
}
