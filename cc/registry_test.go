package cc

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestNames(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() = %v, not sorted", names)
	}
	for _, want := range append(builtins, Default) {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %q", names, want)
		}
	}
	// The caller owns the slice.
	names[0] = "changed"
	if Names()[0] == "changed" {
		t.Error("Names returns the registry's own slice")
	}
}

func TestNewUnknown(t *testing.T) {
	c, err := New("vegas", Params{MSS: 1460})
	if c != nil || !errors.Is(err, ErrUnknown) {
		t.Fatalf("New(vegas) = %v, %v; want nil and ErrUnknown", c, err)
	}
	for _, name := range Names() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not list %q", err, name)
		}
	}
	if !strings.Contains(err.Error(), `"vegas"`) {
		t.Errorf("error %q does not name the unknown algorithm", err)
	}
}

func TestNewInvalidParams(t *testing.T) {
	for _, p := range []Params{
		{},
		{MSS: -1},
		{MSS: 70000},
		{MSS: 1460, InitialWindow: -1},
		{MSS: 1460, MinWindow: -1},
		{MSS: 1460, MaxWindow: -1},
		{MSS: 1460, MaxWindow: 1000},
		{MSS: 1460, InitialWindow: 20000, MaxWindow: 10000},
		{MSS: 1460, MinWindow: 20000, MaxWindow: 10000},
		{MSS: 1460, MaxWindow: 1 << 40},
	} {
		for _, name := range builtins {
			if c, err := New(name, p); c != nil || !errors.Is(err, ErrInvalidParams) {
				t.Errorf("New(%q, %+v) = %v, %v; want ErrInvalidParams", name, p, c, err)
			}
		}
	}
}

func TestNewDefaults(t *testing.T) {
	for _, name := range builtins {
		c := mustNew(t, name, Params{MSS: 1460})
		if c.Window() != 14600 || !c.InSlowStart() || c.PacingRate() != 0 {
			t.Errorf("%s: window %d, slow start %v, pacing %v; want 14600, true, 0",
				name, c.Window(), c.InSlowStart(), c.PacingRate())
		}
		c = mustNew(t, name, Params{MSS: 1460, MaxWindow: 5000})
		if c.Window() != 5000 {
			t.Errorf("%s: initial window %d above a 5000-byte cap", name, c.Window())
		}
	}
}

func TestRegisterPanics(t *testing.T) {
	f := func(p Params) (Controller, error) { return newReno(p), nil }
	for _, tc := range []struct {
		name string
		f    Factory
	}{{"reno", f}, {"", f}, {"x-nil", nil}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q, nil=%v) did not panic", tc.name, tc.f == nil)
				}
			}()
			Register(tc.name, tc.f)
		}()
	}
}

var (
	errBoom      = errors.New("boom")
	registerOnce sync.Once
)

func TestRegisterAndFactoryError(t *testing.T) {
	// Once: the registry is global and -count may run this again.
	registerOnce.Do(func() {
		Register("test-failing", func(Params) (Controller, error) { return nil, errBoom })
	})
	if _, err := New("test-failing", Params{MSS: 1460}); !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "test-failing") {
		t.Errorf("New = %v; want the factory's error, naming the algorithm", err)
	}
}
