package core

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestReassemblyRandom feeds a stream in random, overlapping, duplicated
// pieces and checks that exactly the stream comes out, in order.
func TestReassemblyRandom(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 99))
		stream := make([]byte, 1+r.IntN(5000))
		for i := range stream {
			stream[i] = byte(r.Uint32())
		}
		first := r.Uint64() // any start, wrapping included
		var ra reassembly
		var mib MIB
		ra.init(first, 1<<20)
		var got []byte
		buf := make([]byte, 700)
		for steps := 0; ra.nxt != first+uint64(len(stream)); steps++ {
			if steps > 100000 {
				t.Fatalf("seed %d: no progress", seed)
			}
			off := r.IntN(len(stream))
			n := 1 + r.IntN(min(400, len(stream)-off))
			ra.insert(first+uint64(off), stream[off:off+n], &mib)
			if r.IntN(3) == 0 {
				k := ra.ready.read(buf[:r.IntN(len(buf))])
				got = append(got, buf[:k]...)
			}
		}
		for ra.ready.len() > 0 {
			k := ra.ready.read(buf)
			got = append(got, buf[:k]...)
		}
		if !bytes.Equal(got, stream) {
			t.Fatalf("seed %d: wrong bytes (%d of %d)", seed, len(got), len(stream))
		}
		if len(ra.ofo) != 0 || ra.ofoN != 0 {
			t.Fatalf("seed %d: out-of-order queue not drained: %d segs, %d bytes", seed, len(ra.ofo), ra.ofoN)
		}
	}
}

func TestReassemblyCounters(t *testing.T) {
	var ra reassembly
	var mib MIB
	ra.init(100, 50)
	ra.insert(110, []byte("bbbbb"), &mib) // gap: tail
	ra.insert(120, []byte("ccccc"), &mib) // tail again
	ra.insert(115, []byte("xxxxx"), &mib) // fills between: joins both
	ra.insert(112, []byte("yy"), &mib)    // fully held already
	ra.insert(90, []byte("zz"), &mib)     // before the window
	ra.insert(160, []byte("far"), &mib)   // beyond the 50-byte window
	want := map[Counter]uint64{OFOQueueTail: 2, OFOQueue: 1, DuplicateData: 2, NoDSSInWindow: 1}
	for c, w := range want {
		if got := mib.Get(c); got != w {
			t.Errorf("%v = %d, want %d", c, got, w)
		}
	}
	if len(ra.ofo) != 1 || ra.ofo[0].dsn != 110 || ra.ofo[0].len() != 15 {
		t.Fatalf("queue not coalesced: %+v", ra.ofo)
	}
	if n := ra.insert(100, []byte("aaaaaaaaaa"), &mib); n != 25 || ra.nxt != 125 {
		t.Fatalf("filling the gap made %d bytes readable, nxt %d", n, ra.nxt)
	}
	if ra.window() != 25 {
		t.Fatalf("window %d, want 50-25", ra.window())
	}
	// A piece crossing the accept edge (nxt + limit: a window shown
	// before the reader left 25 bytes unread) is trimmed to it.
	ra.insert(125, bytes.Repeat([]byte{'d'}, 80), &mib)
	if ra.nxt != 175 || ra.window() != 0 {
		t.Fatalf("nxt %d window %d: edge not enforced", ra.nxt, ra.window())
	}
}

func TestReassemblyDataFIN(t *testing.T) {
	var ra reassembly
	var mib MIB
	ra.init(0, 100)
	if !ra.dataFin(5) {
		t.Fatal("DATA_FIN refused")
	}
	if ra.dataFin(6) {
		t.Fatal("second DATA_FIN at another DSN accepted")
	}
	ra.insert(3, []byte("de"), &mib)
	if ra.finDone {
		t.Fatal("DATA_FIN done before the data before it arrived")
	}
	ra.insert(5, []byte("X"), &mib) // data at the DATA_FIN's DSN: refused
	ra.insert(0, []byte("abc"), &mib)
	if !ra.finDone || ra.nxt != 6 {
		t.Fatalf("finDone %v nxt %d, want DATA_FIN consumed at 5", ra.finDone, ra.nxt)
	}
	if ra.eof() {
		t.Fatal("EOF with unread data")
	}
	ra.ready.read(make([]byte, 10))
	if !ra.eof() {
		t.Fatal("no EOF after reading everything")
	}
}

// TestReassemblyShownEdge: data beyond nxt+limit but within an edge a
// subflow showed is kept, not dropped as out of the window (NoDSSInWindow):
// a subflow holding its own right edge shows, with a DATA_ACK that data
// on another subflow moved, an edge past the buffer, and a sender (Linux's
// wnd_end, ours) fills it. Dropping it after the subflow acknowledged it
// left the sender waiting for its connection-level retransmission: a
// kernel's two-subflow transfer to our stack fell to 0.01 Gbit/s.
func TestReassemblyShownEdge(t *testing.T) {
	var ra reassembly
	var mib MIB
	ra.init(1000, 100)
	ra.shown(1000 + 150)
	ra.insert(1000+120, make([]byte, 20), &mib) // within the shown edge
	ra.insert(1000+160, make([]byte, 10), &mib) // beyond every edge
	if got := mib.Get(NoDSSInWindow); got != 1 {
		t.Errorf("NoDSSInWindow %d, want 1 (only the bytes beyond the shown edge)", got)
	}
	if ra.ofoN != 20 {
		t.Errorf("%d bytes held out of order, want the 20 within the shown edge", ra.ofoN)
	}
}
