package pm

import (
	"errors"
	"net/netip"
	"time"
)

func init() { Register("fullmesh", func() PathManager { return newFullmesh() }) }

// Retry backoff of fullmesh: after a subflow fails, the pair of addresses
// is tried again after retryInitial, doubling per consecutive failure up
// to retryMax. A path that comes back is thus used again within retryMax
// (the kernel does not re-create subflows at all).
const (
	retryInitial = 500 * time.Millisecond
	retryMax     = 30 * time.Second
)

// fullmesh opens a subflow for every pair of a local and a remote address
// of the same family, announces the server's other addresses, follows
// addresses as they appear and disappear, and re-creates failed subflows
// with exponential backoff.
//
// By default the client (the side that connected) opens subflows and the
// server announces its addresses; a LocalAddr with Signal or Subflow set
// does exactly what its flags say on either side.
type fullmesh struct {
	up        bool // fully established and not closed or fallen back
	dead      bool
	retry     map[pair]*backoff
	announced map[uint8]bool
}

type pair struct {
	local  netip.Addr
	remote netip.AddrPort
}

type backoff struct {
	failures int
	next     time.Time
	never    bool // refused for good: MP_TCPRST without the T flag
}

func newFullmesh() *fullmesh {
	return &fullmesh{retry: make(map[pair]*backoff), announced: make(map[uint8]bool)}
}

// Name implements PathManager.
func (*fullmesh) Name() string { return "fullmesh" }

// Event implements PathManager.
func (f *fullmesh) Event(now time.Time, c Conn, ev Event) {
	if f.dead {
		return
	}
	switch ev.Kind {
	case Established:
		f.up = true
	case Closed, FellBack:
		f.up, f.dead = false, true
		return
	case SubEstablished:
		delete(f.retry, pair{ev.Subflow.Local.Addr(), ev.Subflow.Remote})
	case SubClosed:
		if ev.Err != nil {
			k := pair{ev.Subflow.Local.Addr(), ev.Subflow.Remote}
			b := f.retry[k]
			if b == nil {
				b = &backoff{}
				f.retry[k] = b
			}
			d := retryInitial << min(b.failures, 16)
			b.failures++
			b.next = now.Add(min(d, retryMax))
			// "If the error condition is considered to be permanent, the
			// receiver of the RST segment SHOULD NOT try to reestablish
			// a subflow for this connection over this path" (RFC 8684
			// section 3.6).
			b.never = b.never || IsPermanent(ev.Err)
		}
	case Removed:
		for k := range f.retry {
			for _, r := range c.RemoteAddrs() {
				if r.ID == ev.RemoteID && r.AddrPort == k.remote {
					delete(f.retry, k)
				}
			}
		}
	case LocalRemoved:
		if f.announced[ev.Local.ID] {
			delete(f.announced, ev.Local.ID)
			_ = c.Withdraw(ev.Local.ID)
		}
		for k := range f.retry {
			if k.local == ev.Local.Addr {
				delete(f.retry, k)
			}
		}
	}
	if f.up {
		f.sync(now, c)
	}
}

// Poll implements PathManager.
func (f *fullmesh) Poll(now time.Time, c Conn) time.Time {
	if !f.up || f.dead {
		return time.Time{}
	}
	f.sync(now, c)
	var next time.Time
	for _, b := range f.retry {
		if !b.never && b.next.After(now) && (next.IsZero() || b.next.Before(next)) {
			next = b.next
		}
	}
	return next
}

// sync announces what should be announced and opens the subflows that
// are missing and not backing off.
func (f *fullmesh) sync(now time.Time, c Conn) {
	server := c.Server()
	locals := c.LocalAddrs()
	for _, l := range locals {
		if l.ID == 0 || f.announced[l.ID] {
			continue
		}
		if l.Signal || (server && !l.Subflow) {
			err := c.Announce(l)
			if err == nil || errors.Is(err, ErrExists) {
				f.announced[l.ID] = true
			}
		}
	}
	subs := c.Subflows()
	for _, l := range locals {
		if !(l.Subflow || (!server && !l.Signal)) {
			continue
		}
		for _, r := range c.RemoteAddrs() {
			if l.Addr.Is4() != r.AddrPort.Addr().Is4() {
				continue
			}
			if has(subs, l.Addr, r.AddrPort) {
				continue
			}
			if b := f.retry[pair{l.Addr, r.AddrPort}]; b != nil && (b.never || now.Before(b.next)) {
				continue
			}
			switch err := c.Connect(l, r, l.Backup); {
			case errors.Is(err, ErrLimit), errors.Is(err, ErrClosed):
				return
			}
		}
	}
}

func has(subs []SubflowInfo, local netip.Addr, remote netip.AddrPort) bool {
	for _, s := range subs {
		if s.Local.Addr() == local && s.Remote == remote {
			return true
		}
	}
	return false
}
