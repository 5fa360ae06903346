package core

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/mptcp-go/mptcp/internal/bufcache"
	"github.com/mptcp-go/mptcp/wire"
)

// TestByteQueueRing checks the queue against a plain slice through
// appends, peeks, reads and discards that wrap around its ring and make
// it grow, its rings taken from a cache and handed back whenever it
// grows or empties.
func TestByteQueueRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cache := bufcache.New(0)
	q := byteQueue{bufs: cache}
	var model []byte
	next := byte(0)
	for step := range 20000 {
		switch rng.IntN(4) {
		case 0, 1:
			p := make([]byte, rng.IntN(3000))
			for i := range p {
				p[i] = next
				next++
			}
			q.append(p)
			model = append(model, p...)
		case 2:
			p := make([]byte, rng.IntN(4000))
			n := q.read(p)
			want := min(len(p), len(model))
			if n != want || !bytes.Equal(p[:n], model[:n]) {
				t.Fatalf("step %d: read %d bytes, want %d equal to the model", step, n, want)
			}
			model = model[n:]
		case 3:
			n := rng.IntN(2000)
			q.discard(n)
			model = model[min(n, len(model)):]
			if len(model) == 0 {
				q.release()
			}
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: len %d, model %d", step, q.len(), len(model))
		}
		if len(model) > 0 {
			i := rng.IntN(len(model))
			n := rng.IntN(5000) + 1
			a, b := q.peek(i, n)
			got := append(append([]byte(nil), a...), b...)
			if want := model[i:min(i+n, len(model))]; !bytes.Equal(got, want) {
				t.Fatalf("step %d: peek(%d, %d) = %d+%d bytes, not the model's %d", step, i, n, len(a), len(b), len(want))
			}
		}
	}
	if st := cache.Stats(); st.Hits == 0 || st.Puts == 0 {
		t.Fatalf("the queue never reused a ring: %+v", st)
	}
}

// TestByteQueueSteadyNoAlloc: a queue at its working size neither
// allocates nor moves its bytes, whatever the wrap.
func TestByteQueueSteadyNoAlloc(t *testing.T) {
	var q byteQueue
	p := make([]byte, 1000)
	q.append(make([]byte, 5000))
	if n := testing.AllocsPerRun(1000, func() {
		q.append(p)
		q.discard(len(p))
	}); n != 0 {
		t.Fatalf("%v allocations per append and discard", n)
	}
}

// TestDSSChecksumSplit: the checksum of data in two pieces, of odd and
// even lengths, is the checksum of the data in one.
func TestDSSChecksumSplit(t *testing.T) {
	data := make([]byte, 1501)
	for i := range data {
		data[i] = byte(i*7 + 3)
	}
	for _, k := range []int{1, 2, 1500, 1501} {
		want := wire.DSSChecksum(1<<40+5, 77, uint16(k), data[:k])
		for cut := 0; cut <= k; cut += max(1, k/7) {
			if got := dssChecksum(1<<40+5, 77, uint16(k), data[:cut], data[cut:]); got != want {
				t.Errorf("k %d cut at %d: %#04x, want %#04x", k, cut, got, want)
			}
		}
	}
}
