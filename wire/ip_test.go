package wire

import (
	"errors"
	"net/netip"
	"testing"
)

func TestIPv4EncodeParse(t *testing.T) {
	b := make([]byte, 28)
	f := IPv4Fields{TOS: 0x10, ID: 0x1234, DF: true, TTL: 7, Protocol: ProtoTCP,
		Src: netip.MustParseAddr("10.1.0.2"), Dst: netip.MustParseAddr("10.1.0.1")}
	EncodeIPv4(b, &f, 8)
	h, err := ParseIPv4(append(b, 0, 0)) // link-layer padding is trimmed
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 28 || h.TTL() != 7 || h.Protocol() != ProtoTCP || h.ID() != 0x1234 || h.TOS() != 0x10 ||
		h.Src() != f.Src || h.Dst() != f.Dst || h.IsFragment() || !h.ValidChecksum() || len(h.Payload()) != 8 {
		t.Fatalf("bad header %x", []byte(h))
	}
	h.SetTTL(6)
	h.SetSrc(netip.MustParseAddr("192.0.2.99"))
	if !h.ValidChecksum() || h.TTL() != 6 || h.Src() != netip.MustParseAddr("192.0.2.99") {
		t.Fatalf("incremental update broke the header: %x", []byte(h))
	}
}

func TestIPv4ParseErrors(t *testing.T) {
	good := make([]byte, 20)
	EncodeIPv4(good, &IPv4Fields{Src: netip.IPv4Unspecified(), Dst: netip.IPv4Unspecified()}, 0)
	mod := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"short":         {good[:19], ErrTruncated},
		"version":       {mod(func(b []byte) { b[0] = 0x65 }), ErrBadVersion},
		"ihl":           {mod(func(b []byte) { b[0] = 0x44 }), ErrBadLength},
		"total<ihl":     {mod(func(b []byte) { b[3] = 10 }), ErrBadLength},
		"total>buffer":  {mod(func(b []byte) { b[3] = 21 }), ErrTruncated},
		"ihl>total len": {mod(func(b []byte) { b[0] = 0x46 }), ErrBadLength},
	} {
		if _, err := ParseIPv4(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
	}
}

func TestIPv6EncodeParseTransport(t *testing.T) {
	f := IPv6Fields{TrafficClass: 0xb8, FlowLabel: 0xabcde, NextHeader: ProtoTCP,
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}
	b := make([]byte, 44)
	EncodeIPv6(b, &f, 4)
	h, err := ParseIPv6(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.TrafficClass() != 0xb8 || h.FlowLabel() != 0xabcde || h.HopLimit() != 64 || h.Src() != f.Src || h.Dst() != f.Dst {
		t.Fatalf("bad header %x", []byte(h))
	}
	if p, pl, err := h.Transport(); err != nil || p != ProtoTCP || len(pl) != 4 {
		t.Fatalf("Transport = %d, %d bytes, %v", p, len(pl), err)
	}
	// A hop-by-hop header (8 bytes) in front of TCP.
	f.NextHeader = 0
	b = make([]byte, 40+8+4)
	EncodeIPv6(b, &f, 12)
	b[40], b[41] = ProtoTCP, 0
	h, _ = ParseIPv6(b)
	if p, pl, err := h.Transport(); err != nil || p != ProtoTCP || len(pl) != 4 {
		t.Fatalf("with hop-by-hop: %d, %d bytes, %v", p, len(pl), err)
	}
	b[41] = 5 // claims 48 bytes
	if _, _, err := h.Transport(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("overlong extension header: %v", err)
	}
	if _, err := ParseIPv6(b[:45]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short payload: %v", err)
	}
}

func TestParseIPRejectsFragments(t *testing.T) {
	b := make([]byte, 40)
	EncodeIPv4(b, &IPv4Fields{Protocol: ProtoTCP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}, 20)
	b[6] = 0x20 // more fragments
	if _, _, _, _, err := ParseIP(b); !errors.Is(err, ErrFragment) {
		t.Fatalf("fragment: %v", err)
	}
	if _, _, _, _, err := ParseIP([]byte{0x50}); !errors.Is(err, ErrBadVersion) {
		t.Fatalf("version 5: %v", err)
	}
}
