package perf

import (
	"bytes"
	"fmt"
)

// patternPeriod is the period of the byte pattern: a prime, so that no
// power-of-two misplacement of data (a segment, a 64 KiB record, a
// buffer) lands on identical bytes.
const patternPeriod = 65521

// pattern is the byte stream senders write: byte k of stream s is
// base[(k + s*streamSkew) mod patternPeriod]. It is held unrolled by a
// block, so that any block of the stream is one slice of it and writing
// or checking costs no generation.
type pattern struct {
	tab []byte // patternPeriod + block bytes
}

// streamSkew shifts each stream's pattern so that bytes crossing streams
// are caught too.
const streamSkew = 4099

func newPattern(block int) *pattern {
	tab := make([]byte, patternPeriod+block)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range patternPeriod {
		// splitmix64
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		tab[i] = byte(z ^ (z >> 31))
	}
	for i := patternPeriod; i < len(tab); i++ {
		tab[i] = tab[i%patternPeriod]
	}
	return &pattern{tab: tab}
}

// at returns the n bytes of stream s from offset off; n is at most the
// block size the pattern was made for.
func (p *pattern) at(s int, off int64, n int) []byte {
	i := int((off + int64(s)*streamSkew) % patternPeriod)
	return p.tab[i : i+n]
}

// check compares b with stream s's bytes from offset off and describes
// the first difference.
func (p *pattern) check(s int, off int64, b []byte) error {
	want := p.at(s, off, len(b))
	if bytes.Equal(b, want) {
		return nil
	}
	for i := range b {
		if b[i] != want[i] {
			return fmt.Errorf("%w: stream %d: byte %d is %#02x, want %#02x", ErrCorrupt, s, off+int64(i), b[i], want[i])
		}
	}
	return nil // unreachable
}
