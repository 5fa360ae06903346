package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The expected values here are computed with crypto/sha256 and crypto/hmac
// directly, following the RFC's wording, not with the package's code.

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func refHMAC(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestKeyTokenIDSNReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		key := rng.Uint64()
		h := sha256.Sum256(be64(key))
		// RFC 8684 section 3.1: the token is the most significant 32 bits
		// of SHA-256(key), the IDSN the least significant 64 bits.
		wantTok := binary.BigEndian.Uint32(h[0:4])
		wantIDSN := binary.BigEndian.Uint64(h[24:32])
		tok, idsn := KeyTokenIDSN(key)
		if tok != wantTok || idsn != wantIDSN {
			t.Fatalf("key %#x: got %#x %#x, want %#x %#x", key, tok, idsn, wantTok, wantIDSN)
		}
	}
}

func TestHMACSHA256AllMessageLengths(t *testing.T) {
	msg := make([]byte, hmacMaxMsg)
	for i := range msg {
		msg[i] = byte(i*7 + 1)
	}
	for n := 0; n <= hmacMaxMsg; n++ {
		got := hmacSHA256(0x0102030405060708, 0xf1f2f3f4f5f6f7f8, msg[:n])
		want := refHMAC(cat(be64(0x0102030405060708), be64(0xf1f2f3f4f5f6f7f8)), msg[:n])
		if !hmac.Equal(got[:], want) {
			t.Fatalf("message of %d bytes: %x, want %x", n, got, want)
		}
	}
}

func TestJoinHMACs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50; i++ {
		keyA, keyB := rng.Uint64(), rng.Uint64() // A initiates the subflow
		rA, rB := rng.Uint32(), rng.Uint32()
		// RFC 8684 section 3.2: HMAC-A = HMAC(Key=(Key-A+Key-B), Msg=(R-A+R-B)),
		// HMAC-B = HMAC(Key=(Key-B+Key-A), Msg=(R-B+R-A)). The SYN/ACK carries
		// the leftmost 64 bits of HMAC-B, the third ACK the leftmost 160 bits
		// of HMAC-A.
		hmacA := refHMAC(cat(be64(keyA), be64(keyB)), cat(be32(rA), be32(rB)))
		hmacB := refHMAC(cat(be64(keyB), be64(keyA)), cat(be32(rB), be32(rA)))
		if got := JoinHMAC(keyA, keyB, rA, rB); !hmac.Equal(got[:], hmacA) {
			t.Fatalf("JoinHMAC A: %x, want %x", got, hmacA)
		}
		if got, want := JoinSynAckHMAC(keyB, keyA, rB, rA), binary.BigEndian.Uint64(hmacB[:8]); got != want {
			t.Fatalf("JoinSynAckHMAC: %#x, want %#x", got, want)
		}
		if got := JoinAckHMAC(keyA, keyB, rA, rB); !hmac.Equal(got[:], hmacA[:20]) {
			t.Fatalf("JoinAckHMAC: %x, want %x", got, hmacA[:20])
		}
	}
}

func TestAddAddrHMAC(t *testing.T) {
	keyA, keyB := uint64(0x1111222233334444), uint64(0x5555666677778888) // A announces
	for _, tc := range []struct {
		id   uint8
		addr string
		port uint16
	}{
		{1, "10.2.0.1", 0},
		{2, "192.0.2.7", 8080},
		{3, "2001:db8::1", 0},
		{4, "2001:db8::2", 443},
	} {
		addr := netip.MustParseAddr(tc.addr)
		// RFC 8684 section 3.4.1: HMAC(Key=(Key-A+Key-B),
		// Msg=(Address ID + IP Address + Port)), rightmost 64 bits; the
		// port is two bytes, zero when absent (as the kernel does).
		msg := cat([]byte{tc.id}, addr.AsSlice(), []byte{byte(tc.port >> 8), byte(tc.port)})
		h := refHMAC(cat(be64(keyA), be64(keyB)), msg)
		want := binary.BigEndian.Uint64(h[24:])
		if got := AddAddrHMAC(keyA, keyB, tc.id, addr, tc.port); got != want {
			t.Errorf("%s port %d: %#x, want %#x", tc.addr, tc.port, got, want)
		}
	}
}

// refDSSChecksum is RFC 1071 over the RFC 8684 section 3.3.1 pseudo-header
// (64-bit DSN, 32-bit subflow sequence, 16-bit length, 16-bit zero) and the
// data, summed 16 bits at a time.
func refDSSChecksum(dsn uint64, ssn uint32, dlen uint16, payload []byte) uint16 {
	b := cat(be64(dsn), be32(ssn), []byte{byte(dlen >> 8), byte(dlen), 0, 0}, payload)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func TestDSSChecksumReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 300; i++ {
		payload := make([]byte, rng.IntN(1500))
		for j := range payload {
			payload[j] = byte(rng.Uint32())
		}
		dsn, ssn, dlen := rng.Uint64(), rng.Uint32(), uint16(len(payload))
		want := refDSSChecksum(dsn, ssn, dlen, payload)
		got := DSSChecksum(dsn, ssn, dlen, payload)
		if got != want {
			t.Fatalf("%d bytes: %#04x, want %#04x", len(payload), got, want)
		}
		if !DSSChecksumValid(dsn, ssn, dlen, got, payload) {
			t.Fatalf("%d bytes: own checksum does not verify", len(payload))
		}
		if DSSChecksumValid(dsn+1, ssn, dlen, got, payload) || DSSChecksumValid(dsn, ssn, dlen, got+1, payload) {
			t.Fatalf("%d bytes: wrong DSN or checksum verifies", len(payload))
		}
		if len(payload) > 0 {
			bad := append([]byte(nil), payload...)
			bad[rng.IntN(len(bad))] ^= 0x10
			if DSSChecksumValid(dsn, ssn, dlen, got, bad) {
				t.Fatalf("%d bytes: corrupted data verifies", len(payload))
			}
		}
	}
}

// TestDSSChecksumAcrossSegments sums a mapping's data in pieces, as a
// receiver does when a mapping spans several segments.
func TestDSSChecksumAcrossSegments(t *testing.T) {
	payload := make([]byte, 3001)
	for i := range payload {
		payload[i] = byte(i * 31)
	}
	dsn, ssn, dlen := uint64(1<<40+5), uint32(77), uint16(len(payload))
	sum := DSSPseudoHeaderSum(dsn, ssn, dlen)
	for _, piece := range [][]byte{payload[:1000], payload[1000:2400], payload[2400:]} { // even pieces, odd last
		sum = ChecksumCombine(sum, Checksum(piece, 0))
	}
	if got, want := ^sum, DSSChecksum(dsn, ssn, dlen, payload); got != want {
		t.Fatalf("pieces %#04x, whole %#04x", got, want)
	}
}
