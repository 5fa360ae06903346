package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Reset empties o for the next segment.
func (o *MPTCPOptions) Reset() { o.Present = 0 }

// Decode decodes one MPTCP option into o and records its subtype in
// o.Present. opt is the whole option, kind and length bytes included, and
// flags are the TCP flags of the segment that carried it: MP_CAPABLE and
// MP_JOIN have forms whose fields depend on whether the segment is a SYN,
// a SYN/ACK or neither.
//
// A length or flag combination that RFC 8684 does not allow returns an
// error wrapping ErrBadLength or ErrBadOption and leaves o unchanged. An
// unknown subtype (unassigned, or MP_EXPERIMENTAL) is recorded in Present
// and otherwise skipped, since RFC 8684 section 3 leaves room for new ones.
// Reserved bits are ignored. Decode never allocates.
func (o *MPTCPOptions) Decode(opt []byte, flags TCPFlags) error {
	if len(opt) < 3 {
		return fmt.Errorf("%w: MPTCP option of %d bytes, need at least 3", ErrBadLength, len(opt))
	}
	if opt[0] != OptMPTCP || int(opt[1]) != len(opt) {
		return fmt.Errorf("%w: not a whole MPTCP option (kind %d, length byte %d, %d bytes)", ErrBadOption, opt[0], opt[1], len(opt))
	}
	st := MPTCPSubtype(opt[2] >> 4)
	var err error
	switch st {
	case SubtypeMPCapable:
		err = o.Capable.decode(opt, flags)
	case SubtypeMPJoin:
		err = o.Join.decode(opt, flags)
	case SubtypeDSS:
		err = o.DSS.decode(opt)
	case SubtypeAddAddr:
		err = o.AddAddr.decode(opt)
	case SubtypeRemoveAddr:
		err = o.RemoveAddr.decode(opt)
	case SubtypeMPPrio:
		err = o.Prio.decode(opt)
	case SubtypeMPFail:
		if len(opt) != MPFailLen {
			return lenError(st, len(opt), "12")
		}
		o.Fail.DSN = binary.BigEndian.Uint64(opt[4:])
	case SubtypeMPFastclose:
		if len(opt) != MPFastcloseLen {
			return lenError(st, len(opt), "12")
		}
		o.Fastclose.ReceiverKey = binary.BigEndian.Uint64(opt[4:])
	case SubtypeMPTCPRst:
		if len(opt) != MPTCPRstLen {
			return lenError(st, len(opt), "4")
		}
		// "The MP_TCPRST option ... is included in a RST" (RFC 8684
		// section 3.6); the kernel ignores it on any other segment.
		if !flags.Has(FlagRST) {
			return fmt.Errorf("%w: MP_TCPRST on a segment without RST (flags %v)", ErrBadOption, flags)
		}
		o.Rst = MPTCPRst{Flags: MPTCPRstFlags(opt[2] & 0x0f), Reason: MPTCPRstReason(opt[3])}
	}
	if err != nil {
		return err
	}
	o.Present = o.Present.With(st)
	return nil
}

func lenError(st MPTCPSubtype, n int, want string) error {
	return fmt.Errorf("%w: %v option length %d, want %s", ErrBadLength, st, n, want)
}

// decode fills c from an MP_CAPABLE option. Which form it is follows from
// the segment's SYN and ACK bits, as in the kernel's mptcp_parse_option;
// the length must then be the one that form has in the option's version.
func (c *MPCapable) decode(opt []byte, flags TCPFlags) error {
	n := len(opt)
	ver := opt[2] & 0x0f
	var form MPCapableForm
	switch {
	case flags.Has(FlagSYN) && !flags.Has(FlagACK):
		form = MPCapableSYN
		want := MPCapableSYNLen
		if ver == 0 {
			want = MPCapableV0SYNLen
		}
		if n != want {
			return fmt.Errorf("%w: MP_CAPABLE version %d on SYN has length %d, want %d", ErrBadLength, ver, n, want)
		}
	case flags.Has(FlagSYN):
		form = MPCapableSYNACK
		if n != MPCapableSYNACKLen {
			return fmt.Errorf("%w: MP_CAPABLE on SYN/ACK has length %d, want 12", ErrBadLength, n)
		}
	default:
		switch {
		case n == MPCapableACKLen:
			form = MPCapableACK
		case (n == MPCapableDataLen || n == MPCapableDataCsumLen) && ver != 0:
			form = MPCapableData
		default:
			want := "20, 22 or 24"
			if ver == 0 {
				want = "20"
			}
			return fmt.Errorf("%w: MP_CAPABLE version %d on a non-SYN segment has length %d, want %s", ErrBadLength, ver, n, want)
		}
	}
	*c = MPCapable{Form: form, Version: ver, Flags: MPCapableFlags(opt[3])}
	if n >= 12 {
		c.SenderKey = binary.BigEndian.Uint64(opt[4:])
	}
	if n >= 20 {
		c.ReceiverKey = binary.BigEndian.Uint64(opt[12:])
	}
	if n >= 22 {
		c.DataLen = binary.BigEndian.Uint16(opt[20:])
	}
	if n == MPCapableDataCsumLen {
		c.HasChecksum = true
		c.Checksum = binary.BigEndian.Uint16(opt[22:])
	}
	return nil
}

// decode fills j from an MP_JOIN option. The length names the form; the
// segment's flags must agree with it (RFC 8684 section 3.2).
func (j *MPJoin) decode(opt []byte, flags TCPFlags) error {
	var form MPJoinForm
	var onSYN, onACK bool
	switch len(opt) {
	case MPJoinSYNLen:
		form, onSYN, onACK = MPJoinSYN, true, false
	case MPJoinSYNACKLen:
		form, onSYN, onACK = MPJoinSYNACK, true, true
	case MPJoinACKLen:
		form = MPJoinACK
	default:
		return lenError(SubtypeMPJoin, len(opt), "12, 16 or 24")
	}
	syn := flags.Has(FlagSYN)
	if syn != onSYN || (onSYN && flags.Has(FlagACK) != onACK) {
		return fmt.Errorf("%w: MP_JOIN %v form (length %d) on a segment with flags %v", ErrBadOption, form, len(opt), flags)
	}
	*j = MPJoin{Form: form}
	switch form {
	case MPJoinSYN:
		j.Backup, j.AddrID = opt[2]&1 != 0, opt[3]
		j.Token = binary.BigEndian.Uint32(opt[4:])
		j.Nonce = binary.BigEndian.Uint32(opt[8:])
	case MPJoinSYNACK:
		j.Backup, j.AddrID = opt[2]&1 != 0, opt[3]
		j.TruncatedHMAC = binary.BigEndian.Uint64(opt[4:])
		j.Nonce = binary.BigEndian.Uint32(opt[12:])
	case MPJoinACK:
		copy(j.HMAC[:], opt[4:24])
	}
	return nil
}

// decode fills d from a DSS option. The flags give the length up to the
// checksum; the checksum is present exactly when the option is two bytes
// longer than that, which only a mapping may be.
func (d *DSS) decode(opt []byte) error {
	if len(opt) < 4 {
		return lenError(SubtypeDSS, len(opt), "at least 4")
	}
	f := opt[3]
	want := 4
	hasAck, ack64 := f&DSSFlagDataAck != 0, f&DSSFlagDataAck64 != 0
	hasMap, dsn64 := f&DSSFlagMapping != 0, f&DSSFlagDSN64 != 0
	if hasAck {
		want += 4
		if ack64 {
			want += 4
		}
	}
	if hasMap {
		want += 10
		if dsn64 {
			want += 4
		}
	}
	n := len(opt)
	csum := hasMap && n == want+2
	if n != want && !csum {
		w := fmt.Sprint(want)
		if hasMap {
			w += " or " + fmt.Sprint(want+2)
		}
		return fmt.Errorf("%w: DSS option with flags %#02x has length %d, want %s", ErrBadLength, f, n, w)
	}
	// A DATA_FIN takes the last octet of a mapping (RFC 8684 section
	// 3.3.3); without one it has no place in the data sequence space.
	if f&DSSFlagDataFIN != 0 && !hasMap {
		return fmt.Errorf("%w: DSS DATA_FIN without a mapping (flags %#02x)", ErrBadOption, f)
	}
	// The a and m bits are meaningless without A and M; like the kernel,
	// ignore them then.
	*d = DSS{HasAck: hasAck, Ack64: hasAck && ack64, HasMap: hasMap, DSN64: hasMap && dsn64, DataFIN: f&DSSFlagDataFIN != 0}
	p := opt[4:]
	if hasAck {
		if ack64 {
			d.DataAck, p = binary.BigEndian.Uint64(p), p[8:]
		} else {
			d.DataAck, p = uint64(binary.BigEndian.Uint32(p)), p[4:]
		}
	}
	if hasMap {
		if dsn64 {
			d.DSN, p = binary.BigEndian.Uint64(p), p[8:]
		} else {
			d.DSN, p = uint64(binary.BigEndian.Uint32(p)), p[4:]
		}
		d.SubflowSeq = binary.BigEndian.Uint32(p)
		d.DataLen = binary.BigEndian.Uint16(p[4:])
		if csum {
			d.HasChecksum = true
			d.Checksum = binary.BigEndian.Uint16(p[6:])
		}
	}
	return nil
}

// decode fills a from an ADD_ADDR option. The E flag and the length
// together say the address family and whether a port is present.
func (a *AddAddr) decode(opt []byte) error {
	echo := opt[2]&1 != 0
	n := len(opt)
	hmacLen := 8
	if echo {
		hmacLen = 0
	}
	var alen int
	var port bool
	switch n - hmacLen {
	case 8:
		alen = 4
	case 10:
		alen, port = 4, true
	case 20:
		alen = 16
	case 22:
		alen, port = 16, true
	default:
		want := "16, 18, 28 or 30"
		if echo {
			want = "8, 10, 20 or 22"
		}
		return fmt.Errorf("%w: ADD_ADDR (echo %t) length %d, want %s", ErrBadLength, echo, n, want)
	}
	*a = AddAddr{Echo: echo, AddrID: opt[3], HasPort: port}
	p := opt[4:]
	if alen == 4 {
		a.Addr, p = netip.AddrFrom4([4]byte(p[:4])), p[4:]
	} else {
		a.Addr, p = netip.AddrFrom16([16]byte(p[:16])), p[16:]
	}
	if port {
		a.Port, p = binary.BigEndian.Uint16(p), p[2:]
	}
	if !echo {
		a.HMAC = binary.BigEndian.Uint64(p)
	}
	return nil
}

// decode fills r from a REMOVE_ADDR option: one address ID per byte after
// the subtype, at least one.
func (r *RemoveAddr) decode(opt []byte) error {
	ids := opt[3:]
	if len(ids) < 1 || len(ids) > MaxRemoveAddrIDs {
		return lenError(SubtypeRemoveAddr, len(opt), fmt.Sprintf("4 to %d", 3+MaxRemoveAddrIDs))
	}
	r.Count = uint8(copy(r.IDs[:], ids))
	return nil
}

// decode fills p from an MP_PRIO option: length 3 in RFC 8684, or 4 with
// the address ID that RFC 6824 allowed.
func (p *MPPrio) decode(opt []byte) error {
	switch len(opt) {
	case MPPrioLen:
		*p = MPPrio{Backup: opt[2]&1 != 0}
	case MPPrioAddrIDLen:
		*p = MPPrio{Backup: opt[2]&1 != 0, HasAddrID: true, AddrID: opt[3]}
	default:
		return lenError(SubtypeMPPrio, len(opt), "3 or 4")
	}
	return nil
}
