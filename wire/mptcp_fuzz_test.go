package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The MPTCP fuzz targets; run each with, for example,
//
//	go test ./wire -run='^$' -fuzz='^FuzzMPTCPDecode$' -fuzztime=60s
//	go test ./wire -run='^$' -fuzz='^FuzzMPTCPRoundTrip$' -fuzztime=60s
//
// Seed inputs live in testdata/fuzz/<FuzzName>/.

// canonicalMPTCP returns opt with the bits the decoder ignores cleared:
// reserved fields, and DSS's a and m flags when A and M are clear. It is
// what encoding a decoded option must give back.
func canonicalMPTCP(opt []byte, st MPTCPSubtype) []byte {
	c := bytes.Clone(opt)
	switch st {
	case SubtypeMPJoin:
		if len(c) == MPJoinACKLen {
			c[2] &^= 0x0f
			c[3] = 0
		} else {
			c[2] &^= 0x0e
		}
	case SubtypeDSS:
		c[2] &^= 0x0f
		c[3] &= 0x1f
		if c[3]&DSSFlagDataAck == 0 {
			c[3] &^= DSSFlagDataAck64
		}
		if c[3]&DSSFlagMapping == 0 {
			c[3] &^= DSSFlagDSN64
		}
	case SubtypeAddAddr, SubtypeMPPrio:
		c[2] &^= 0x0e
	case SubtypeRemoveAddr:
		c[2] &^= 0x0f
	case SubtypeMPFail, SubtypeMPFastclose:
		c[2] &^= 0x0f
		c[3] = 0
	}
	return c
}

// FuzzMPTCPDecode decodes arbitrary MPTCP option bodies under arbitrary
// TCP flags. It must never panic; an option it accepts must encode back to
// the same bytes, reserved bits aside; one it refuses must leave the
// options untouched and say why with a sentinel error.
func FuzzMPTCPDecode(f *testing.F) {
	for _, tc := range mptcpCases {
		w := hx(tc.wire)
		f.Add(w[2:], uint8(tc.flags))
	}
	f.Fuzz(func(t *testing.T, body []byte, flags uint8) {
		if len(body) > MaxOptionLen-2 {
			body = body[:MaxOptionLen-2]
		}
		var o MPTCPOptions
		// Raw bytes, which need not even be an MPTCP option.
		if err := o.Decode(body, TCPFlags(flags)); err != nil && o.Present != 0 {
			t.Fatalf("error %v but Present = %v", err, o.Present)
		}
		opt := append([]byte{OptMPTCP, byte(len(body) + 2)}, body...)
		o.Reset()
		err := o.Decode(opt, TCPFlags(flags))
		if err != nil {
			if o.Present != 0 {
				t.Fatalf("error %v but Present = %v", err, o.Present)
			}
			if !errors.Is(err, ErrBadLength) && !errors.Is(err, ErrBadOption) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if len(body) == 0 {
			t.Fatal("decoded an option without subtype")
		}
		st := MPTCPSubtype(body[0] >> 4)
		if o.Present != MPTCPSubtypeSet(0).With(st) {
			t.Fatalf("Present = %v for subtype %v", o.Present, st)
		}
		v := decodedValue(&o, st)
		if v == nil {
			return // unknown subtype: recorded and skipped
		}
		if n := o.RemoveAddr.Count; st == SubtypeRemoveAddr && (n == 0 || int(n) > MaxRemoveAddrIDs) {
			t.Fatalf("REMOVE_ADDR count %d", n)
		}
		buf := make([]byte, MaxOptionLen)
		n := v.Encode(buf)
		if want := canonicalMPTCP(opt, st); !bytes.Equal(buf[:n], want) {
			t.Fatalf("decoded %+v from % x\nre-encodes as % x\nwant         % x", v, opt, buf[:n], want)
		}
	})
}

// roundTripValue builds an option of the subtype sel picks from fuzzed
// fields. It returns the value to encode, the value decoding must give
// back (fields the form does not carry zeroed, truncated ones cut), and
// the TCP flags of a segment that may carry it.
func roundTripValue(sel, form, bits uint8, k1, k2 uint64, n1, n2 uint32, s1, s2 uint16, raw []byte) (in, want mptcpValue, flags TCPFlags) {
	flags = FlagACK
	switch sel % 9 {
	case 0:
		c := MPCapable{Form: MPCapableForm(form % 5), Version: bits & 0x1f, Flags: MPCapableFlags(s1 >> 8),
			SenderKey: k1, ReceiverKey: k2, DataLen: s2, HasChecksum: bits&0x20 != 0, Checksum: s1}
		w := c
		if w.Form == MPCapableSYN && w.Version != 0 {
			w.SenderKey = 0 // only the version-0 SYN carries a key
		}
		if w.Form == MPCapableSYN || w.Form == MPCapableSYNACK {
			w.ReceiverKey = 0
		}
		if w.Form != MPCapableData {
			w.DataLen, w.HasChecksum = 0, false
		}
		if !w.HasChecksum {
			w.Checksum = 0
		}
		return &c, &w, c.Form.TCPFlags()
	case 1:
		j := MPJoin{Form: MPJoinForm(form % 4), Backup: bits&1 != 0, AddrID: uint8(s1), Token: n1, Nonce: n2, TruncatedHMAC: k1}
		copy(j.HMAC[:], raw)
		w := MPJoin{Form: j.Form}
		switch j.Form {
		case MPJoinSYN:
			w.Backup, w.AddrID, w.Token, w.Nonce = j.Backup, j.AddrID, j.Token, j.Nonce
		case MPJoinSYNACK:
			w.Backup, w.AddrID, w.TruncatedHMAC, w.Nonce = j.Backup, j.AddrID, j.TruncatedHMAC, j.Nonce
		case MPJoinACK:
			w.HMAC = j.HMAC
		}
		return &j, &w, j.Form.TCPFlags()
	case 2:
		d := DSS{HasAck: bits&1 != 0, Ack64: bits&2 != 0, DataAck: k1, HasMap: bits&4 != 0, DSN64: bits&8 != 0, DSN: k2,
			SubflowSeq: n1, DataLen: s1, HasChecksum: bits&16 != 0, Checksum: s2, DataFIN: bits&32 != 0}
		w := d
		if !w.HasAck {
			w.Ack64, w.DataAck = false, 0
		} else if !w.Ack64 {
			w.DataAck &= 0xffffffff
		}
		if !w.HasMap {
			w.DSN64, w.DSN, w.SubflowSeq, w.DataLen = false, 0, 0, 0
		} else if !w.DSN64 {
			w.DSN &= 0xffffffff
		}
		if !w.HasChecksum {
			w.Checksum = 0
		}
		return &d, &w, flags
	case 3:
		a := AddAddr{Echo: bits&1 != 0, AddrID: uint8(s1), HasPort: bits&4 != 0, Port: s2, HMAC: k1}
		switch {
		case bits&2 != 0 && len(raw) >= 16:
			a.Addr = netip.AddrFrom16([16]byte(raw))
		case len(raw) >= 4:
			a.Addr = netip.AddrFrom4([4]byte(raw))
		}
		w := a
		if !w.HasPort {
			w.Port = 0
		}
		if w.Echo {
			w.HMAC = 0
		}
		return &a, &w, flags
	case 4:
		r := RemoveAddr{Count: uint8(min(len(raw), 255))}
		copy(r.IDs[:], raw)
		return &r, &r, flags
	case 5:
		p := MPPrio{Backup: bits&1 != 0, HasAddrID: bits&2 != 0, AddrID: uint8(s1)}
		w := p
		if !w.HasAddrID {
			w.AddrID = 0
		}
		return &p, &w, flags
	case 6:
		return &MPFail{DSN: k1}, &MPFail{DSN: k1}, flags
	case 7:
		return &MPFastclose{ReceiverKey: k1}, &MPFastclose{ReceiverKey: k1}, flags | FlagRST
	default:
		r := MPTCPRst{Flags: MPTCPRstFlags(bits), Reason: MPTCPRstReason(s1)}
		w := r
		w.Flags &= 0x0f
		return &r, &w, FlagRST | FlagACK
	}
}

// FuzzMPTCPRoundTrip builds an option of every subtype and form from fuzzed
// fields, adds it to a segment with the option builder, writes the packet
// and decodes it again through ParseIP, ParseTCP and ParseTCPOptions: the
// values must come back. A value that cannot be encoded must be refused by
// the builder with ErrBadOption and leave the builder unchanged.
func FuzzMPTCPRoundTrip(f *testing.F) {
	f.Add(uint8(0), uint8(4), uint8(0x21), uint64(1), uint64(2), uint32(3), uint32(4), uint16(0x8105), uint16(37), []byte{})
	f.Add(uint8(1), uint8(3), uint8(0), uint64(1), uint64(2), uint32(3), uint32(4), uint16(5), uint16(6), bytes.Repeat([]byte{0xab}, 20))
	f.Add(uint8(2), uint8(0), uint8(0x3f), uint64(1<<40), uint64(1<<50), uint32(3), uint32(4), uint16(1400), uint16(0xffff), []byte{})
	f.Add(uint8(3), uint8(0), uint8(0x06), uint64(9), uint64(0), uint32(0), uint32(0), uint16(1), uint16(8080), netip.MustParseAddr("2001:db8::1").AsSlice())
	f.Add(uint8(4), uint8(0), uint8(0), uint64(0), uint64(0), uint32(0), uint32(0), uint16(0), uint16(0), []byte{1, 2, 3})
	f.Add(uint8(8), uint8(0), uint8(0x01), uint64(0), uint64(0), uint32(0), uint32(0), uint16(6), uint16(0), []byte{})
	f.Fuzz(func(t *testing.T, sel, form, bits uint8, k1, k2 uint64, n1, n2 uint32, s1, s2 uint16, raw []byte) {
		in, want, flags := roundTripValue(sel, form, bits, k1, k2, n1, n2, s1, s2, raw)
		var ob OptionBuilder
		if bits&0x80 != 0 {
			_ = ob.AddTimestamps(n1, n2) // share the option space
		}
		free := ob.Free()
		if err := addValue(&ob, in); err != nil {
			if ob.Free() != free {
				t.Fatalf("failed add changed the builder: %v", err)
			}
			switch {
			case errors.Is(err, ErrOptionSpace):
				if in.Len() <= free {
					t.Fatalf("%d-byte option refused with %d free: %v", in.Len(), free, err)
				}
			case errors.Is(err, ErrBadOption):
				if in.Len() != 0 || in.Encode(make([]byte, MaxOptionLen)) != 0 {
					t.Fatalf("refused %+v (%v) but Len/Encode accept it", in, err)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		src, dst := netip.AddrFrom4([4]byte{10, 1, 0, 2}), netip.AddrFrom4([4]byte{10, 1, 0, 1})
		if bits&0x40 != 0 {
			src, dst = netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("2001:db8::1")
		}
		pkt := AppendTCPPacket(nil, src, dst, &TCPFields{SrcPort: 1, DstPort: 2, Flags: flags}, ob.Bytes(), raw)
		_, _, _, seg, err := ParseIP(pkt)
		if err != nil {
			t.Fatalf("ParseIP: %v", err)
		}
		tcp, err := ParseTCP(seg)
		if err != nil || !tcp.ValidChecksum(src, dst) {
			t.Fatalf("ParseTCP: %v", err)
		}
		var opts TCPOptions
		if err := ParseTCPOptions(tcp.Options(), tcp.Flags(), &opts); err != nil {
			t.Fatalf("ParseTCPOptions(% x): %v", tcp.Options(), err)
		}
		st := in.Subtype()
		if opts.MPTCP.Present != MPTCPSubtypeSet(0).With(st) {
			t.Fatalf("Present = %v, want %v", opts.MPTCP.Present, st)
		}
		if diff := cmp.Diff(want, decodedValue(&opts.MPTCP, st), addrCmp); diff != "" {
			t.Fatalf("round trip of %+v (-want +got):\n%s", in, diff)
		}
	})
}
