package compare

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWebRequests runs the web benchmark's requests against the transfer
// server on loopback: on new connections (the server closes each) and on
// reused ones (keepOpen: one connection per worker), every byte checked,
// and the cell's counts and quantiles filled.
func TestWebRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback listener: %v", err)
	}
	srv := serve(ln, nil)
	defer srv.close()
	var dials atomic.Int32
	dial := func(ctx context.Context) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}
	for _, reused := range []bool{false, true} {
		dials.Store(0)
		c := webRequests(context.Background(), dial, 70_000, 1, 5, reused)
		if c.Error != "" || c.Requests != 5 || c.Failed != 0 {
			t.Fatalf("reused=%v: %+v", reused, c)
		}
		if c.P50Ms == nil || c.P99Ms == nil || c.TTFBP50Ms == nil || c.PerSecond == nil || *c.TTFBP50Ms > *c.P99Ms {
			t.Errorf("reused=%v: quantiles missing or inconsistent: %+v", reused, c)
		}
		want := int32(5)
		if reused {
			want = 1
		}
		if n := dials.Load(); n != want {
			t.Errorf("reused=%v: %d dials for 5 requests, want %d", reused, n, want)
		}
	}
	c := webRequests(context.Background(), dial, 1000, 4, 8, false)
	if c.Error != "" || c.Requests != 8 {
		t.Errorf("4 workers: %+v", c)
	}
}

// TestWebTable checks that the table has a line per cell, measured or
// not, and a column group per implementation.
func TestWebTable(t *testing.T) {
	v := 12.5
	rep := WebReport{KernelRelease: "test", Paths: "p", Cells: []WebCell{
		{Impl: Kernel, Size: 1000, Concurrency: 1, Requests: 3, P50Ms: &v, P99Ms: &v, TTFBP50Ms: &v, PerSecond: &v},
		{Impl: Ours, Size: 1000, Concurrency: 1, Error: "boom"},
		{Impl: Sim, Size: 1_000_000, Concurrency: 10, Reused: true, NA: "why"},
	}}
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"kernel p50/p99 ms", "simulator req/s", "1KB", "1MB", "reused", "12.5/12.5", "failed", "n/a"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if errs := rep.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "boom") {
		t.Errorf("Errors() = %q, want the one failed cell", errs)
	}
}
