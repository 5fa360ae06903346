package tcp

import (
	"fmt"
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// ICMP errors about our segments (RFC 1122 section 4.2.3.9, RFC 5927,
// RFC 1191 and RFC 8201). Each is checked against its connection: the
// quoted segment must carry a sequence number between SND.UNA and SND.NXT,
// which a blind attacker cannot know. Then:
//
//   - "fragmentation needed" (ICMPv4) and "packet too big" (ICMPv6) lower
//     the connection's MSS to the reported MTU (path MTU discovery), and the
//     segments in flight that no longer fit are split and sent again;
//   - port and protocol unreachable refuse a connection in SYN-SENT
//     (ErrConnectionRefused), as Linux does;
//   - other errors (host or network unreachable, time exceeded) are soft:
//     they never abort a connection (RFC 5461), but a connection that then
//     times out reports them along with ErrTimeout.

// icmpKind classifies an ICMP error for TCP.
type icmpKind uint8

const (
	icmpSoft icmpKind = iota
	icmpRefused
	icmpTooBig
)

// deliverICMP handles an ICMP message carried in a packet from src to dst.
func (s *Stack) deliverICMP(src, dst netip.Addr, proto uint8, payload []byte) {
	var (
		q    wire.ICMPQuote
		err  error
		kind icmpKind
		mtu  int
	)
	switch proto {
	case wire.ProtoICMP:
		m, perr := wire.ParseICMPv4(payload)
		if perr != nil || !m.IsError() {
			return
		}
		if !s.cfg.SkipChecksumVerify && !m.ValidChecksum() {
			s.stats.InErrs++
			return
		}
		switch m.Type() {
		case wire.ICMPv4DestUnreachable:
			switch m.Code() {
			case wire.ICMPv4FragmentationNeeded:
				kind, mtu = icmpTooBig, int(m.NextHopMTU())
			case wire.ICMPv4PortUnreachable, wire.ICMPv4ProtoUnreachable:
				kind = icmpRefused
			}
		case wire.ICMPv4TimeExceeded, wire.ICMPv4ParamProblem:
		default:
			return // source quench (deprecated), redirect: not TCP's business
		}
		q, err = m.Quote()
	case wire.ProtoICMPv6:
		m, perr := wire.ParseICMPv6(payload)
		if perr != nil || !m.IsError() {
			return
		}
		if !s.cfg.SkipChecksumVerify && !m.ValidChecksum(src, dst) {
			s.stats.InErrs++
			return
		}
		switch m.Type() {
		case wire.ICMPv6PacketTooBig:
			kind, mtu = icmpTooBig, int(min(m.MTU(), 65535))
		case wire.ICMPv6DestUnreachable:
			if m.Code() == wire.ICMPv6PortUnreachable {
				kind = icmpRefused
			}
		case wire.ICMPv6TimeExceeded, wire.ICMPv6ParamProblem:
		default:
			return
		}
		q, err = m.Quote()
	default:
		return
	}
	if err != nil || q.Protocol != wire.ProtoTCP || q.LaterFragment() {
		return
	}
	t := q.TCP()
	sport, ok1 := t.SrcPort()
	dport, ok2 := t.DstPort()
	seq, ok3 := t.Seq()
	if !ok1 || !ok2 || !ok3 {
		return
	}
	c := s.conns[tuple{netip.AddrPortFrom(q.Src.Unmap(), sport), netip.AddrPortFrom(q.Dst.Unmap(), dport)}]
	if c == nil {
		return
	}
	if off := unwrap(c.sndUna, c.iss, seq); off < int64(c.sndUna) || off > int64(c.sndNxt) {
		s.stats.ICMPOutOfWindow++
		return
	}
	s.stats.ICMPErrors++
	c.icmpError(kind, mtu)
	s.reschedule(c)
}

// icmpError reacts to a validated ICMP error.
func (c *Conn) icmpError(kind icmpKind, mtu int) {
	switch kind {
	case icmpTooBig:
		c.pmtuDecrease(mtu)
	case icmpRefused:
		if c.state == StateSynSent {
			c.fail(ErrConnectionRefused)
			return
		}
		c.softErr = ErrUnreachable
	default:
		c.softErr = ErrUnreachable
	}
}

// timeoutErr is ErrTimeout, with the last soft ICMP error if there was one.
func (c *Conn) timeoutErr() error {
	if c.softErr != nil {
		return fmt.Errorf("%w (%w)", ErrTimeout, c.softErr)
	}
	return ErrTimeout
}

// pmtuDecrease lowers the MSS to fit a path MTU (RFC 1191 section 6.3,
// RFC 8201 section 5.2), never below the minimum MTU of the family, and
// resegments what is in flight.
func (c *Conn) pmtuDecrease(mtu int) {
	hdr, floor := wire.IPv4MinHeaderLen+wire.TCPMinHeaderLen, 576
	if !c.local.Addr().Is4() {
		hdr, floor = wire.IPv6HeaderLen+wire.TCPMinHeaderLen, 1280
	}
	mss := max(mtu, floor) - hdr
	if mss >= c.sndMSS {
		return
	}
	c.sndMSS = mss
	c.stats.PMTUUpdates++
	if c.cc != nil {
		c.cc.SetMSS(c.payloadMSS())
	}
	if c.state.synchronized() {
		c.resegment()
		c.stack.markDirty(c)
	}
}

// resegment splits the outstanding segments that no longer fit the MSS
// into ones that do, marked lost so they go again at once: the originals
// were dropped on the way. Segments that fit keep their state. Record
// boundaries survive, since a segment holds bytes of one record only.
func (c *Conn) resegment() {
	q := &c.txq
	need := false
	for i := q.head; i < q.tail(); i++ {
		if sg := q.at(i); sg.dataLen() > c.pieceLimit(sg.start) {
			need = true
			break
		}
	}
	if !need {
		return
	}
	old := make([]txSeg, 0, q.n)
	for i := q.head; i < q.tail(); i++ {
		old = append(old, *q.at(i))
	}
	q.reset()
	for _, sg := range old {
		sg.flags &^= segInTS
		if sg.dataLen() <= c.pieceLimit(sg.start) {
			q.push(sg)
			continue
		}
		for start := sg.start; start < sg.end; {
			piece := sg
			piece.start = start
			piece.end = min(start+uint64(c.pieceLimit(start)), sg.end)
			if piece.end == sg.end-1 && sg.has(segFIN) {
				piece.end = sg.end // the FIN rides with the last byte
			}
			piece.flags &^= segFIN | segRetrans
			if piece.end == sg.end && sg.has(segFIN) {
				piece.flags |= segFIN
			}
			if !piece.has(segSACKed) {
				piece.flags |= segLost
			}
			q.push(piece)
			start = piece.end
		}
	}
	q.recount()
	q.hint = q.head
	c.rebuildTimeOrder()
}

// pieceLimit is the payload a segment starting at sequence offset start
// may carry: less at the start of a record, which carries the larger
// option reserve (SetRecordOptionReserve).
func (c *Conn) pieceLimit(start uint64) int {
	if _, first := c.sb.segment(start - 1); first {
		return c.payloadFirst()
	}
	return c.payloadMSS()
}

// recount recomputes the scoreboard's byte counters from the segments'
// flags.
func (q *txQueue) recount() {
	q.sacked, q.lost, q.retrans = 0, 0, 0
	for i := q.head; i < q.tail(); i++ {
		sg := q.at(i)
		l := int(sg.end - sg.start)
		if sg.has(segSACKed) {
			q.sacked += l
			continue
		}
		if sg.has(segLost) {
			q.lost += l
		}
		if sg.has(segRetrans) {
			q.retrans += l
		}
	}
}
