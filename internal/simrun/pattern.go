package simrun

import "encoding/binary"

// The transfer's bytes are a function of their offset in the stream, so
// the receiver verifies every byte without keeping a copy: byte i is byte
// i%8 of a 64-bit mix of i/8 and the run's seed. A byte delivered twice,
// lost, reordered or rewritten is caught wherever it lands.
type pattern struct{ seed uint64 }

func (p pattern) word(block uint64) uint64 {
	// SplitMix64's finaliser: consecutive blocks give unrelated words.
	z := block + p.seed*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fill writes the pattern for stream offsets [off, off+len(b)) into b.
func (p pattern) fill(b []byte, off uint64) {
	var w [8]byte
	for len(b) > 0 {
		binary.LittleEndian.PutUint64(w[:], p.word(off/8))
		n := copy(b, w[off%8:])
		b, off = b[n:], off+uint64(n)
	}
}

// check reports whether b holds the pattern for offsets starting at off;
// scratch is a buffer of at least len(b) bytes.
func (p pattern) check(b []byte, off uint64, scratch []byte) bool {
	s := scratch[:len(b)]
	p.fill(s, off)
	return string(s) == string(b)
}
