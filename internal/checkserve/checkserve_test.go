package checkserve

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &Limiter{Rate: 2, Burst: 3, Now: func() time.Time { return now }}
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if !l.Allow(a) {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.Allow(a) {
		t.Fatal("fourth request in the same instant allowed")
	}
	if !l.Allow(b) {
		t.Fatal("another address limited")
	}
	now = now.Add(500 * time.Millisecond)
	if !l.Allow(a) || l.Allow(a) {
		t.Fatal("half a second at 2/s must give exactly one request")
	}
	now = now.Add(2 * time.Minute)
	l.Allow(b)
	if _, ok := l.buckets[a]; ok {
		t.Fatal("idle address not forgotten")
	}
	var none *Limiter
	if !none.Allow(a) {
		t.Fatal("nil limiter refused")
	}
}

func TestText(t *testing.T) {
	r := Result{MPTCP: true, Version: 1, Stack: "user", Client: "10.0.0.2:4000", Server: "10.0.0.1:80", Port: 80, Join: true,
		Subflows: []Subflow{{Client: "10.0.0.2:4000", Server: "10.0.0.1:80"}, {Client: "10.0.1.2:4001", Server: "10.0.0.1:80", Join: true}}}
	got := Text(r)
	for _, want := range []string{"Yes: your connection uses Multipath TCP (version 1).", "subflows: 2 (a subflow joined)", "10.0.1.2:4001 -> 10.0.0.1:80 (join)"} {
		if !strings.Contains(got, want) {
			t.Errorf("Text lacks %q:\n%s", want, got)
		}
	}
	fb := Text(Result{Fallback: true, FallbackReason: "MPCapableFallbackACK"})
	if !strings.HasPrefix(fb, "No:") || !strings.Contains(fb, "fallback to TCP: MPCapableFallbackACK") {
		t.Errorf("fallback text:\n%s", fb)
	}
	if browser("curl/7.88.1") || !browser("Mozilla/5.0 (X11; Linux x86_64) Chrome/120") {
		t.Error("User-Agent classification")
	}
}
