package simrun

import (
	"bytes"
	"encoding/binary"
)

// patternPeriod is the length after which the transfer's bytes repeat: a
// prime, so that a block misplaced by any power-of-two distance (a
// sequence-number wrap, a doubled buffer) or by anything shorter than the
// period lands on different bytes.
const patternPeriod = 1048573

// The transfer's bytes are a function of their offset in the stream, so
// the receiver verifies every byte without keeping a copy: byte i is byte
// (i mod P) % 8 of a 64-bit mix of (i mod P) / 8 and the run's seed, P the
// period. A byte delivered twice, lost, reordered or rewritten is caught
// wherever it lands, unless it moved by a multiple of P.
//
// The period is computed once per run and then only sliced: generating
// test data per write cost ten times what the stack under test spends on
// the same bytes, which is not what a simulation should measure.
type pattern struct {
	// table holds one period followed by chunk more bytes, so that any
	// write or read of up to chunk bytes is one slice of it.
	table []byte
}

func newPattern(seed uint64) pattern {
	t := make([]byte, patternPeriod+chunk)
	var w [8]byte
	for i := 0; i < patternPeriod; i += 8 {
		binary.LittleEndian.PutUint64(w[:], patternWord(seed, uint64(i/8)))
		copy(t[i:patternPeriod], w[:])
	}
	copy(t[patternPeriod:], t[:chunk])
	return pattern{table: t}
}

func patternWord(seed, block uint64) uint64 {
	// SplitMix64's finaliser: consecutive blocks give unrelated words.
	z := block + seed*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// at returns the pattern for stream offsets [off, off+n), n <= chunk. The
// slice is the pattern's own: callers read it and never write to it.
func (p pattern) at(off uint64, n int) []byte {
	i := off % patternPeriod
	return p.table[i : i+uint64(n)]
}

// check reports whether b (at most chunk bytes) holds the pattern for
// offsets starting at off.
func (p pattern) check(b []byte, off uint64) bool {
	return bytes.Equal(b, p.at(off, len(b)))
}
