package convert

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{},
		{Info: true},
		{Connect: &Connect{Dest: netip.MustParseAddrPort("192.0.2.7:443")}},
		{Connect: &Connect{Dest: netip.MustParseAddrPort("[2001:db8::1]:80"), Options: []byte{4, 2, 30, 4, 0x81, 0}}},
		{ExtendedTCPHeader: bytes.Repeat([]byte{1}, 22), SupportedTCPExt: []uint8{30}},
		{Cookie: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Other: []TLV{{Type: 192, Value: make([]byte, 30)}}},
		{Error: &Error{Code: ErrNotAuthorized, Value: []byte{0}}},
	} {
		b, err := m.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b)%4 != 0 || int(b[1])*4 != len(b) {
			t.Fatalf("%+v: encoded %d bytes, total length %d words", m, len(b), b[1])
		}
		got, raw, err := ReadMessage(bytes.NewReader(append(b, "payload"...)))
		if err != nil {
			t.Fatalf("%x: %v", b, err)
		}
		if !bytes.Equal(raw, b) {
			t.Errorf("raw %x, want %x", raw, b)
		}
		want := m
		if want.ExtendedTCPHeader != nil {
			want.ExtendedTCPHeader = append(want.ExtendedTCPHeader, 0, 0) // padded to a word
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	}
}

// TestConnectWire checks the Connect TLV byte by byte against section 4.2.4:
// port, then the address as IPv4-mapped IPv6, lengths in words.
func TestConnectWire(t *testing.T) {
	m := Message{Connect: &Connect{Dest: netip.MustParseAddrPort("10.1.2.3:8080")}}
	b, _ := m.Append(nil)
	want := []byte{1, 6, 0, 0, 10, 5, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3}
	if !bytes.Equal(b, want) {
		t.Fatalf("got %x\nwant %x", b, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want error
		code ErrorCode
	}{
		{"version 0", []byte{0, 1, 0, 0}, ErrVersion, ErrUnsupportedVersion},
		{"version 2", []byte{2, 1, 0, 0}, ErrVersion, ErrUnsupportedVersion},
		{"zero length", []byte{1, 0, 0, 0}, ErrMalformed, ErrMalformedMessage},
		{"length past end", []byte{1, 2, 0, 0}, ErrMalformed, ErrMalformedMessage},
		{"zero TLV length", []byte{1, 2, 0, 0, 1, 0, 0, 0}, ErrMalformed, ErrMalformedMessage},
		{"TLV past end", []byte{1, 2, 0, 0, 10, 2, 0, 0}, ErrMalformed, ErrMalformedMessage},
		{"short connect", []byte{1, 2, 0, 0, 10, 1, 0, 0}, ErrMalformed, ErrMalformedMessage},
		{"repeated", []byte{1, 3, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}, ErrMalformed, ErrMalformedMessage},
		{"unknown type", []byte{1, 2, 0, 0, 99, 1, 0, 0}, ErrUnknown, ErrUnsupportedMessage},
	} {
		_, _, err := ReadMessage(bytes.NewReader(tc.b))
		if tc.name == "length past end" {
			if err == nil {
				t.Errorf("%s: no error", tc.name)
			}
			continue
		}
		if !errors.Is(err, tc.want) || Code(err) != tc.code {
			t.Errorf("%s: err %v (code %v), want %v (%v)", tc.name, err, Code(err), tc.want, tc.code)
		}
	}
}

func TestTooLong(t *testing.T) {
	m := Message{Cookie: make([]byte, MaxMessageLen)}
	if _, err := m.Append(nil); err == nil {
		t.Fatal("a message over 1020 bytes encoded")
	}
}

func FuzzParse(f *testing.F) {
	for _, m := range []Message{{Info: true}, {Connect: &Connect{Dest: netip.MustParseAddrPort("192.0.2.1:1")}},
		{Error: &Error{Code: ErrNetworkFailure}}} {
		b, _ := m.Append(nil)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		out, err := m.Append(nil)
		if err != nil {
			t.Fatalf("re-encoding a parsed message: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-encoded %x does not parse: %v", out, err)
		}
	})
}
