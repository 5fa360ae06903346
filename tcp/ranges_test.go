package tcp

import (
	"math/rand/v2"
	"testing"
)

// TestRangeSetAgainstBitmap checks the interval set against a plain bitmap
// over random insertions and trims.
func TestRangeSetAgainstBitmap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		var s rangeSet
		bits := make([]bool, 8000)
		base := uint64(0)
		for range 100 {
			if r.IntN(10) == 0 {
				base += uint64(r.IntN(50))
				s.trimBelow(base)
				for i := range base {
					if i < uint64(len(bits)) {
						bits[i] = false
					}
				}
				continue
			}
			a := base + uint64(r.IntN(1500))
			b := a + uint64(r.IntN(100))
			s.add(a, b)
			for i := a; i < b; i++ {
				bits[i] = true
			}
		}
		// Compare.
		var got []Range
		for i := 0; i < len(bits); {
			if !bits[i] {
				i++
				continue
			}
			j := i
			for j < len(bits) && bits[j] {
				j++
			}
			got = append(got, Range{uint64(i), uint64(j)})
			i = j
		}
		if len(got) != len(s.r) {
			t.Fatalf("iter %d: %d intervals, want %d", iter, len(s.r), len(got))
		}
		for i := range got {
			if got[i] != s.r[i] {
				t.Fatalf("iter %d: interval %d is %v, want %v", iter, i, s.r[i], got[i])
			}
		}
		for range 50 {
			a := uint64(r.IntN(7000))
			b := a + uint64(r.IntN(60)) + 1
			want := true
			for i := a; i < b; i++ {
				want = want && bits[i]
			}
			if s.contains(a, b) != want {
				t.Fatalf("contains(%d,%d) = %v", a, b, !want)
			}
		}
	}
}

func TestOutOfOrderFragmentationBounded(t *testing.T) {
	var b recvBuffer
	b.nxt, b.head = 0, 0
	p := []byte{1}
	for i := range 3 * maxRanges {
		b.write(uint64(10+2*i), p)
	}
	if b.ooo.len() != maxRanges {
		t.Fatalf("%d out-of-order intervals, want the bound %d", b.ooo.len(), maxRanges)
	}
	// Extending an existing interval is still allowed.
	b.write(11, p)
	if b.ooo.len() != maxRanges-1 {
		t.Fatalf("merge refused: %d", b.ooo.len())
	}
}
