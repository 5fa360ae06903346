package core

// Data sequence numbers are 64-bit and wrap like TCP's 32-bit ones, so they
// are compared by the sign of their difference (RFC 1982 serial arithmetic).

// before64 reports whether a comes before b in the data sequence space.
func before64(a, b uint64) bool { return int64(a-b) < 0 }

// after64 reports whether a comes after b in the data sequence space.
func after64(a, b uint64) bool { return int64(a-b) > 0 }

// max64 returns the later of a and b in sequence order.
func max64(a, b uint64) uint64 {
	if after64(a, b) {
		return a
	}
	return b
}

// expandSeq returns the 64-bit data sequence number whose low 32 bits are
// low and which lies nearest ref, the latest full value known on that
// side (for a DATA_ACK, the send side's SND.UNA; for a mapping, the
// receive side's next expected DSN). RFC 8684 section 3.3 lets a sender
// use 4-byte fields; the receiver reconstructs the upper bits from its
// state, which works as long as the value is within 2^31 of ref.
func expandSeq(ref uint64, low uint32) uint64 {
	v := ref&^0xffffffff | uint64(low)
	d := int32(low - uint32(ref)) // signed distance from ref, mod 2^32
	switch {
	case d >= 0 && v < ref:
		v += 1 << 32
	case d < 0 && v > ref:
		v -= 1 << 32
	}
	return v
}

// expandIf returns v unchanged when it was sent as 64 bits and expands its
// low half against ref otherwise.
func expandIf(ref, v uint64, is64 bool) uint64 {
	if is64 {
		return v
	}
	return expandSeq(ref, uint32(v))
}

// before32 and after32 compare 32-bit subflow sequence numbers.
func before32(a, b uint32) bool { return int32(a-b) < 0 }
func after32(a, b uint32) bool  { return int32(a-b) > 0 }
