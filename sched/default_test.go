package sched

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestDefaultScheduler(t *testing.T) {
	s, err := New("")
	if err != nil || s.Name() != "default" {
		t.Fatalf("New(\"\") = %v, %v", s, err)
	}
	ms := time.Millisecond
	// The snapshot is plain values: the test edits them in place.
	c := Conn{
		Subflows: []Subflow{
			{ID: 2, SRTT: 50 * ms, Room: 1400, Usable: true},
			{ID: 3, SRTT: 1 * ms, Room: 1400, Usable: true, Backup: true},
			{ID: 1, SRTT: 10 * ms, Room: 1400, Usable: true},
		},
		Unsent: 1 << 20, SendWindow: 1 << 20,
	}
	slow, backup, fast := &c.Subflows[0], &c.Subflows[1], &c.Subflows[2]
	now := time.Time{}
	ids := func(pos []int) []int {
		var out []int
		for _, i := range pos {
			out = append(out, c.Subflows[i].ID)
		}
		return out
	}
	check := func(name string, want []int) {
		t.Helper()
		if got := ids(s.Send(now, c, nil)); !slices.Equal(got, want) {
			t.Errorf("%s: Send = %v, want %v", name, got, want)
		}
	}
	check("lowest RTT, backup ignored", []int{1})
	fast.Room = 0
	check("fast one full", []int{2})
	slow.Room = 0
	check("primaries full: wait, do not use the backup", nil)
	fast.Usable, slow.Usable = false, false
	check("no primary usable: backup", []int{3})
	fast.Usable, fast.Room = true, 1400
	fast.Stale = true
	slow.Usable, slow.Room = true, 1400
	check("stale passed over", []int{2})
	slow.Usable = false
	check("primary stale: the backup takes over", []int{3})
	backup.Usable = false
	check("only a stale primary left: used", []int{1})
	backup.Usable = true

	fast.Stale, slow.Usable = false, true
	if got := ids(s.Reinject(now, c, 1, nil)); !slices.Equal(got, []int{2}) {
		t.Errorf("Reinject from 1 = %v, want [2]", got)
	}
}

func TestUnknownScheduler(t *testing.T) {
	if _, err := New("nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("err = %v", err)
	}
}
