package drill

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/mptcp-go/mptcp/wire"
)

// matchMPTCP compares an MPTCP option the stack sent with a statement's,
// binding key and address variables seen for the first time.
func (r *runner) matchMPTCP(o *MPOption, b []byte, p *outPkt) error {
	if len(b) < 3 {
		return fmt.Errorf("MPTCP option of %d bytes", len(b))
	}
	st := wire.MPTCPSubtype(b[2] >> 4)
	if want := mpSubtype[o.Kind]; st != want {
		return fmt.Errorf("actual MPTCP option is %v", st)
	}
	if st == wire.SubtypeMPCapable {
		return r.matchMPCapable(o, b)
	}
	var d wire.MPTCPOptions
	if err := d.Decode(b, p.t.Flags()); err != nil {
		return err
	}
	switch st {
	case wire.SubtypeMPJoin:
		return r.matchJoin(o, &d.Join, p.f)
	case wire.SubtypeDSS:
		return r.matchDSS(o, &d.DSS)
	case wire.SubtypeAddAddr:
		return r.matchAddAddr(o, &d.AddAddr)
	case wire.SubtypeRemoveAddr:
		if got := d.RemoveAddr.List(); !slices.Equal(got, o.IDs) {
			return fmt.Errorf("address IDs %v", got)
		}
	case wire.SubtypeMPPrio:
		if o.Backup != nil && d.Prio.Backup != *o.Backup {
			return fmt.Errorf("backup %v", d.Prio.Backup)
		}
		if o.AddrID != nil && (!d.Prio.HasAddrID || d.Prio.AddrID != *o.AddrID) {
			return fmt.Errorf("address ID %d (present %v)", d.Prio.AddrID, d.Prio.HasAddrID)
		}
	case wire.SubtypeMPFail:
		if o.DSN != nil && d.Fail.DSN-r.mp.remoteIDSN() != o.DSN.Val {
			return fmt.Errorf("dsn %d", d.Fail.DSN-r.mp.remoteIDSN())
		}
	case wire.SubtypeMPTCPRst:
		if uint8(d.Rst.Reason) != o.Reason || (d.Rst.Flags&wire.MPTCPRstTransient != 0) != o.Transient {
			return fmt.Errorf("reason %d transient %v", d.Rst.Reason, d.Rst.Flags&wire.MPTCPRstTransient != 0)
		}
	}
	return nil
}

var mpSubtype = map[string]wire.MPTCPSubtype{
	"mpcapable": wire.SubtypeMPCapable, "mp_join_syn": wire.SubtypeMPJoin, "mp_join_syn_ack": wire.SubtypeMPJoin,
	"mp_join_ack": wire.SubtypeMPJoin, "dss": wire.SubtypeDSS, "add_address": wire.SubtypeAddAddr,
	"remove_address": wire.SubtypeRemoveAddr, "mp_prio": wire.SubtypeMPPrio, "mp_fail": wire.SubtypeMPFail,
	"mp_fastclose": wire.SubtypeMPFastclose, "mp_reset": wire.SubtypeMPTCPRst,
}

// matchMPCapable compares MP_CAPABLE by its bytes, so that version 0 and
// odd lengths are reported as they are.
func (r *runner) matchMPCapable(o *MPOption, b []byte) error {
	m := &r.mp
	ver, flags := int(b[2]&0xf), b[3]
	if ver != o.Version {
		return fmt.Errorf("version %d", ver)
	}
	if flags != o.Flags {
		return fmt.Errorf("flags %#x, expected %#x", flags, o.Flags)
	}
	nkeys := 0
	switch len(b) {
	case 4:
	case 12:
		nkeys = 1
	case 20, 22, 24:
		nkeys = 2
	default:
		return fmt.Errorf("length %d", len(b))
	}
	if nkeys != len(o.Keys) {
		return fmt.Errorf("%d keys, expected %d", nkeys, len(o.Keys))
	}
	hasLen := len(b) >= 22
	if hasLen != (o.DataLen != nil) {
		return fmt.Errorf("data-level length present: %v", hasLen)
	}
	if hasLen && binary.BigEndian.Uint16(b[20:]) != *o.DataLen {
		return fmt.Errorf("mpcdatalen %d", binary.BigEndian.Uint16(b[20:]))
	}
	for i, k := range o.Keys {
		v := binary.BigEndian.Uint64(b[4+8*i:])
		if err := m.bindKey(k); err != nil {
			return err
		}
		if old, ok := m.keys[k.Name]; ok && old != v {
			return fmt.Errorf("key %s: expected %#x, actual %#x", k.Name, old, v)
		}
		m.keys[k.Name] = v
	}
	if nkeys > 0 {
		m.setLocalKey(binary.BigEndian.Uint64(b[4:]))
	}
	if flags&0x80 != 0 {
		m.checksum = true
	}
	return nil
}

func (r *runner) matchJoin(o *MPOption, j *wire.MPJoin, f *flow) error {
	m := &r.mp
	want := map[string]wire.MPJoinForm{"mp_join_syn": wire.MPJoinSYN, "mp_join_syn_ack": wire.MPJoinSYNACK, "mp_join_ack": wire.MPJoinACK}[o.Kind]
	if j.Form != want {
		return fmt.Errorf("MP_JOIN form %v", j.Form)
	}
	if o.Backup != nil && j.Backup != *o.Backup {
		return fmt.Errorf("backup %v", j.Backup)
	}
	if o.AddrID != nil && j.AddrID != *o.AddrID {
		return fmt.Errorf("address_id %d", j.AddrID)
	}
	switch j.Form {
	case wire.MPJoinSYN:
		f.localNonce = j.Nonce
		var tok uint32
		switch t := o.Token; {
		case t == nil || t.Auto:
			tok = wire.KeyToken(m.remoteKey)
		case t.Lit != nil:
			tok = *t.Lit
		default:
			k, ok := m.keys[t.Var]
			if !ok {
				return scriptErrorf("token of %s: the key has no value yet", t.Var)
			}
			tok = wire.KeyToken(k)
		}
		if j.Token != tok {
			return fmt.Errorf("token %#x, expected %#x", j.Token, tok)
		}
	case wire.MPJoinSYNACK:
		f.localNonce = j.Nonce
		if o.HMACAuto {
			if h := wire.JoinSynAckHMAC(m.localKey, m.remoteKey, j.Nonce, f.remoteNonce); h != j.TruncatedHMAC {
				return fmt.Errorf("sender_hmac %#x, expected %#x", j.TruncatedHMAC, h)
			}
		}
	case wire.MPJoinACK:
		if o.HMACAuto {
			if h := wire.JoinAckHMAC(m.localKey, m.remoteKey, f.localNonce, f.remoteNonce); h != j.HMAC {
				return fmt.Errorf("sender_hmac %x, expected %x", j.HMAC, h)
			}
		}
	}
	return nil
}

func (r *runner) matchDSS(o *MPOption, d *wire.DSS) error {
	m := &r.mp
	rel := func(v, base uint64, wide bool) uint64 {
		v -= base
		if !wide {
			v &= 0xffffffff
		}
		return v
	}
	if (o.DAck != nil) != d.HasAck {
		return fmt.Errorf("DATA_ACK present: %v", d.HasAck)
	}
	if o.DAck != nil {
		if d.Ack64 != o.DAck.Wide {
			return fmt.Errorf("DATA_ACK of %d octets", map[bool]int{false: 4, true: 8}[d.Ack64])
		}
		if v := rel(d.DataAck, m.remoteIDSN(), d.Ack64); v != o.DAck.Val {
			return fmt.Errorf("dack %d", v)
		}
	}
	if (o.DSN != nil) != d.HasMap {
		return fmt.Errorf("mapping present: %v", d.HasMap)
	}
	if o.DSN != nil {
		if d.DSN64 != o.DSN.Wide {
			return fmt.Errorf("DSN of %d octets", map[bool]int{false: 4, true: 8}[d.DSN64])
		}
		if v := rel(d.DSN, m.localIDSN(), d.DSN64); v != o.DSN.Val {
			return fmt.Errorf("dsn %d", v)
		}
		if o.SSN != nil && d.SubflowSeq != *o.SSN {
			return fmt.Errorf("ssn %d", d.SubflowSeq)
		}
		if o.DLL != nil && d.DataLen != *o.DLL {
			return fmt.Errorf("dll %d", d.DataLen)
		}
		switch o.Checksum {
		case CsumNone:
			if d.HasChecksum {
				return fmt.Errorf("checksum present")
			}
		case CsumValue:
			if !d.HasChecksum || d.Checksum != o.CsumVal {
				return fmt.Errorf("checksum %#x (present %v)", d.Checksum, d.HasChecksum)
			}
		case CsumAuto:
			if d.HasChecksum != m.checksum {
				return fmt.Errorf("checksum present: %v", d.HasChecksum)
			}
		}
	}
	if d.DataFIN != o.Fin {
		return fmt.Errorf("DATA_FIN %v", d.DataFIN)
	}
	return nil
}

func (r *runner) matchAddAddr(o *MPOption, a *wire.AddAddr) error {
	m := &r.mp
	if a.Echo != o.Echo {
		return fmt.Errorf("echo %v", a.Echo)
	}
	switch {
	case o.AddrLit.IsValid():
		if a.Addr != o.AddrLit {
			return fmt.Errorf("address %v", a.Addr)
		}
		m.addrs[o.AddrVar] = a.Addr
	case o.AddrVar != "":
		if old, ok := m.addrs[o.AddrVar]; ok && old != a.Addr {
			return fmt.Errorf("address %v, expected %s = %v", a.Addr, o.AddrVar, old)
		}
		m.addrs[o.AddrVar] = a.Addr
	}
	if o.AddrID != nil && a.AddrID != *o.AddrID {
		return fmt.Errorf("address_id %d", a.AddrID)
	}
	if (o.Port != nil) != a.HasPort || (a.HasPort && a.Port != *o.Port) {
		return fmt.Errorf("port %d (present %v)", a.Port, a.HasPort)
	}
	if o.HMACAuto {
		if h := wire.AddAddrHMAC(m.localKey, m.remoteKey, a.AddrID, a.Addr, a.Port); h != a.HMAC {
			return fmt.Errorf("hmac %#x, expected %#x", a.HMAC, h)
		}
	}
	return nil
}

// formatOut writes a sent packet in script syntax, sequence numbers
// relative as the script writes them.
func (r *runner) formatOut(p *outPkt) string {
	var isn uint32
	flowNote := ""
	if p.f != nil {
		isn = p.f.localISN
		if r.mp.cur != nil && p.f != r.mp.cur {
			flowNote = fmt.Sprintf("%v > %v ", p.src, p.dst)
		}
	} else {
		flowNote = fmt.Sprintf("%v > %v ", p.src, p.dst)
	}
	seq := p.t.Seq() - isn
	n := len(p.t.Payload())
	s := fmt.Sprintf("> %s%s %d:%d(%d)", flowNote, flagString(p.t.Flags()), seq, seq+uint32(n), n)
	if p.t.Flags().Has(wire.FlagACK) {
		s += fmt.Sprintf(" ack %d", p.t.Ack())
	}
	s += fmt.Sprintf(" win %d", p.t.Window())
	if len(p.opts) == 0 {
		return s
	}
	s += " <"
	for i, o := range p.opts {
		if i > 0 {
			s += ", "
		}
		s += r.formatOpt(o, p.t.Flags())
	}
	return s + ">"
}

func (r *runner) formatOpt(o rawOpt, fl wire.TCPFlags) string {
	b := o.b
	switch o.kind {
	case wire.OptMSS:
		return fmt.Sprintf("mss %d", binary.BigEndian.Uint16(b[2:]))
	case wire.OptWindowScale:
		return fmt.Sprintf("wscale %d", b[2])
	case wire.OptTimestamps:
		return fmt.Sprintf("TS val %d ecr %d", binary.BigEndian.Uint32(b[2:]), binary.BigEndian.Uint32(b[6:]))
	case wire.OptSACK:
		s := "sack"
		for i := 2; i+8 <= len(b); i += 8 {
			s += fmt.Sprintf(" %d:%d", binary.BigEndian.Uint32(b[i:]), binary.BigEndian.Uint32(b[i+4:]))
		}
		return s
	case wire.OptMPTCP:
		return r.formatMPTCP(b, fl)
	}
	return optName(o)
}

func (r *runner) formatMPTCP(b []byte, fl wire.TCPFlags) string {
	m := &r.mp
	if len(b) >= 4 && b[2]>>4 == byte(wire.SubtypeMPCapable) {
		s := fmt.Sprintf("mpcapable v%d flags %#x", b[2]&0xf, b[3])
		switch {
		case len(b) == 4:
			s += " nokey"
		case len(b) == 12:
			s += fmt.Sprintf(" key[%#x]", binary.BigEndian.Uint64(b[4:]))
		case len(b) >= 20:
			s += fmt.Sprintf(" key[%#x, %#x]", binary.BigEndian.Uint64(b[4:]), binary.BigEndian.Uint64(b[12:]))
		}
		if len(b) >= 22 {
			s += fmt.Sprintf(" mpcdatalen %d", binary.BigEndian.Uint16(b[20:]))
		}
		return s
	}
	var d wire.MPTCPOptions
	if err := d.Decode(b, fl); err != nil {
		return fmt.Sprintf("mptcp(%x: %v)", b, err)
	}
	w := func(wide bool) int {
		if wide {
			return 8
		}
		return 4
	}
	mask := func(v uint64, wide bool) uint64 {
		if !wide {
			v &= 0xffffffff
		}
		return v
	}
	switch {
	case d.Has(wire.SubtypeMPJoin):
		j := d.Join
		switch j.Form {
		case wire.MPJoinSYN:
			return fmt.Sprintf("mp_join_syn backup=%d address_id=%d token=%#x", b2i(j.Backup), j.AddrID, j.Token)
		case wire.MPJoinSYNACK:
			return fmt.Sprintf("mp_join_syn_ack backup=%d address_id=%d sender_hmac=%#x", b2i(j.Backup), j.AddrID, j.TruncatedHMAC)
		}
		return fmt.Sprintf("mp_join_ack sender_hmac=%x", j.HMAC)
	case d.Has(wire.SubtypeDSS):
		x := d.DSS
		s := "dss"
		if x.HasAck {
			s += fmt.Sprintf(" dack%d=%d", w(x.Ack64), mask(x.DataAck-m.remoteIDSN(), x.Ack64))
		}
		if x.HasMap {
			s += fmt.Sprintf(" dsn%d=%d ssn=%d dll=%d", w(x.DSN64), mask(x.DSN-m.localIDSN(), x.DSN64), x.SubflowSeq, x.DataLen)
			if x.HasChecksum {
				s += fmt.Sprintf(" cs=%#x", x.Checksum)
			} else {
				s += " nocs"
			}
		}
		if x.DataFIN {
			s += " fin"
		}
		return s
	case d.Has(wire.SubtypeAddAddr):
		a := d.AddAddr
		s := fmt.Sprintf("add_address address_id=%d addr[%v]", a.AddrID, a.Addr)
		if a.HasPort {
			s += fmt.Sprintf(" port=%d", a.Port)
		}
		if a.Echo {
			return s + " addr_echo"
		}
		return s + fmt.Sprintf(" hmac=%#x", a.HMAC)
	case d.Has(wire.SubtypeRemoveAddr):
		return fmt.Sprintf("remove_address address_id=%v", d.RemoveAddr.List())
	case d.Has(wire.SubtypeMPPrio):
		return fmt.Sprintf("mp_prio backup=%d", b2i(d.Prio.Backup))
	case d.Has(wire.SubtypeMPFail):
		return fmt.Sprintf("mp_fail dsn8=%d", d.Fail.DSN-m.remoteIDSN())
	case d.Has(wire.SubtypeMPFastclose):
		return fmt.Sprintf("mp_fastclose key=%#x", d.Fastclose.ReceiverKey)
	case d.Has(wire.SubtypeMPTCPRst):
		s := fmt.Sprintf("mp_reset %d", d.Rst.Reason)
		if d.Rst.Flags&wire.MPTCPRstTransient != 0 {
			s += " flags[flag_t]"
		}
		return s
	}
	return fmt.Sprintf("mptcp(%x)", b)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var _ = netip.Addr{}
