package drill

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// tcpFlags converts the flags of a statement.
func tcpFlags(s string) wire.TCPFlags {
	var f wire.TCPFlags
	for _, c := range s {
		switch c {
		case 'S':
			f |= wire.FlagSYN
		case 'F':
			f |= wire.FlagFIN
		case 'R':
			f |= wire.FlagRST
		case 'P':
			f |= wire.FlagPSH
		case '.':
			f |= wire.FlagACK
		case 'E':
			f |= wire.FlagECE
		case 'W':
			f |= wire.FlagCWR
		case 'U':
			f |= wire.FlagURG
		}
	}
	return f
}

// inboundFlow finds or creates the flow an injected packet belongs to.
func (r *runner) inboundFlow(pk *Packet, flags wire.TCPFlags) (*flow, error) {
	m := &r.mp
	syn := flags.Has(wire.FlagSYN) && !flags.Has(wire.FlagACK)
	if pk.Src == "" && pk.Dst == "" {
		if flags.Has(wire.FlagSYN|wire.FlagACK) && flags.Has(wire.FlagSYN) {
			// A SYN/ACK answers the latest SYN the stack sent.
			for i := len(m.flows) - 1; i >= 0; i-- {
				if m.flows[i].synOut {
					return m.flows[i], nil
				}
			}
		}
		if m.cur != nil && !(syn && len(m.flows) > 0 && m.cur.haveISN) {
			return m.cur, nil
		}
		if !syn {
			return nil, scriptErrorf("packet before any connection")
		}
		if m.cur != nil {
			return nil, unsupported("a second connection from the same address without addr[] prefix")
		}
		return r.newInboundFlow(m.remote, m.local), nil
	}
	var src, dst netip.Addr
	var err error
	if pk.Dst != "" {
		if a, ok := m.addrs[pk.Dst]; ok {
			dst = a
		} else if len(m.flows) == 0 {
			dst = m.local
			m.addrs[pk.Dst] = dst
		} else {
			return nil, scriptErrorf("address %s has no value yet", pk.Dst)
		}
	}
	if pk.Src == "" {
		// "< > addr[X]": the most recent flow to X.
		for i := len(m.flows) - 1; i >= 0; i-- {
			if m.flows[i].local.Addr() == dst {
				return m.flows[i], nil
			}
		}
		return nil, scriptErrorf("no connection to %s", pk.Dst)
	}
	src = m.remoteAddr(pk.Src)
	if !syn {
		for i := len(m.flows) - 1; i >= 0; i-- {
			if f := m.flows[i]; f.local.Addr() == dst && f.remote.Addr() == src {
				return f, nil
			}
		}
		return nil, scriptErrorf("no connection from %s to %s", pk.Src, pk.Dst)
	}
	return r.newInboundFlow(src, dst), err
}

func (r *runner) newInboundFlow(src, dst netip.Addr) *flow {
	m := &r.mp
	port := m.nextPort
	m.nextPort++
	return m.newFlow(netip.AddrPortFrom(dst, serverPort), netip.AddrPortFrom(src, port))
}

// inject builds the packet of a "<" statement and hands it to the stack.
func (r *runner) inject(pk *Packet) error {
	if _, err := r.stack(); err != nil {
		return err
	}
	flags := tcpFlags(pk.Flags)
	f, err := r.inboundFlow(pk, flags)
	if err != nil {
		return err
	}
	r.mp.cur = f
	if flags.Has(wire.FlagSYN) && flags.Has(wire.FlagACK) {
		f.synOut = false
	}
	payload := make([]byte, pk.Len)
	opts, err := r.inboundOptions(pk, f, flags, payload)
	if err != nil {
		return err
	}
	fields := wire.TCPFields{
		SrcPort: f.remote.Port(), DstPort: f.local.Port(),
		Seq: pk.Seq, Flags: flags, Window: 65535,
	}
	if pk.Ack != nil {
		fields.Ack = *pk.Ack + f.localISN
	}
	if pk.Win != nil {
		fields.Window = uint16(*pk.Win)
	}
	pkt := wire.AppendTCPPacket(nil, f.remote.Addr(), f.local.Addr(), &fields, opts, payload)
	r.deliver(pkt)
	return nil
}

// inboundOptions encodes a statement's options, padded with EOL to a
// multiple of four.
func (r *runner) inboundOptions(pk *Packet, f *flow, flags wire.TCPFlags, payload []byte) ([]byte, error) {
	if pk.AnyOpts {
		return nil, scriptErrorf("<...> on an injected packet")
	}
	var b []byte
	for _, o := range pk.Opts {
		var err error
		switch o.Name {
		case "nop":
			b = append(b, wire.OptNOP)
		case "eol":
			b = append(b, wire.OptEOL)
		case "mss":
			b = binary.BigEndian.AppendUint16(append(b, wire.OptMSS, 4), uint16(o.Val))
		case "wscale":
			b = append(b, wire.OptWindowScale, 3, byte(o.Val))
		case "sackOK":
			b = append(b, wire.OptSACKPermitted, 2)
		case "TS":
			// The echo is the stack's latest value, whatever the script
			// wrote (its values are the kernel's clock); 0 stays 0.
			ecr := o.TSEcr
			if ecr != 0 {
				ecr = f.lastTSVal
			}
			b = append(b, wire.OptTimestamps, 10)
			b = binary.BigEndian.AppendUint32(b, o.TSVal)
			b = binary.BigEndian.AppendUint32(b, ecr)
		case "sack":
			b = append(b, wire.OptSACK, byte(2+8*len(o.Blocks)))
			for _, blk := range o.Blocks {
				b = binary.BigEndian.AppendUint32(b, blk[0])
				b = binary.BigEndian.AppendUint32(b, blk[1])
			}
		default:
			b, err = r.inboundMPTCP(b, o.MP, f, pk, flags, payload)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(b) > wire.MaxOptionLen {
		return nil, scriptErrorf("options of %d bytes, more than %d", len(b), wire.MaxOptionLen)
	}
	for len(b)%4 != 0 {
		b = append(b, wire.OptEOL)
	}
	return b, nil
}

// inboundMPTCP appends the encoding of an MPTCP option of an injected
// packet, computing tokens, HMACs, sequence numbers and checksums from
// the run's keys as upstream packetdrill does.
func (r *runner) inboundMPTCP(b []byte, o *MPOption, f *flow, pk *Packet, flags wire.TCPFlags, payload []byte) ([]byte, error) {
	m := &r.mp
	switch o.Kind {
	case "mpcapable":
		return r.inboundMPCapable(b, o, flags, payload)
	case "mp_join_syn":
		tok, err := m.token(o.Token)
		if err != nil {
			return nil, err
		}
		f.remoteNonce = 0x2a2a2a2a + uint32(len(m.flows))
		if o.Rand != nil {
			f.remoteNonce = *o.Rand
		}
		f.remoteID = m.remoteID(f.remote.Addr())
		if o.AddrID != nil {
			f.remoteID = *o.AddrID
		}
		j := wire.MPJoin{Form: wire.MPJoinSYN, Backup: o.Backup != nil && *o.Backup, AddrID: f.remoteID, Token: tok, Nonce: f.remoteNonce}
		return appendOpt(b, j.Len(), j.Encode), nil
	case "mp_join_syn_ack":
		if !o.HMACAuto {
			return nil, unsupported("mp_join_syn_ack without sender_hmac=auto")
		}
		f.remoteNonce = 0x2a2a2a2a + uint32(len(m.flows))
		if o.Rand != nil {
			f.remoteNonce = *o.Rand
		}
		id := m.remoteID(f.remote.Addr())
		if o.AddrID != nil {
			id = *o.AddrID
		}
		j := wire.MPJoin{Form: wire.MPJoinSYNACK, Backup: o.Backup != nil && *o.Backup, AddrID: id, Nonce: f.remoteNonce,
			TruncatedHMAC: wire.JoinSynAckHMAC(m.remoteKey, m.localKey, f.remoteNonce, f.localNonce)}
		return appendOpt(b, j.Len(), j.Encode), nil
	case "mp_join_ack":
		j := wire.MPJoin{Form: wire.MPJoinACK, HMAC: wire.JoinAckHMAC(m.remoteKey, m.localKey, f.remoteNonce, f.localNonce)}
		return appendOpt(b, j.Len(), j.Encode), nil
	case "dss":
		d := r.inboundDSS(o, f, pk, payload)
		return appendOpt(b, d.Len(), d.Encode), nil
	case "add_address":
		return r.inboundAddAddr(b, o)
	case "remove_address":
		ra := wire.RemoveAddr{Count: uint8(len(o.IDs))}
		copy(ra.IDs[:], o.IDs)
		return appendOpt(b, ra.Len(), ra.Encode), nil
	case "mp_prio":
		p := wire.MPPrio{Backup: o.Backup != nil && *o.Backup}
		if o.AddrID != nil {
			p.HasAddrID, p.AddrID = true, *o.AddrID
		}
		return appendOpt(b, p.Len(), p.Encode), nil
	case "mp_fail":
		if o.DSN == nil {
			return nil, scriptErrorf("mp_fail without a dsn")
		}
		mf := wire.MPFail{DSN: m.localIDSN() + o.DSN.Val}
		return appendOpt(b, mf.Len(), mf.Encode), nil
	case "mp_reset":
		rs := wire.MPTCPRst{Reason: wire.MPTCPRstReason(o.Reason)}
		if o.Transient {
			rs.Flags = wire.MPTCPRstTransient
		}
		return appendOpt(b, rs.Len(), rs.Encode), nil
	}
	return nil, unsupported("injected %s", o.Kind)
}

func appendOpt(b []byte, n int, enc func([]byte) int) []byte {
	s := make([]byte, n)
	enc(s)
	return append(b, s...)
}

func (r *runner) inboundMPCapable(b []byte, o *MPOption, flags wire.TCPFlags, payload []byte) ([]byte, error) {
	m := &r.mp
	keys := make([]uint64, len(o.Keys))
	for i, k := range o.Keys {
		v, err := m.key(k)
		if err != nil {
			return nil, err
		}
		keys[i] = v
	}
	// The script's own key is the sender's key of the first MP_CAPABLE
	// that carries one.
	if len(keys) > 0 {
		m.setRemoteKey(keys[0])
	}
	if o.Flags&0x80 != 0 {
		m.checksum = true
	}
	n := 4 + 8*len(keys)
	if o.DataLen != nil {
		n += 2
		if o.Flags&0x80 != 0 {
			n += 2
		}
	}
	s := make([]byte, n)
	s[0], s[1], s[2], s[3] = wire.OptMPTCP, byte(n), byte(wire.SubtypeMPCapable)<<4|byte(o.Version&0xf), o.Flags
	for i, k := range keys {
		binary.BigEndian.PutUint64(s[4+8*i:], k)
	}
	if o.DataLen != nil {
		off := 4 + 8*len(keys)
		binary.BigEndian.PutUint16(s[off:], *o.DataLen)
		if n == off+4 {
			binary.BigEndian.PutUint16(s[off+2:], wire.DSSChecksum(m.remoteIDSN()+1, 1, *o.DataLen, payload))
		}
	}
	_ = flags
	return append(b, s...), nil
}

// inboundDSS builds a DSS: DATA_ACK relative to the stack's initial data
// sequence number, DSN to the script's; ssn and dll default to the
// segment's.
func (r *runner) inboundDSS(o *MPOption, f *flow, pk *Packet, payload []byte) *wire.DSS {
	m := &r.mp
	d := &wire.DSS{DataFIN: o.Fin}
	if o.DAck != nil {
		d.HasAck, d.Ack64 = true, o.DAck.Wide
		d.DataAck = m.localIDSN() + o.DAck.Val
		if !o.DAck.Wide {
			d.DataAck &= 0xffffffff
		}
	}
	if o.DSN != nil {
		d.HasMap, d.DSN64 = true, o.DSN.Wide
		d.DSN = m.remoteIDSN() + o.DSN.Val
		d.SubflowSeq = pk.Seq
		if o.SSN != nil {
			d.SubflowSeq = *o.SSN
		}
		d.DataLen = uint16(pk.Len)
		if o.DLL != nil {
			d.DataLen = *o.DLL
		}
		switch o.Checksum {
		case CsumValue:
			d.HasChecksum, d.Checksum = true, o.CsumVal
		case CsumAuto:
			if m.checksum {
				d.HasChecksum = true
				d.Checksum = wire.DSSChecksum(d.DSN, d.SubflowSeq, d.DataLen, payload)
			}
		}
		if !o.DSN.Wide {
			d.DSN &= 0xffffffff
		}
	} else if o.Fin {
		// A DATA_FIN needs a mapping; the script gave none.
		d.DataFIN = true
	}
	return d
}

func (r *runner) inboundAddAddr(b []byte, o *MPOption) ([]byte, error) {
	m := &r.mp
	var a netip.Addr
	switch {
	case o.AddrLit.IsValid():
		a = o.AddrLit
		m.addrs[o.AddrVar] = a
	case o.AddrVar != "":
		a = m.remoteAddr(o.AddrVar)
	default:
		return nil, scriptErrorf("add_address without addr[]")
	}
	id := m.remoteID(a)
	if o.AddrID != nil {
		id = *o.AddrID
	}
	aa := wire.AddAddr{Echo: o.Echo, AddrID: id, Addr: a}
	if o.Port != nil {
		aa.HasPort, aa.Port = true, *o.Port
	}
	if !o.Echo {
		if !o.HMACAuto {
			return nil, unsupported("add_address without hmac=auto or addr_echo")
		}
		aa.HMAC = wire.AddAddrHMAC(m.remoteKey, m.localKey, id, a, aa.Port)
	}
	return appendOpt(b, aa.Len(), aa.Encode), nil
}

var _ = fmt.Sprint
