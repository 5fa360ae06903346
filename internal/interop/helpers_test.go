//go:build linux

package interop

import (
	"net/netip"
	"testing"
)

// The suite's own helpers, checked without root.

func TestRuleParsing(t *testing.T) {
	for _, c := range []struct {
		s    string
		v    int64
		want bool
	}{
		{"MPJoinSynRx=1", 1, true},
		{"MPJoinSynRx=1", 2, false},
		{"AddAddrTx>=1", 3, true},
		{"AddAddrTx>=1", 0, false},
		{"DataCsumErr<=0", 0, true},
		{"DataCsumErr<=0", 1, false},
	} {
		r, err := parseRule(c.s)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.holds(c.v); got != c.want {
			t.Errorf("%s holds for %d: %v, want %v", c.s, c.v, got, c.want)
		}
	}
	for _, bad := range []string{"", "X", "X=", "=1", "X=y", "X>1"} {
		if _, err := parseRule(bad); err == nil {
			t.Errorf("parseRule(%q): no error", bad)
		}
	}
}

func TestNewDataOn(t *testing.T) {
	a := netip.MustParseAddrPort("10.1.3.1:1000")
	b := netip.MustParseAddrPort("10.2.3.1:1001")
	k := netip.MustParseAddrPort("10.1.1.2:5201")
	segs := []dataSeg{
		{frame: 1, local: a, remote: k, start: 0, end: 100},
		{frame: 2, local: b, remote: k, start: 50, end: 150},    // 50 reinjected, 50 new
		{frame: 3, local: a, remote: k, start: 150, end: 300},   // later, on a: does not cover frame 2
		{frame: 4, local: b, remote: k, start: 200, end: 260},   // all reinjected (frame 3)
		{frame: 5, local: b, remote: k, start: 290, end: 310},   // 10 reinjected, 10 new
		{frame: 6, local: a, remote: k, start: 1000, end: 1100}, // elsewhere only
	}
	fresh, again := newDataOn(segs, b, k, 0)
	if fresh != 60 || again != 120 {
		t.Errorf("on b: %d new, %d reinjected; want 60 and 120", fresh, again)
	}
	// Same local end, other remote: another subflow.
	fresh, again = newDataOn(segs, a, netip.MustParseAddrPort("10.2.1.2:5201"), 0)
	if fresh != 0 || again != 0 {
		t.Errorf("on a subflow that carried nothing: %d new, %d reinjected", fresh, again)
	}
	// Only data from DSN 200 on counts.
	fresh, again = newDataOn(segs, b, k, 200)
	if fresh != 10 || again != 70 {
		t.Errorf("on b from DSN 200: %d new, %d reinjected; want 10 and 70", fresh, again)
	}
}

func TestExpand32(t *testing.T) {
	for _, c := range []struct {
		near uint64
		v    uint32
		want uint64
	}{
		{0x1_0000_0010, 0x20, 0x1_0000_0020},
		{0x1_ffff_fff0, 0x10, 0x2_0000_0010},        // wrapped forward
		{0x2_0000_0010, 0xffff_fff0, 0x1_ffff_fff0}, // an older value, before the wrap
		{0, 5, 5},
	} {
		if got := expand32(c.near, c.v); got != c.want {
			t.Errorf("expand32(%#x, %#x) = %#x, want %#x", c.near, c.v, got, c.want)
		}
	}
}
