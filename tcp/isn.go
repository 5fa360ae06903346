package tcp

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"time"
)

// secretKey keys the hashes behind ISNs, timestamp offsets, ephemeral port
// choice and SYN cookies (RFC 6528 section 3: ISN = M + F(4-tuple, secret)).
type secretKey struct{ k0, k1 uint64 }

// hashTuple returns a keyed 64-bit hash (SipHash-2-4) of a connection's
// 4-tuple and a 32-bit salt that separates the hash's uses.
func (k secretKey) hashTuple(local, remote netip.AddrPort, salt uint32) uint64 {
	var b [40]byte
	l, r := local.Addr().As16(), remote.Addr().As16()
	copy(b[0:16], l[:])
	copy(b[16:32], r[:])
	binary.LittleEndian.PutUint16(b[32:], local.Port())
	binary.LittleEndian.PutUint16(b[34:], remote.Port())
	binary.LittleEndian.PutUint32(b[36:], salt)
	return sipHash24(k.k0, k.k1, b[:])
}

// Salts for the uses of hashTuple.
const (
	saltISN uint32 = iota + 1
	saltTSOffset
	saltPort
	saltCookie1
	saltCookie2
	saltFastOpen1
	saltFastOpen2
)

// isn returns the initial sequence number for a connection at now: the
// keyed hash plus a clock ticking every 4 microseconds (RFC 6528).
func (k secretKey) isn(local, remote netip.AddrPort, now time.Duration) uint32 {
	return uint32(k.hashTuple(local, remote, saltISN)) + uint32(now/(4*time.Microsecond))
}

// tsOffset returns the per-connection offset added to timestamp values,
// so a connection's TSval reveals nothing of the host's clock (RFC 7323
// section 5.4), yet is stable for a 4-tuple, as PAWS across TIME-WAIT
// reuse needs.
func (k secretKey) tsOffset(local, remote netip.AddrPort) uint32 {
	return uint32(k.hashTuple(local, remote, saltTSOffset))
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein) of msg under the key
// (k0, k1).
func sipHash24(k0, k1 uint64, msg []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(msg)
	for len(msg) >= 8 {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
		msg = msg[8:]
	}
	var last [8]byte
	copy(last[:], msg)
	last[7] = byte(n)
	m := binary.LittleEndian.Uint64(last[:])
	v3 ^= m
	round()
	round()
	v0 ^= m
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
