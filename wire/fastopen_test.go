package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestFastOpenOption(t *testing.T) {
	cookie := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	for _, c := range [][]byte{nil, cookie, cookie[:4], append(cookie, cookie...)} {
		var b OptionBuilder
		if err := b.AddMSS(1460); err != nil {
			t.Fatal(err)
		}
		if err := b.AddFastOpen(c); err != nil {
			t.Fatalf("AddFastOpen(%d bytes): %v", len(c), err)
		}
		var o TCPOptions
		if err := ParseTCPOptions(b.Bytes(), FlagSYN, &o); err != nil {
			t.Fatal(err)
		}
		if !o.FastOpen || !bytes.Equal(o.FastOpenCookie[:o.FastOpenCookieLen], c) || o.MSS != 1460 {
			t.Errorf("cookie %x: parsed FastOpen=%v cookie %x MSS %d", c, o.FastOpen, o.FastOpenCookie[:o.FastOpenCookieLen], o.MSS)
		}
	}
	var b OptionBuilder
	for _, n := range []int{2, 3, 5, 18} {
		if err := b.AddFastOpen(make([]byte, n)); !errors.Is(err, ErrBadOption) {
			t.Errorf("AddFastOpen(%d bytes) = %v, want ErrBadOption", n, err)
		}
	}
	// A cookie of odd length is malformed: skipped, the rest still read.
	raw := []byte{OptFastOpen, 7, 1, 2, 3, 4, 5, OptMSS, 4, 5, 0xb4, 0}
	var o TCPOptions
	if err := ParseTCPOptions(raw, FlagSYN, &o); !errors.Is(err, ErrBadOption) || o.FastOpen || o.MSS != 1460 {
		t.Errorf("odd cookie: err %v, FastOpen %v, MSS %d", err, o.FastOpen, o.MSS)
	}
}
