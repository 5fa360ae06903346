package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mptcpValue is what every MPTCP option type implements.
type mptcpValue interface {
	Subtype() MPTCPSubtype
	Len() int
	Encode([]byte) int
}

// hx decodes hex written with spaces between groups, as the option layouts
// below are written: one group per field of the RFC's figure.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// decodedValue returns the field of o for subtype st, as the type tests
// compare it with.
func decodedValue(o *MPTCPOptions, st MPTCPSubtype) mptcpValue {
	switch st {
	case SubtypeMPCapable:
		return &o.Capable
	case SubtypeMPJoin:
		return &o.Join
	case SubtypeDSS:
		return &o.DSS
	case SubtypeAddAddr:
		return &o.AddAddr
	case SubtypeRemoveAddr:
		return &o.RemoveAddr
	case SubtypeMPPrio:
		return &o.Prio
	case SubtypeMPFail:
		return &o.Fail
	case SubtypeMPFastclose:
		return &o.Fastclose
	case SubtypeMPTCPRst:
		return &o.Rst
	}
	return nil
}

// addValue adds v with the builder's adder for its type.
func addValue(b *OptionBuilder, v mptcpValue) error {
	switch v := v.(type) {
	case *MPCapable:
		return b.AddMPCapable(v)
	case *MPJoin:
		return b.AddMPJoin(v)
	case *DSS:
		return b.AddDSS(v)
	case *AddAddr:
		return b.AddAddAddr(v)
	case *RemoveAddr:
		return b.AddRemoveAddr(v)
	case *MPPrio:
		return b.AddMPPrio(v)
	case *MPFail:
		return b.AddMPFail(v)
	case *MPFastclose:
		return b.AddMPFastclose(v)
	case *MPTCPRst:
		return b.AddMPTCPRst(v)
	}
	panic("unknown option type")
}

func removeAddr(ids ...uint8) *RemoveAddr {
	r := &RemoveAddr{Count: uint8(len(ids))}
	copy(r.IDs[:], ids)
	return r
}

var (
	hmac20 = [20]byte{0: 0xa0, 1: 0xa1, 18: 0xb2, 19: 0xb3}
	v4     = netip.MustParseAddr("10.2.0.1")
	v6     = netip.MustParseAddr("2001:db8::1")
)

// Every form of every subtype, with its layout written out field by field
// from the figures of RFC 8684 section 3 (RFC 6824 for version 0).
var mptcpCases = []struct {
	name  string
	flags TCPFlags
	st    MPTCPSubtype
	wire  string
	val   mptcpValue
}{
	// MP_CAPABLE: kind len | subtype<<4|version | flags A..H | keys | data-level length | checksum
	{"MP_CAPABLE SYN", FlagSYN, SubtypeMPCapable, "1e 04 01 81",
		&MPCapable{Form: MPCapableSYN, Version: 1, Flags: MPCapableChecksum | MPCapableHMACSHA256}},
	{"MP_CAPABLE SYN C flag", FlagSYN, SubtypeMPCapable, "1e 04 01 21",
		&MPCapable{Form: MPCapableSYN, Version: 1, Flags: MPCapableDenyJoinID0 | MPCapableHMACSHA256}},
	{"MP_CAPABLE SYN/ACK", FlagSYN | FlagACK, SubtypeMPCapable, "1e 0c 01 01 0102030405060708",
		&MPCapable{Form: MPCapableSYNACK, Version: 1, Flags: MPCapableHMACSHA256, SenderKey: 0x0102030405060708}},
	{"MP_CAPABLE ACK", FlagACK, SubtypeMPCapable, "1e 14 01 01 0102030405060708 1112131415161718",
		&MPCapable{Form: MPCapableACK, Version: 1, Flags: MPCapableHMACSHA256, SenderKey: 0x0102030405060708, ReceiverKey: 0x1112131415161718}},
	{"MP_CAPABLE data", FlagACK | FlagPSH, SubtypeMPCapable, "1e 16 01 01 0102030405060708 1112131415161718 0025",
		&MPCapable{Form: MPCapableData, Version: 1, Flags: MPCapableHMACSHA256, SenderKey: 0x0102030405060708, ReceiverKey: 0x1112131415161718, DataLen: 37}},
	{"MP_CAPABLE data checksum", FlagACK, SubtypeMPCapable, "1e 18 01 81 0102030405060708 1112131415161718 0025 beef",
		&MPCapable{Form: MPCapableData, Version: 1, Flags: MPCapableChecksum | MPCapableHMACSHA256, SenderKey: 0x0102030405060708, ReceiverKey: 0x1112131415161718, DataLen: 37, HasChecksum: true, Checksum: 0xbeef}},
	{"MP_CAPABLE v0 SYN", FlagSYN, SubtypeMPCapable, "1e 0c 00 81 0102030405060708",
		&MPCapable{Form: MPCapableSYN, Version: 0, Flags: MPCapableChecksum | MPCapableHMACSHA256, SenderKey: 0x0102030405060708}},
	{"MP_CAPABLE v0 SYN/ACK", FlagSYN | FlagACK, SubtypeMPCapable, "1e 0c 00 01 0102030405060708",
		&MPCapable{Form: MPCapableSYNACK, Version: 0, Flags: MPCapableHMACSHA256, SenderKey: 0x0102030405060708}},
	{"MP_CAPABLE v0 ACK", FlagACK, SubtypeMPCapable, "1e 14 00 01 0102030405060708 1112131415161718",
		&MPCapable{Form: MPCapableACK, Version: 0, Flags: MPCapableHMACSHA256, SenderKey: 0x0102030405060708, ReceiverKey: 0x1112131415161718}},
	{"MP_CAPABLE future version SYN", FlagSYN, SubtypeMPCapable, "1e 04 02 01",
		&MPCapable{Form: MPCapableSYN, Version: 2, Flags: MPCapableHMACSHA256}},

	// MP_JOIN: kind len | subtype<<4|rsv|B | address id | ...
	{"MP_JOIN SYN", FlagSYN, SubtypeMPJoin, "1e 0c 11 05 c0ffee01 12345678",
		&MPJoin{Form: MPJoinSYN, Backup: true, AddrID: 5, Token: 0xc0ffee01, Nonce: 0x12345678}},
	{"MP_JOIN SYN/ACK", FlagSYN | FlagACK, SubtypeMPJoin, "1e 10 10 03 0102030405060708 9abcdef0",
		&MPJoin{Form: MPJoinSYNACK, AddrID: 3, TruncatedHMAC: 0x0102030405060708, Nonce: 0x9abcdef0}},
	{"MP_JOIN ACK", FlagACK, SubtypeMPJoin, "1e 18 10 00 a0a100000000000000000000000000000000b2b3",
		&MPJoin{Form: MPJoinACK, HMAC: hmac20}},

	// DSS: kind len | subtype<<4|rsv | rsv F m M a A | DATA_ACK | DSN | subflow seq | length | checksum
	{"DSS ack32", FlagACK, SubtypeDSS, "1e 08 20 01 aabbccdd",
		&DSS{HasAck: true, DataAck: 0xaabbccdd}},
	{"DSS ack64", FlagACK, SubtypeDSS, "1e 0c 20 03 1122334455667788",
		&DSS{HasAck: true, Ack64: true, DataAck: 0x1122334455667788}},
	{"DSS map32", FlagACK, SubtypeDSS, "1e 0e 20 04 01020304 00000001 05b4",
		&DSS{HasMap: true, DSN: 0x01020304, SubflowSeq: 1, DataLen: 1460}},
	{"DSS map64 checksum", FlagACK, SubtypeDSS, "1e 14 20 0c 0102030405060708 00000001 05b4 1234",
		&DSS{HasMap: true, DSN64: true, DSN: 0x0102030405060708, SubflowSeq: 1, DataLen: 1460, HasChecksum: true, Checksum: 0x1234}},
	{"DSS kernel data segment", FlagACK, SubtypeDSS, "1e 16 20 0d 01020304 0102030405060708 00000026 0004",
		&DSS{HasAck: true, DataAck: 0x01020304, HasMap: true, DSN64: true, DSN: 0x0102030405060708, SubflowSeq: 38, DataLen: 4}},
	{"DSS full", FlagACK, SubtypeDSS, "1e 1c 20 1f 1122334455667788 0102030405060708 00000000 0001 ffff",
		&DSS{HasAck: true, Ack64: true, DataAck: 0x1122334455667788, HasMap: true, DSN64: true, DSN: 0x0102030405060708, DataLen: 1, HasChecksum: true, Checksum: 0xffff, DataFIN: true}},
	{"DSS empty", FlagACK, SubtypeDSS, "1e 04 20 00", &DSS{}},

	// ADD_ADDR: kind len | subtype<<4|rsv|E | address id | address | port | truncated HMAC
	{"ADD_ADDR v4", FlagACK, SubtypeAddAddr, "1e 10 30 01 0a020001 0102030405060708",
		&AddAddr{AddrID: 1, Addr: v4, HMAC: 0x0102030405060708}},
	{"ADD_ADDR v4 port", FlagACK, SubtypeAddAddr, "1e 12 30 02 0a020001 1f90 0102030405060708",
		&AddAddr{AddrID: 2, Addr: v4, HasPort: true, Port: 8080, HMAC: 0x0102030405060708}},
	{"ADD_ADDR v6", FlagACK, SubtypeAddAddr, "1e 1c 30 03 20010db8000000000000000000000001 0102030405060708",
		&AddAddr{AddrID: 3, Addr: v6, HMAC: 0x0102030405060708}},
	{"ADD_ADDR v6 port", FlagACK, SubtypeAddAddr, "1e 1e 30 04 20010db8000000000000000000000001 0050 0102030405060708",
		&AddAddr{AddrID: 4, Addr: v6, HasPort: true, Port: 80, HMAC: 0x0102030405060708}},
	{"ADD_ADDR echo v4", FlagACK, SubtypeAddAddr, "1e 08 31 01 0a020001",
		&AddAddr{Echo: true, AddrID: 1, Addr: v4}},
	{"ADD_ADDR echo v4 port", FlagACK, SubtypeAddAddr, "1e 0a 31 02 0a020001 1f90",
		&AddAddr{Echo: true, AddrID: 2, Addr: v4, HasPort: true, Port: 8080}},
	{"ADD_ADDR echo v6", FlagACK, SubtypeAddAddr, "1e 14 31 03 20010db8000000000000000000000001",
		&AddAddr{Echo: true, AddrID: 3, Addr: v6}},
	{"ADD_ADDR echo v6 port", FlagACK, SubtypeAddAddr, "1e 16 31 04 20010db8000000000000000000000001 0050",
		&AddAddr{Echo: true, AddrID: 4, Addr: v6, HasPort: true, Port: 80}},

	// REMOVE_ADDR: kind len | subtype<<4|rsv | ids
	{"REMOVE_ADDR one", FlagACK, SubtypeRemoveAddr, "1e 04 40 07", removeAddr(7)},
	{"REMOVE_ADDR three", FlagACK, SubtypeRemoveAddr, "1e 06 40 01 02 ff", removeAddr(1, 2, 255)},

	// MP_PRIO: kind len | subtype<<4|rsv|B | [address id]
	{"MP_PRIO backup", FlagACK, SubtypeMPPrio, "1e 03 51", &MPPrio{Backup: true}},
	{"MP_PRIO clear", FlagACK, SubtypeMPPrio, "1e 03 50", &MPPrio{}},
	{"MP_PRIO address id", FlagACK, SubtypeMPPrio, "1e 04 51 09", &MPPrio{Backup: true, HasAddrID: true, AddrID: 9}},

	// MP_FAIL, MP_FASTCLOSE: kind len | subtype<<4|rsv | rsv | 64 bits
	{"MP_FAIL", FlagACK, SubtypeMPFail, "1e 0c 60 00 0102030405060708", &MPFail{DSN: 0x0102030405060708}},
	{"MP_FASTCLOSE", FlagACK, SubtypeMPFastclose, "1e 0c 70 00 1112131415161718", &MPFastclose{ReceiverKey: 0x1112131415161718}},
	{"MP_FASTCLOSE on RST", FlagRST | FlagACK, SubtypeMPFastclose, "1e 0c 70 00 1112131415161718", &MPFastclose{ReceiverKey: 0x1112131415161718}},

	// MP_TCPRST: kind len | subtype<<4|U V W T | reason
	{"MP_TCPRST transient", FlagRST, SubtypeMPTCPRst, "1e 04 81 06", &MPTCPRst{Flags: MPTCPRstTransient, Reason: MPTCPRstReasonMiddleboxInterferes}},
	{"MP_TCPRST all flags", FlagRST | FlagACK, SubtypeMPTCPRst, "1e 04 8f 00", &MPTCPRst{Flags: 0xf, Reason: MPTCPRstReasonUnspecified}},
}

func TestMPTCPDecodeEncode(t *testing.T) {
	for _, tc := range mptcpCases {
		t.Run(tc.name, func(t *testing.T) {
			wire := hx(tc.wire)
			var o MPTCPOptions
			if err := o.Decode(wire, tc.flags); err != nil {
				t.Fatalf("Decode(% x): %v", wire, err)
			}
			if o.Present != MPTCPSubtypeSet(0).With(tc.st) {
				t.Errorf("Present = %v, want %v", o.Present, tc.st)
			}
			if diff := cmp.Diff(tc.val, decodedValue(&o, tc.st), addrCmp); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}

			if n := tc.val.Len(); n != len(wire) {
				t.Errorf("Len() = %d, want %d", n, len(wire))
			}
			buf := make([]byte, MaxOptionLen)
			n := tc.val.Encode(buf)
			if !bytes.Equal(buf[:n], wire) {
				t.Errorf("Encode:\n got % x\nwant % x", buf[:n], wire)
			}
			if tc.val.Encode(buf[:len(wire)-1]) != 0 {
				t.Errorf("Encode into a short buffer wrote something")
			}

			// Through the builder and the TCP option parser.
			var ob OptionBuilder
			if err := addValue(&ob, tc.val); err != nil {
				t.Fatalf("builder: %v", err)
			}
			if !bytes.HasPrefix(ob.Bytes(), wire) {
				t.Errorf("builder wrote % x, want % x first", ob.Bytes(), wire)
			}
			var opts TCPOptions
			if err := ParseTCPOptions(ob.Bytes(), tc.flags, &opts); err != nil {
				t.Fatalf("ParseTCPOptions: %v", err)
			}
			if diff := cmp.Diff(tc.val, decodedValue(&opts.MPTCP, tc.st), addrCmp); diff != "" {
				t.Errorf("ParseTCPOptions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDSSEveryFlagCombination decodes and encodes DSS with every setting of
// A, a, M, m and F, with and without a checksum, against a layout built
// field by field.
func TestDSSEveryFlagCombination(t *testing.T) {
	const ack, dsn, ssn, dlen, csum = 0x1112131415161718, 0x2122232425262728, 0x31323334, 0x4142, 0x5152
	for flags := 0; flags < 32; flags++ {
		for _, withCsum := range []bool{false, true} {
			A, a, M, m, F := flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0, flags&16 != 0
			wire := []byte{30, 0, 0x20, byte(flags)}
			if A {
				if a {
					wire = append(wire, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18)
				} else {
					wire = append(wire, 0x15, 0x16, 0x17, 0x18)
				}
			}
			if M {
				if m {
					wire = append(wire, 0x21, 0x22, 0x23, 0x24)
				}
				wire = append(wire, 0x25, 0x26, 0x27, 0x28, 0x31, 0x32, 0x33, 0x34, 0x41, 0x42)
			}
			if withCsum {
				wire = append(wire, 0x51, 0x52)
			}
			wire[1] = byte(len(wire))

			var o MPTCPOptions
			err := o.Decode(wire, FlagACK)
			bad := (F && !M) || (withCsum && !M)
			if bad {
				if err == nil || o.Present != 0 {
					t.Errorf("flags %#02x csum %t: decoded % x without error", flags, withCsum, wire)
				}
				continue
			}
			if err != nil {
				t.Errorf("flags %#02x csum %t: % x: %v", flags, withCsum, wire, err)
				continue
			}
			want := DSS{HasAck: A, Ack64: A && a, HasMap: M, DSN64: M && m, DataFIN: F, HasChecksum: withCsum}
			if A {
				want.DataAck = ack
				if !a {
					want.DataAck &= 0xffffffff
				}
			}
			if M {
				want.DSN, want.SubflowSeq, want.DataLen = dsn, ssn, dlen
				if !m {
					want.DSN &= 0xffffffff
				}
			}
			if withCsum {
				want.Checksum = csum
			}
			if diff := cmp.Diff(want, o.DSS); diff != "" {
				t.Errorf("flags %#02x csum %t (-want +got):\n%s", flags, withCsum, diff)
			}
			// a without A and m without M are dropped on decoding, so the
			// encoding is the input with those bits cleared.
			canon := bytes.Clone(wire)
			if !A {
				canon[3] &^= DSSFlagDataAck64
			}
			if !M {
				canon[3] &^= DSSFlagDSN64
			}
			buf := make([]byte, 40)
			if n := want.Encode(buf); !bytes.Equal(buf[:n], canon) {
				t.Errorf("flags %#02x csum %t: Encode % x, want % x", flags, withCsum, buf[:n], canon)
			}
		}
	}
}

func TestMPTCPDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags TCPFlags
		wire  string
		want  error
	}{
		{"too short", FlagACK, "1e 02", ErrBadLength},
		{"not MPTCP", FlagACK, "02 04 05 b4", ErrBadOption},
		{"length byte disagrees", FlagACK, "1e 05 01 81", ErrBadOption},

		{"MP_CAPABLE v1 SYN with key", FlagSYN, "1e 0c 01 81 0102030405060708", ErrBadLength},
		{"MP_CAPABLE v0 SYN without key", FlagSYN, "1e 04 00 81", ErrBadLength},
		{"MP_CAPABLE SYN/ACK without key", FlagSYN | FlagACK, "1e 04 01 81", ErrBadLength},
		{"MP_CAPABLE SYN/ACK with both keys", FlagSYN | FlagACK, "1e 14 01 01 0102030405060708 1112131415161718", ErrBadLength},
		{"MP_CAPABLE ACK with one key", FlagACK, "1e 0c 01 01 0102030405060708", ErrBadLength},
		{"MP_CAPABLE ACK length 4", FlagACK, "1e 04 01 01", ErrBadLength},
		{"MP_CAPABLE ACK length 21", FlagACK, "1e 15 01 01 0102030405060708 1112131415161718 00", ErrBadLength},
		{"MP_CAPABLE v0 data form", FlagACK, "1e 16 00 01 0102030405060708 1112131415161718 0025", ErrBadLength},

		{"MP_JOIN SYN form on ACK", FlagACK, "1e 0c 11 05 c0ffee01 12345678", ErrBadOption},
		{"MP_JOIN SYN form on SYN/ACK", FlagSYN | FlagACK, "1e 0c 11 05 c0ffee01 12345678", ErrBadOption},
		{"MP_JOIN SYN/ACK form on SYN", FlagSYN, "1e 10 10 03 0102030405060708 9abcdef0", ErrBadOption},
		{"MP_JOIN ACK form on SYN", FlagSYN, "1e 18 10 00 a0a100000000000000000000000000000000b2b3", ErrBadOption},
		{"MP_JOIN length 13", FlagSYN, "1e 0d 11 05 c0ffee01 12345678 00", ErrBadLength},

		{"DSS without flags byte", FlagACK, "1e 03 20", ErrBadLength},
		{"DSS A without DATA_ACK", FlagACK, "1e 04 20 01", ErrBadLength},
		{"DSS ack32 with ack64 length", FlagACK, "1e 0c 20 01 1122334455667788", ErrBadLength},
		{"DSS M short", FlagACK, "1e 0d 20 04 01020304 00000001 05", ErrBadLength},
		{"DSS checksum without mapping", FlagACK, "1e 0a 20 01 aabbccdd 1234", ErrBadLength},
		{"DSS map32 one byte long", FlagACK, "1e 0f 20 04 01020304 00000001 05b4 00", ErrBadLength},
		{"DSS DATA_FIN without mapping", FlagACK, "1e 08 20 11 aabbccdd", ErrBadOption},

		{"ADD_ADDR echo length with HMAC flag", FlagACK, "1e 08 30 01 0a020001", ErrBadLength},
		{"ADD_ADDR HMAC length with echo flag", FlagACK, "1e 10 31 01 0a020001 0102030405060708", ErrBadLength},
		{"ADD_ADDR length 12", FlagACK, "1e 0c 30 01 0a020001 01020304", ErrBadLength},
		{"ADD_ADDR length 4", FlagACK, "1e 04 31 01", ErrBadLength},

		{"REMOVE_ADDR without IDs", FlagACK, "1e 03 40", ErrBadLength},
		{"MP_PRIO length 5", FlagACK, "1e 05 51 01 02", ErrBadLength},
		{"MP_FAIL short", FlagACK, "1e 08 60 00 01020304", ErrBadLength},
		{"MP_FASTCLOSE long", FlagACK, "1e 10 70 00 0102030405060708 01020304", ErrBadLength},
		{"MP_TCPRST long", FlagRST, "1e 05 80 01 00", ErrBadLength},
		{"MP_TCPRST without RST", FlagACK, "1e 04 80 01", ErrBadOption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o MPTCPOptions
			err := o.Decode(hx(tc.wire), tc.flags)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%s) = %v, want %v", tc.wire, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if o.Present != 0 {
				t.Errorf("Present = %v after an error", o.Present)
			}
		})
	}
}

// TestRemoveAddrMaxIDs decodes the longest REMOVE_ADDR the option space
// allows and refuses one longer.
func TestRemoveAddrMaxIDs(t *testing.T) {
	wire := []byte{30, 40, 0x40}
	for i := 0; i < MaxRemoveAddrIDs; i++ {
		wire = append(wire, byte(i))
	}
	var o MPTCPOptions
	if err := o.Decode(wire, FlagACK); err != nil {
		t.Fatal(err)
	}
	if got := o.RemoveAddr.List(); !bytes.Equal(got, wire[3:]) {
		t.Fatalf("IDs %v", got)
	}
	long := append(bytes.Clone(wire), 99)
	long[1] = byte(len(long))
	if err := o.Decode(long, FlagACK); !errors.Is(err, ErrBadLength) {
		t.Fatalf("41-byte REMOVE_ADDR: %v", err)
	}
}

// TestMPTCPUnknownSubtypes records unassigned and experimental subtypes and
// skips them without error.
func TestMPTCPUnknownSubtypes(t *testing.T) {
	var o MPTCPOptions
	for _, wire := range []string{"1e 03 90", "1e 06 e0 01 02 03", "1e 04 f0 00"} {
		if err := o.Decode(hx(wire), FlagACK); err != nil {
			t.Fatalf("%s: %v", wire, err)
		}
	}
	want := MPTCPSubtypeSet(0).With(9).With(14).With(SubtypeMPExperimental)
	if o.Present != want || !o.Present.Unknown() {
		t.Fatalf("Present = %v, want %v", o.Present, want)
	}
	if o.Present.String() != "MPTCP_SUBTYPE(9)|MPTCP_SUBTYPE(14)|MP_EXPERIMENTAL" {
		t.Errorf("String() = %q", o.Present.String())
	}
	o.Reset()
	if o.Present != 0 || o.Present.Unknown() {
		t.Fatalf("Reset left %v", o.Present)
	}
}

// TestMPTCPSeveralOptions decodes a segment's worth of options: every
// subtype is recorded and a repeated subtype keeps the later value.
func TestMPTCPSeveralOptions(t *testing.T) {
	var ob OptionBuilder
	must(t, ob.AddDSS(&DSS{HasAck: true, DataAck: 1}))
	must(t, ob.AddDSS(&DSS{HasAck: true, DataAck: 2}))
	must(t, ob.AddMPPrio(&MPPrio{Backup: true}))
	must(t, ob.AddRemoveAddr(removeAddr(3, 4)))
	var o TCPOptions
	must(t, ParseTCPOptions(ob.Bytes(), FlagACK, &o))
	want := MPTCPSubtypeSet(0).With(SubtypeDSS).With(SubtypeMPPrio).With(SubtypeRemoveAddr)
	if o.MPTCP.Present != want {
		t.Fatalf("Present = %v, want %v", o.MPTCP.Present, want)
	}
	if o.MPTCP.DSS.DataAck != 2 || !o.MPTCP.Prio.Backup || !bytes.Equal(o.MPTCP.RemoveAddr.List(), []byte{3, 4}) {
		t.Fatalf("values: %+v", o.MPTCP)
	}
}

func TestOptionBuilderMPTCPPadding(t *testing.T) {
	// An 18-byte DSS is followed by two NOPs, as the kernel aligns it.
	var ob OptionBuilder
	must(t, ob.AddDSS(&DSS{HasAck: true, DataAck: 7, HasMap: true, DSN: 1, SubflowSeq: 2, DataLen: 3}))
	if got, want := ob.Bytes(), hx("1e 12 20 05 00000007 00000001 00000002 0003 01 01"); !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	// Timestamps and the longest DSS fill the 40 bytes exactly.
	ob.Reset()
	must(t, ob.AddTimestamps(1, 2))
	full := &DSS{HasAck: true, Ack64: true, HasMap: true, DSN64: true, HasChecksum: true}
	must(t, ob.AddDSS(full))
	if ob.Free() != 0 {
		t.Fatalf("%d bytes free", ob.Free())
	}
	if err := ob.AddMPPrio(&MPPrio{}); !errors.Is(err, ErrOptionSpace) {
		t.Fatalf("MP_PRIO into a full builder: %v", err)
	}
	// When the padding does not fit, the option goes in unpadded.
	ob.Reset()
	must(t, ob.AddTimestamps(1, 2))
	must(t, ob.AddDSS(&DSS{HasAck: true, Ack64: true, HasMap: true, DSN64: true})) // 26 bytes + 2 NOPs
	if ob.Free() != 0 {
		t.Fatalf("%d bytes free", ob.Free())
	}
	ob.Reset()
	must(t, ob.AddMPCapable(&MPCapable{Form: MPCapableACK, Version: 1}))
	must(t, ob.AddMPJoin(&MPJoin{Form: MPJoinSYN}))
	if ob.Free() != 8 {
		t.Fatalf("%d bytes free", ob.Free())
	}
	must(t, ob.AddRemoveAddr(removeAddr(1, 2, 3, 4, 5))) // 8 bytes exactly, no room to pad
	if ob.Free() != 0 || ob.Len() != 40 {
		t.Fatalf("free %d len %d", ob.Free(), ob.Len())
	}
}

// TestOptionBuilderMPTCPErrors: values that cannot be encoded are refused
// and leave the builder as it was.
func TestOptionBuilderMPTCPErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		val  mptcpValue
		want error
	}{
		{"MP_CAPABLE without form", &MPCapable{Version: 1}, ErrBadOption},
		{"MP_CAPABLE v0 data form", &MPCapable{Form: MPCapableData}, ErrBadOption},
		{"MP_CAPABLE version 16", &MPCapable{Form: MPCapableSYN, Version: 16}, ErrBadOption},
		{"MP_JOIN without form", &MPJoin{}, ErrBadOption},
		{"DSS DATA_FIN without mapping", &DSS{DataFIN: true}, ErrBadOption},
		{"DSS checksum without mapping", &DSS{HasAck: true, HasChecksum: true}, ErrBadOption},
		{"ADD_ADDR without address", &AddAddr{AddrID: 1}, ErrBadOption},
		{"REMOVE_ADDR empty", &RemoveAddr{}, ErrBadOption},
		{"REMOVE_ADDR too many", &RemoveAddr{Count: MaxRemoveAddrIDs + 1}, ErrBadOption},
		{"ADD_ADDR too long", &AddAddr{Addr: v6, HasPort: true, HMAC: 1}, ErrOptionSpace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ob OptionBuilder
			must(t, ob.AddTimestamps(1, 2))
			if tc.name == "ADD_ADDR too long" {
				must(t, ob.AddMSS(1460))
			}
			free := ob.Free()
			err := addValue(&ob, tc.val)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if ob.Free() != free {
				t.Fatalf("builder changed: %d free, was %d", ob.Free(), free)
			}
			if tc.want == ErrBadOption && tc.val.Encode(make([]byte, 40)) != 0 {
				t.Fatal("Encode wrote an unencodable value")
			}
		})
	}
}

func TestMPTCPStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{SubtypeMPCapable.String(), "MP_CAPABLE"},
		{SubtypeMPTCPRst.String(), "MP_TCPRST"},
		{MPTCPSubtype(12).String(), "MPTCP_SUBTYPE(12)"},
		{MPTCPSubtypeSet(0).With(SubtypeMPJoin).With(SubtypeDSS).String(), "MP_JOIN|DSS"},
		{(MPCapableChecksum | MPCapableHMACSHA256).String(), "A|H"},
		{MPCapableACK.String(), "ACK"},
		{MPJoinSYNACK.String(), "SYN/ACK"},
		{MPTCPRstReasonUnspecified.String(), "unspecified error"},
		{MPTCPRstReasonMPTCPError.String(), "MPTCP-specific error"},
		{MPTCPRstReasonLackOfResources.String(), "lack of resources"},
		{MPTCPRstReasonAdminProhibited.String(), "administratively prohibited"},
		{MPTCPRstReasonTooMuchOutstanding.String(), "too much outstanding data"},
		{MPTCPRstReasonUnacceptablePerf.String(), "unacceptable performance"},
		{MPTCPRstReasonMiddleboxInterferes.String(), "middlebox interference"},
		{MPTCPRstReason(0x2a).String(), "reason 0x2a"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestMPTCPNoAllocs: decoding, encoding and the per-packet crypto allocate
// nothing.
func TestMPTCPNoAllocs(t *testing.T) {
	wire := hx("1e 16 20 0d 01020304 0102030405060708 00000026 0004")
	var o MPTCPOptions
	var ob OptionBuilder
	d := DSS{HasAck: true, HasMap: true, DSN64: true, HasChecksum: true}
	payload := make([]byte, 1400)
	a := AddAddr{Addr: v6, HasPort: true}
	for name, f := range map[string]func(){
		"Decode DSS": func() { _ = o.Decode(wire, FlagACK) },
		"AddDSS":     func() { ob.Reset(); _ = ob.AddDSS(&d) },
		"DSSChecksum": func() {
			d.Checksum = DSSChecksum(d.DSN, d.SubflowSeq, d.DataLen, payload)
		},
		"KeyTokenIDSN": func() { _, _ = KeyTokenIDSN(42) },
		"JoinHMAC":     func() { _ = JoinAckHMAC(1, 2, 3, 4) },
		"AddAddrHMAC":  func() { a.HMAC = AddAddrHMAC(1, 2, 3, a.Addr, a.Port) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}
