package sched

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestMinRTTScheduler(t *testing.T) {
	s, err := New(MinRTT)
	if err != nil || s.Name() != MinRTT {
		t.Fatalf("New(%q) = %v, %v", MinRTT, s, err)
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

// TestDefaultWaitsForFastSubflow: the default scheduler is ECF's
// decision, named Default: the tail of a response that the fast subflow
// finishes sooner than the slow one can carry it waits for the fast one,
// where MinRTT sends it on the slow one.
func TestDefaultWaitsForFastSubflow(t *testing.T) {
	s, err := New("")
	if err != nil || s.Name() != Default {
		t.Fatalf("New(\"\") = %v, %v", s, err)
	}
	ms := time.Millisecond
	c := Conn{
		Subflows: []Subflow{
			{ID: 1, SRTT: 20 * ms, Window: 60000, InFlight: 60000, MSS: 1400, Usable: true},
			{ID: 2, SRTT: 100 * ms, Window: 14000, InFlight: 1400, MSS: 1400, Room: 12600, Usable: true},
		},
		Unsent: 14000, SendWindow: 1 << 20,
	}
	if got := s.Send(time.Time{}, c, nil); len(got) != 0 {
		t.Errorf("default: Send = %v, want none (wait for the fast subflow)", got)
	}
	if got := (minRTT{}).Send(time.Time{}, c, nil); !slices.Equal(got, []int{1}) {
		t.Errorf("minrtt: Send = %v, want [1] (the slow subflow's position)", got)
	}
	c.Subflows[0].InFlight, c.Subflows[0].Room = 0, 60000
	if got := s.Send(time.Time{}, c, nil); !slices.Equal(got, []int{0}) {
		t.Errorf("default, fast subflow with room: Send = %v, want [0]", got)
	}
}

func TestUnknownScheduler(t *testing.T) {
	if _, err := New("nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("err = %v", err)
	}
}
