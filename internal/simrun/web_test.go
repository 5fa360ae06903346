package simrun

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWebNewConnections runs sequential requests, each on a new
// connection, on the aggregate scenario (wifi 20 Mbit/s 10 ms one-way):
// a request cannot finish before the handshake, the request's round trip
// and the answer's serialisation, nor take much longer on idle paths;
// the run is deterministic.
func TestWebNewConnections(t *testing.T) {
	sc := builtin(t, "aggregate")
	o := WebOptions{Size: 100_000, Concurrency: 1, Requests: 4}
	r, err := Web(sc, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed != 0 || len(r.Done) != 4 {
		t.Fatalf("%d done, %d failed (%s), want 4 done", len(r.Done), r.Failed, r.FirstError)
	}
	// 20 ms for the handshake, 20 for the request and the first byte,
	// 40 for 100 KB at 20 Mbit/s.
	for i, d := range r.Done {
		if d < 80*time.Millisecond || d > 150*time.Millisecond {
			t.Errorf("request %d took %v, want 80-150 ms", i, d)
		}
		if f := r.FirstByte[i]; f < 40*time.Millisecond || f >= d {
			t.Errorf("request %d: first byte at %v, want from 40 ms to before its end (%v)", i, f, d)
		}
	}
	if got := r.Server["MPCapableSYNRX"]; got != 4 {
		t.Errorf("the server saw %d MP_CAPABLE SYNs, want one per request (4)", got)
	}
	if r.Elapsed < 4*r.Done[0] {
		t.Errorf("4 sequential requests ended after %v, each took about %v", r.Elapsed, r.Done[0])
	}
	again, err := Web(sc, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Done, again.Done) || !slices.Equal(r.FirstByte, again.FirstByte) {
		t.Fatalf("the same seed gave %v, then %v", r.Done, again.Done)
	}
}

// TestWebReusedConnections keeps one connection per client: its first
// request, which pays the dial, is not counted, and the others are timed
// from their write.
func TestWebReusedConnections(t *testing.T) {
	sc := builtin(t, "aggregate")
	r, err := Web(sc, WebOptions{Size: 10_000, Concurrency: 3, Requests: 7, Reused: true})
	if err != nil {
		t.Fatal(err)
	}
	// 7 requests over 3 clients: 3 each, and one uncounted each.
	if r.Failed != 0 || len(r.Done) != 9 {
		t.Fatalf("%d done, %d failed (%s), want 9 done", len(r.Done), r.Failed, r.FirstError)
	}
	if got := r.Server["MPCapableSYNRX"]; got != 3 {
		t.Errorf("the server saw %d MP_CAPABLE SYNs, want one per client (3)", got)
	}
	for i, d := range r.Done {
		// One round trip at least; no handshake in it.
		if d < 20*time.Millisecond || d >= 40*time.Millisecond+20*time.Millisecond {
			t.Errorf("request %d took %v on a kept connection, want 20-60 ms", i, d)
		}
	}
}

func TestWebBadOptions(t *testing.T) {
	sc := builtin(t, "aggregate")
	for _, o := range []WebOptions{{Size: 0, Concurrency: 1}, {Size: 1000, Concurrency: 0}} {
		if _, err := Web(sc, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestWebTimeout bounds a run in virtual time: requests still going when
// it ends, and those never started, count as failed, with the reason.
func TestWebTimeout(t *testing.T) {
	sc := builtin(t, "aggregate")
	// 1 MB takes about half a second on these paths: two fit in 1.2 s,
	// the third is cut short and the fourth never starts.
	r, err := Web(sc, WebOptions{Size: 1_000_000, Concurrency: 1, Requests: 4, Timeout: 1200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Done) != 2 || r.Failed != 2 {
		t.Fatalf("%d done, %d failed, want 2 and 2", len(r.Done), r.Failed)
	}
	if !strings.Contains(r.FirstError, "not done after 1.2s") || r.Elapsed != 1200*time.Millisecond {
		t.Errorf("first error %q, elapsed %v; want the timeout named and the run's whole length", r.FirstError, r.Elapsed)
	}
}

// TestWebTailOnFastPath: kept-alive 1 MB answers on the aggregate paths
// (wifi 20 Mbit/s 10 ms, cellular 10 Mbit/s 50 ms one-way, queues of two
// bandwidth-delay products). The cellular subflow's window fills its
// queue, and when the end of an answer it carries is lost, its loss
// detection takes up to a second there; the wifi subflow, idle once its
// share is sent, carries that tail again (opportunistic retransmission at
// the tail). No answer may then take longer than wifi alone would need for
// all of it and three of its round trips; before, one of 30 took 1.3 s.
// The copies stay a small part of the traffic.
func TestWebTailOnFastPath(t *testing.T) {
	sc := builtin(t, "aggregate")
	const size, requests = 1_000_000, 30
	r, err := Web(sc, WebOptions{Size: size, Concurrency: 1, Requests: requests, Reused: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed != 0 || len(r.Done) != requests {
		t.Fatalf("%d done, %d failed (%s)", len(r.Done), r.Failed, r.FirstError)
	}
	// 1,000,000 bytes in 1,448-byte segments of 1,500 bytes on the wire.
	wifiAlone := time.Duration(size*1500/1448*8*1e9/20e6) + 3*20*time.Millisecond
	if worst := slices.Max(r.Done); worst > wifiAlone {
		t.Errorf("slowest answer took %v, wifi alone would carry it in %v (all: %v)", worst, wifiAlone, r.Done)
	}
	if r.Server["OpportunisticRetrans"] == 0 {
		t.Errorf("no tail went again on the fast path: %v", r.Server)
	}
	if re := r.Server["ReinjectBytes"]; re > size*requests/100 {
		t.Errorf("%d bytes sent again for %d: more than 1%%", re, size*requests)
	}
}
