package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refChecksum is RFC 1071's definition, summed 16 bits at a time.
func refChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func TestChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := Checksum(b, 0), refChecksum(b); got != want {
			t.Fatalf("len %d: Checksum = %#04x, want %#04x", n, got, want)
		}
	}
	// All ones must not overflow the folding.
	b := make([]byte, 1<<16)
	for i := range b {
		b[i] = 0xff
	}
	if got, want := Checksum(b, 0), refChecksum(b); got != want {
		t.Fatalf("all-ones: got %#04x want %#04x", got, want)
	}
}

func TestChecksumPiecesCombine(t *testing.T) {
	b := []byte("the quick brown fox jumps over the lazy dog!")
	whole := Checksum(b, 0)
	for cut := 0; cut <= len(b); cut += 2 {
		if got := ChecksumCombine(Checksum(b[:cut], 0), Checksum(b[cut:], 0)); got != whole {
			t.Fatalf("cut %d: %#04x, want %#04x", cut, got, whole)
		}
		if got := Checksum(b[cut:], Checksum(b[:cut], 0)); got != whole {
			t.Fatalf("chained at %d: %#04x, want %#04x", cut, got, whole)
		}
	}
}

func TestChecksumIncrementalUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1000; i++ {
		b := make([]byte, 20)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:], ^Checksum(b, 0))
		off := 4 * (r.IntN(2) + 3) // a 32-bit word at 12 or 16
		old := binary.BigEndian.Uint32(b[off:])
		nv := r.Uint32()
		binary.BigEndian.PutUint32(b[off:], nv)
		field := ChecksumUpdate32(binary.BigEndian.Uint16(b[10:]), old, nv)
		b[10], b[11] = 0, 0
		full := ^Checksum(b, 0)
		// 0x0000 and 0xffff are the same value in one's complement.
		if field != full && !(field == 0xffff && full == 0) && !(field == 0 && full == 0xffff) {
			t.Fatalf("incremental %#04x, recomputed %#04x", field, full)
		}
	}
}

func TestPseudoHeader(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.168.1.2")
	b := []byte{10, 0, 0, 1, 192, 168, 1, 2, 0, ProtoTCP, 0x01, 0x00}
	if got, want := PseudoHeaderChecksum(ProtoTCP, src, dst, 256), refChecksum(b); got != want {
		t.Fatalf("IPv4 pseudo-header %#04x, want %#04x", got, want)
	}
	src6, dst6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::abcd:1")
	s, d := src6.As16(), dst6.As16()
	b6 := append(append(s[:], d[:]...), 0, 1, 0, 0, 0, 0, 0, ProtoTCP)
	if got, want := PseudoHeaderChecksum(ProtoTCP, src6, dst6, 65536), refChecksum(b6); got != want {
		t.Fatalf("IPv6 pseudo-header %#04x, want %#04x", got, want)
	}
}
