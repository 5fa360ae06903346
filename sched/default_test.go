package sched

import (
	"errors"
	"testing"
	"time"
)

type fakeSubflow struct {
	id     int
	backup bool
	srtt   time.Duration
	room   int
	usable bool
	stale  bool
}

func (f *fakeSubflow) ID() int               { return f.id }
func (f *fakeSubflow) Backup() bool          { return f.backup }
func (f *fakeSubflow) SRTT() time.Duration   { return f.srtt }
func (f *fakeSubflow) RTTVar() time.Duration { return f.srtt / 4 }
func (f *fakeSubflow) Window() int           { return 10 * 1400 }
func (f *fakeSubflow) InFlight() int         { return 10*1400 - f.room }
func (f *fakeSubflow) Queued() int           { return 0 }
func (f *fakeSubflow) MSS() int              { return 1400 }
func (f *fakeSubflow) Room() int             { return f.room }
func (f *fakeSubflow) Usable() bool          { return f.usable }
func (f *fakeSubflow) Stale() bool           { return f.stale }
func (f *fakeSubflow) Rate() float64         { return 0 }

type fakeConn struct{ sfs []Subflow }

func (c *fakeConn) Subflows() []Subflow { return c.sfs }
func (c *fakeConn) Unsent() int         { return 1 << 20 }
func (c *fakeConn) SendWindow() int     { return 1 << 20 }

func ids(sfs []Subflow) []int {
	var out []int
	for _, s := range sfs {
		out = append(out, s.ID())
	}
	return out
}

func TestDefaultScheduler(t *testing.T) {
	s, err := New("")
	if err != nil || s.Name() != "default" {
		t.Fatalf("New(\"\") = %v, %v", s, err)
	}
	ms := time.Millisecond
	fast := &fakeSubflow{id: 1, srtt: 10 * ms, room: 1400, usable: true}
	slow := &fakeSubflow{id: 2, srtt: 50 * ms, room: 1400, usable: true}
	backup := &fakeSubflow{id: 3, srtt: 1 * ms, room: 1400, usable: true, backup: true}
	c := &fakeConn{sfs: []Subflow{slow, backup, fast}}
	now := time.Time{}

	check := func(name string, want []int) {
		t.Helper()
		if got := ids(s.Send(now, c, nil)); !equal(got, want) {
			t.Errorf("%s: Send = %v, want %v", name, got, want)
		}
	}
	check("lowest RTT, backup ignored", []int{1})
	fast.room = 0
	check("fast one full", []int{2})
	slow.room = 0
	check("primaries full: wait, do not use the backup", nil)
	fast.usable, slow.usable = false, false
	check("no primary usable: backup", []int{3})
	fast.usable, fast.room = true, 1400
	fast.stale = true
	slow.usable, slow.room = true, 1400
	check("stale passed over", []int{2})
	slow.usable = false
	check("primary stale: the backup takes over", []int{3})
	backup.usable = false
	check("only a stale primary left: used", []int{1})
	backup.usable = true

	fast.stale, slow.usable = false, true
	if got := ids(s.Reinject(now, c, 1, nil)); !equal(got, []int{2}) {
		t.Errorf("Reinject from 1 = %v, want [2]", got)
	}
}

func TestUnknownScheduler(t *testing.T) {
	if _, err := New("nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("err = %v", err)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
