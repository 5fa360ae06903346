package wire

import (
	"encoding/binary"
	"fmt"
)

// Each option type has Len, the bytes it encodes to (0 if the value cannot
// be encoded), and Encode, which writes it at the start of b and returns
// Len, or 0, writing nothing, when b is too short or the value cannot be
// encoded. The OptionBuilder's Add methods wrap them and report why.

// mptcpHeader writes kind, length and the subtype byte.
func mptcpHeader(b []byte, n int, st MPTCPSubtype, low uint8) {
	b[0], b[1], b[2] = OptMPTCP, uint8(n), uint8(st)<<4|low&0x0f
}

// Len returns the encoded length of c.
func (c *MPCapable) Len() int {
	if c.Version > 0x0f {
		return 0
	}
	switch c.Form {
	case MPCapableSYN:
		if c.Version == 0 {
			return MPCapableV0SYNLen
		}
		return MPCapableSYNLen
	case MPCapableSYNACK:
		return MPCapableSYNACKLen
	case MPCapableACK:
		return MPCapableACKLen
	case MPCapableData:
		if c.Version == 0 {
			return 0 // RFC 6824 has no data form
		}
		if c.HasChecksum {
			return MPCapableDataCsumLen
		}
		return MPCapableDataLen
	}
	return 0
}

// Encode writes c into b.
func (c *MPCapable) Encode(b []byte) int {
	n := c.Len()
	if n == 0 || len(b) < n {
		return 0
	}
	mptcpHeader(b, n, SubtypeMPCapable, c.Version)
	b[3] = uint8(c.Flags)
	if n >= 12 {
		binary.BigEndian.PutUint64(b[4:], c.SenderKey)
	}
	if n >= 20 {
		binary.BigEndian.PutUint64(b[12:], c.ReceiverKey)
	}
	if n >= 22 {
		binary.BigEndian.PutUint16(b[20:], c.DataLen)
	}
	if n == MPCapableDataCsumLen {
		binary.BigEndian.PutUint16(b[22:], c.Checksum)
	}
	return n
}

func (c *MPCapable) check() error {
	if c.Len() == 0 {
		return fmt.Errorf("%w: MP_CAPABLE form %v version %d cannot be encoded", ErrBadOption, c.Form, c.Version)
	}
	return nil
}

// TCPFlags returns the SYN and ACK bits of the segment an option of form f
// travels on, which Decode needs to tell the forms apart.
func (f MPCapableForm) TCPFlags() TCPFlags {
	switch f {
	case MPCapableSYN:
		return FlagSYN
	case MPCapableSYNACK:
		return FlagSYN | FlagACK
	}
	return FlagACK
}

// Len returns the encoded length of j.
func (j *MPJoin) Len() int {
	switch j.Form {
	case MPJoinSYN:
		return MPJoinSYNLen
	case MPJoinSYNACK:
		return MPJoinSYNACKLen
	case MPJoinACK:
		return MPJoinACKLen
	}
	return 0
}

// Encode writes j into b.
func (j *MPJoin) Encode(b []byte) int {
	n := j.Len()
	if n == 0 || len(b) < n {
		return 0
	}
	var bk uint8
	if j.Backup {
		bk = 1
	}
	switch j.Form {
	case MPJoinSYN:
		mptcpHeader(b, n, SubtypeMPJoin, bk)
		b[3] = j.AddrID
		binary.BigEndian.PutUint32(b[4:], j.Token)
		binary.BigEndian.PutUint32(b[8:], j.Nonce)
	case MPJoinSYNACK:
		mptcpHeader(b, n, SubtypeMPJoin, bk)
		b[3] = j.AddrID
		binary.BigEndian.PutUint64(b[4:], j.TruncatedHMAC)
		binary.BigEndian.PutUint32(b[12:], j.Nonce)
	case MPJoinACK:
		mptcpHeader(b, n, SubtypeMPJoin, 0)
		b[3] = 0
		copy(b[4:], j.HMAC[:])
	}
	return n
}

func (j *MPJoin) check() error {
	if j.Len() == 0 {
		return fmt.Errorf("%w: MP_JOIN form %v cannot be encoded", ErrBadOption, j.Form)
	}
	return nil
}

// TCPFlags returns the SYN and ACK bits of the segment an option of form f
// travels on.
func (f MPJoinForm) TCPFlags() TCPFlags {
	switch f {
	case MPJoinSYN:
		return FlagSYN
	case MPJoinSYNACK:
		return FlagSYN | FlagACK
	}
	return FlagACK
}

// Len returns the encoded length of d.
func (d *DSS) Len() int {
	if (d.DataFIN || d.HasChecksum) && !d.HasMap {
		return 0
	}
	n := 4
	if d.HasAck {
		n += 4
		if d.Ack64 {
			n += 4
		}
	}
	if d.HasMap {
		n += 10
		if d.DSN64 {
			n += 4
		}
		if d.HasChecksum {
			n += 2
		}
	}
	return n
}

// Encode writes d into b. A 4-byte DATA_ACK or DSN is the low 32 bits of
// the value.
func (d *DSS) Encode(b []byte) int {
	n := d.Len()
	if n == 0 || len(b) < n {
		return 0
	}
	mptcpHeader(b, n, SubtypeDSS, 0)
	b[3] = d.Flags()
	p := b[4:n]
	if d.HasAck {
		if d.Ack64 {
			binary.BigEndian.PutUint64(p, d.DataAck)
			p = p[8:]
		} else {
			binary.BigEndian.PutUint32(p, uint32(d.DataAck))
			p = p[4:]
		}
	}
	if d.HasMap {
		if d.DSN64 {
			binary.BigEndian.PutUint64(p, d.DSN)
			p = p[8:]
		} else {
			binary.BigEndian.PutUint32(p, uint32(d.DSN))
			p = p[4:]
		}
		binary.BigEndian.PutUint32(p, d.SubflowSeq)
		binary.BigEndian.PutUint16(p[4:], d.DataLen)
		if d.HasChecksum {
			binary.BigEndian.PutUint16(p[6:], d.Checksum)
		}
	}
	return n
}

func (d *DSS) check() error {
	if d.Len() == 0 {
		return fmt.Errorf("%w: DSS with DATA_FIN or checksum needs a mapping", ErrBadOption)
	}
	return nil
}

// Len returns the encoded length of a.
func (a *AddAddr) Len() int {
	if !a.Addr.IsValid() {
		return 0
	}
	n := 4 + 16
	if a.Addr.Is4() {
		n = 4 + 4
	}
	if a.HasPort {
		n += 2
	}
	if !a.Echo {
		n += 8
	}
	return n
}

// Encode writes a into b.
func (a *AddAddr) Encode(b []byte) int {
	n := a.Len()
	if n == 0 || len(b) < n {
		return 0
	}
	var e uint8
	if a.Echo {
		e = 1
	}
	mptcpHeader(b, n, SubtypeAddAddr, e)
	b[3] = a.AddrID
	p := b[4:n]
	if a.Addr.Is4() {
		v := a.Addr.As4()
		p = p[copy(p, v[:]):]
	} else {
		v := a.Addr.As16()
		p = p[copy(p, v[:]):]
	}
	if a.HasPort {
		binary.BigEndian.PutUint16(p, a.Port)
		p = p[2:]
	}
	if !a.Echo {
		binary.BigEndian.PutUint64(p, a.HMAC)
	}
	return n
}

func (a *AddAddr) check() error {
	if a.Len() == 0 {
		return fmt.Errorf("%w: ADD_ADDR without a valid address", ErrBadOption)
	}
	return nil
}

// Len returns the encoded length of r.
func (r *RemoveAddr) Len() int {
	if r.Count == 0 || int(r.Count) > MaxRemoveAddrIDs {
		return 0
	}
	return 3 + int(r.Count)
}

// Encode writes r into b.
func (r *RemoveAddr) Encode(b []byte) int {
	n := r.Len()
	if n == 0 || len(b) < n {
		return 0
	}
	mptcpHeader(b, n, SubtypeRemoveAddr, 0)
	copy(b[3:n], r.List())
	return n
}

func (r *RemoveAddr) check() error {
	if r.Len() == 0 {
		return fmt.Errorf("%w: REMOVE_ADDR with %d address IDs, want 1 to %d", ErrBadOption, r.Count, MaxRemoveAddrIDs)
	}
	return nil
}

// Len returns the encoded length of p.
func (p *MPPrio) Len() int {
	if p.HasAddrID {
		return MPPrioAddrIDLen
	}
	return MPPrioLen
}

// Encode writes p into b.
func (p *MPPrio) Encode(b []byte) int {
	n := p.Len()
	if len(b) < n {
		return 0
	}
	var bk uint8
	if p.Backup {
		bk = 1
	}
	mptcpHeader(b, n, SubtypeMPPrio, bk)
	if p.HasAddrID {
		b[3] = p.AddrID
	}
	return n
}

// Len returns the encoded length of f.
func (f *MPFail) Len() int { return MPFailLen }

// Encode writes f into b.
func (f *MPFail) Encode(b []byte) int {
	if len(b) < MPFailLen {
		return 0
	}
	mptcpHeader(b, MPFailLen, SubtypeMPFail, 0)
	b[3] = 0
	binary.BigEndian.PutUint64(b[4:], f.DSN)
	return MPFailLen
}

// Len returns the encoded length of f.
func (f *MPFastclose) Len() int { return MPFastcloseLen }

// Encode writes f into b.
func (f *MPFastclose) Encode(b []byte) int {
	if len(b) < MPFastcloseLen {
		return 0
	}
	mptcpHeader(b, MPFastcloseLen, SubtypeMPFastclose, 0)
	b[3] = 0
	binary.BigEndian.PutUint64(b[4:], f.ReceiverKey)
	return MPFastcloseLen
}

// Len returns the encoded length of r.
func (r *MPTCPRst) Len() int { return MPTCPRstLen }

// Encode writes r into b.
func (r *MPTCPRst) Encode(b []byte) int {
	if len(b) < MPTCPRstLen {
		return 0
	}
	mptcpHeader(b, MPTCPRstLen, SubtypeMPTCPRst, uint8(r.Flags))
	b[3] = uint8(r.Reason)
	return MPTCPRstLen
}
