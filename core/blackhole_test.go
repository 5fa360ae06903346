package core

import (
	"net/netip"
	"testing"
	"time"
)

func TestBlackholeBackoff(t *testing.T) {
	b := blackholes{timeout: time.Hour}
	l, r := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	t0 := time.Unix(1000, 0)
	if b.active(t0, l, r) {
		t.Fatal("active before detection")
	}
	b.detected(t0, l, r)
	if !b.active(t0.Add(59*time.Minute), l, r) || b.active(t0.Add(time.Hour), l, r) {
		t.Fatal("first detection does not last exactly one timeout")
	}
	if b.active(t0, l, netip.MustParseAddr("10.0.0.3")) {
		t.Fatal("another path affected")
	}
	t1 := t0.Add(time.Hour)
	b.detected(t1, l, r)
	if !b.active(t1.Add(119*time.Minute), l, r) || b.active(t1.Add(2*time.Hour), l, r) {
		t.Fatal("second detection does not double the timeout")
	}
	b.works(l, r)
	if b.active(t1, l, r) {
		t.Fatal("MPTCP working did not clear the entry")
	}
	off := blackholes{}
	off.detected(t0, l, r)
	if off.active(t0, l, r) {
		t.Fatal("disabled memory remembered a path")
	}
}
