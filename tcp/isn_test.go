package tcp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// TestSipHashVectors checks SipHash-2-4 against the reference vectors of
// the SipHash paper (key 00..0f, messages 00..(n-1)).
func TestSipHashVectors(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	k0, k1 := binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for n, want := range map[int]uint64{0: 0x726fdb47dd0e0e31, 1: 0x74f839c593dc67fd, 8: 0x93f5f5799a932462, 15: 0xa129ca6149be45e5, 63: 0x958a324ceb064572} {
		if got := sipHash24(k0, k1, msg[:n]); got != want {
			t.Errorf("len %d: %#x, want %#x", n, got, want)
		}
	}
}

func TestISNClockAndSecret(t *testing.T) {
	k := secretKey{1, 2}
	l, r := netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80")
	a := k.isn(l, r, time.Second)
	// The clock ticks every 4 microseconds (RFC 6528, as RFC 793's).
	if b := k.isn(l, r, time.Second+4*time.Millisecond); b-a != 1000 {
		t.Fatalf("ISN moved %d in 4 ms", b-a)
	}
	if k.isn(netip.MustParseAddrPort("10.0.0.1:1001"), r, time.Second) == a {
		t.Fatal("ISN does not depend on the port")
	}
	if (secretKey{1, 3}).isn(l, r, time.Second) == a {
		t.Fatal("ISN does not depend on the secret")
	}
}
