package compare

import (
	"bytes"
	"errors"
	"fmt"
)

// patternPeriod is the period of the byte pattern every transfer sends. A
// prime, so that a chunk delivered at the wrong offset (a duplicated,
// lost or reordered segment) never lines up with the pattern by chance of
// a power-of-two alignment.
const patternPeriod = 65521

// pattern holds two periods back to back, so that any window of up to one
// period starting at any offset is one contiguous slice.
var pattern = func() []byte {
	b := make([]byte, 2*patternPeriod)
	x := uint32(0x9e3779b9)
	for i := range patternPeriod {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x >> 24)
	}
	copy(b[patternPeriod:], b[:patternPeriod])
	return b
}()

// errCorrupt reports bytes that differ from the pattern.
var errCorrupt = errors.New("received bytes differ from the bytes sent")

// patternAt returns up to n bytes of the pattern from stream offset off.
func patternAt(off int64, n int) []byte {
	n = min(n, patternPeriod)
	i := int(off % patternPeriod)
	return pattern[i : i+n]
}

// verify checks that b is the pattern at stream offset off.
func verify(off int64, b []byte) error {
	for len(b) > 0 {
		want := patternAt(off, len(b))
		if !bytes.Equal(b[:len(want)], want) {
			return fmt.Errorf("%w at stream offset %d..%d", errCorrupt, off, off+int64(len(want)))
		}
		off += int64(len(want))
		b = b[len(want):]
	}
	return nil
}
