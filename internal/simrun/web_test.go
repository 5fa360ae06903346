package simrun

import (
	"reflect"
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
	done, first := r.Completed()
	if r.Failed != 0 || len(done) != 4 {
		t.Fatalf("%d done, %d failed (%s), want 4 done", len(done), r.Failed, r.FirstError)
	}
	// 20 ms for the handshake, 20 for the request and the first byte,
	// 40 for 100 KB at 20 Mbit/s.
	for i, d := range done {
		if d < 80*time.Millisecond || d > 150*time.Millisecond {
			t.Errorf("request %d took %v, want 80-150 ms", i, d)
		}
		if f := first[i]; f < 40*time.Millisecond || f >= d {
			t.Errorf("request %d: first byte at %v, want from 40 ms to before its end (%v)", i, f, d)
		}
	}
	if got := r.Server["MPCapableSYNRX"]; got != 4 {
		t.Errorf("the server saw %d MP_CAPABLE SYNs, want one per request (4)", got)
	}
	if r.Elapsed < 4*done[0] {
		t.Errorf("4 sequential requests ended after %v, each took about %v", r.Elapsed, done[0])
	}
	again, err := Web(sc, o)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Requests, again.Requests) {
		t.Fatalf("the same seed gave %+v, then %+v", r.Requests, again.Requests)
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
	done, _ := r.Completed()
	if r.Failed != 0 || len(done) != 9 {
		t.Fatalf("%d done, %d failed (%s), want 9 done", len(done), r.Failed, r.FirstError)
	}
	if got := r.Server["MPCapableSYNRX"]; got != 3 {
		t.Errorf("the server saw %d MP_CAPABLE SYNs, want one per client (3)", got)
	}
	for i, d := range done {
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
	if done, _ := r.Completed(); len(done) != 2 || r.Failed != 2 {
		t.Fatalf("%d done, %d failed, want 2 and 2", len(done), r.Failed)
	}
	// The request in progress is recorded as cut; the one never started
	// is only counted.
	if n := len(r.Requests); n != 3 || !strings.Contains(r.Requests[2].Err, "not done after") {
		t.Errorf("requests recorded: %+v, want the two done and the one cut", r.Requests)
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
// all of it and five of its round trips (the copies go once the originals
// are overdue); before, one of 30 took 1.3 s. The copies stay a small part
// of the traffic.
func TestWebTailOnFastPath(t *testing.T) {
	sc := builtin(t, "aggregate")
	const size, requests = 1_000_000, 30
	r, err := Web(sc, WebOptions{Size: size, Concurrency: 1, Requests: requests, Reused: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	done, _ := r.Completed()
	if r.Failed != 0 || len(done) != requests {
		t.Fatalf("%d done, %d failed (%s)", len(done), r.Failed, r.FirstError)
	}
	// 1,000,000 bytes in 1,448-byte segments of 1,500 bytes on the wire.
	wifiAlone := time.Duration(size*1500/1448*8*1e9/20e6) + 5*20*time.Millisecond
	if worst := slices.Max(done); worst > wifiAlone {
		t.Errorf("slowest answer took %v, wifi alone would carry it in %v (all: %v)", worst, wifiAlone, done)
	}
	if r.Server["OpportunisticRetrans"] == 0 {
		t.Errorf("no tail went again on the fast path: %v", r.Server)
	}
	if re := r.Server["ReinjectBytes"]; re > size*requests/100 {
		t.Errorf("%d bytes sent again for %d: more than 1%%", re, size*requests)
	}
}

// TestWebPerRequest: each request is recorded with its client, its start,
// and what each subflow of the answering connection sent of it, the
// scenario's path names on them: on kept-alive connections, one answer's
// bytes each (the uncounted first request's are not in the next one's);
// on new connections, the answer and its retransmissions.
func TestWebPerRequest(t *testing.T) {
	sc := builtin(t, "aggregate")
	for _, reused := range []bool{false, true} {
		const size = 300_000
		r, err := Web(sc, WebOptions{Size: size, Concurrency: 2, Requests: 6, Reused: reused, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Requests) != 6 || r.Failed != 0 {
			t.Fatalf("reused %v: %d requests recorded, %d failed (%s)", reused, len(r.Requests), r.Failed, r.FirstError)
		}
		clients := map[int]int{}
		for i, q := range r.Requests {
			clients[q.Client]++
			if q.Err != "" || q.FirstByte <= 0 || q.Done <= q.FirstByte || q.Start+q.Done > r.Elapsed {
				t.Errorf("reused %v: request %d: %+v", reused, i, q)
			}
			var sent, retrans uint64
			for _, sf := range q.Subflows {
				if sf.Path != "wifi" && sf.Path != "cellular" {
					t.Errorf("reused %v: request %d: subflow on path %q", reused, i, sf.Path)
				}
				sent += sf.Bytes
				retrans += sf.Retransmits
			}
			// The answer once, plus what went again (at most 1,448
			// bytes per retransmitted segment), plus copies sent again
			// elsewhere: well under a second answer.
			if sent < size || sent > size+retrans*1448+size/4 {
				t.Errorf("reused %v: request %d: subflows sent %d bytes (%d segments again) for %d: %+v", reused, i, sent, retrans, size, q.Subflows)
			}
		}
		if clients[0] != 3 || clients[1] != 3 {
			t.Errorf("reused %v: requests per client %v, want 3 each", reused, clients)
		}
	}
}

// TestWebCompetitors: a scenario's competing TCP flows run beside the
// requests, from the first dial to the end, every byte checked. On the
// fairness scenario one TCP flow shares the 20 Mbit/s server link with
// the answers, which take longer than without it.
func TestWebCompetitors(t *testing.T) {
	sc := builtin(t, "fairness")
	if len(sc.Competitors) == 0 {
		t.Fatal("the fairness scenario has no competitors")
	}
	o := WebOptions{Size: 1_000_000, Concurrency: 2, Requests: 6, Reused: true, Seed: 1}
	r, err := Web(sc, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed != 0 || r.FirstError != "" {
		t.Fatalf("%d failed: %s", r.Failed, r.FirstError)
	}
	if len(r.Competitors) != len(sc.Competitors) {
		t.Fatalf("competitors %+v, want %d", r.Competitors, len(sc.Competitors))
	}
	for _, c := range r.Competitors {
		// At least a twentieth of the bottleneck over the run.
		if c.Bytes < int64(float64(r.Elapsed.Seconds())*1e6/8) {
			t.Errorf("competitor %s received %d bytes in %v", c.Name, c.Bytes, r.Elapsed)
		}
	}
	alone := *sc
	alone.Competitors = nil
	a, err := Web(&alone, o)
	if err != nil {
		t.Fatal(err)
	}
	done, _ := r.Completed()
	doneAlone, _ := a.Completed()
	if slices.Max(done) <= slices.Max(doneAlone) {
		t.Errorf("slowest answer %v beside the competitors, %v without them", slices.Max(done), slices.Max(doneAlone))
	}
}

// TestWebSlowStartExit: a 1 MB answer on a new connection of the aggregate
// scenario. Slow start on the wifi path must end before its queue
// overflows: the RTT test alone saw the queue too late, and the answer
// sent 102 of its segments again there; the ACK train ends it in time.
func TestWebSlowStartExit(t *testing.T) {
	sc := builtin(t, "aggregate")
	r, err := Web(sc, WebOptions{Size: 1_000_000, Concurrency: 1, Requests: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Requests) != 1 || r.Failed != 0 {
		t.Fatalf("%+v", r)
	}
	for _, sf := range r.Requests[0].Subflows {
		if sf.Path == "wifi" && sf.Retransmits > 20 {
			t.Errorf("wifi sent %d segments again for one answer", sf.Retransmits)
		}
	}
}
