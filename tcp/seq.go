package tcp

// Comparisons of 32-bit wire sequence numbers, modulo 2^32 (RFC 9293
// section 3.4). Inside a connection sequence numbers are 64-bit offsets
// from the ISN and compare directly; these are for the edges.

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }
func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// unwrap returns the 64-bit offset of the wire value v, taking the
// candidate nearest to ref (a 64-bit offset whose wire value is base+ref).
// The result is negative when v lies before offset 0.
func unwrap(ref uint64, base, v uint32) int64 {
	d := int32(v - (base + uint32(ref)))
	return int64(ref) + int64(d)
}
