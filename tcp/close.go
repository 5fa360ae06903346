package tcp

import (
	"github.com/mptcp-go/mptcp/wire"
)

// close moves the connection to CLOSED with the given reason and takes it
// out of the stack. Received data stays readable unless the application
// closed the connection.
func (c *Conn) close(err error) {
	if c.state == StateClosed {
		return
	}
	s := c.stack
	prev := c.state
	c.state = StateClosed
	if c.err == nil {
		c.err = err
	}
	if err != nil && (prev == StateSynSent || prev == StateSynReceived) {
		s.stats.AttemptFails++
	}
	c.detach(prev)
	if c.appClosed {
		c.rb.release()
	}
	s.notify(c, EventClosed|EventReadable|EventWritable)
}

// detach releases what a closed or TIME-WAIT connection no longer needs
// and takes it out of the stack's tables.
func (c *Conn) detach(prev State) {
	s := c.stack
	if l := c.listener; l != nil {
		l.forget(c, prev)
		c.listener = nil
	}
	c.fastOpenDone()
	c.rtoAt, c.tlpAt, c.reoAt, c.persistAt, c.delackAt, c.kaAt, c.closeAt = 0, 0, 0, 0, 0, 0, 0
	c.pace = pacer{}
	if c.ccGroupOf != nil {
		// A subflow that sends no more must not count in its
		// connection's coupled sums.
		c.ccGroupOf.Remove(c.cc)
		c.ccGroupOf = nil
	}
	s.removeConn(c)
	c.sb.release()
	c.txq = txQueue{}
	c.txq.init()
	c.sackedRanges = rangeSet{}
}

// fail closes the connection after a RST from the peer or a timeout.
func (c *Conn) fail(err error) {
	c.close(err)
}

// reset sends a RST for the connection and closes it (RFC 9293 section
// 3.10.4, ABORT). In SYN-SENT there is nothing to reset: the attempt just
// ends.
func (c *Conn) reset(err error) {
	if c.state == StateClosed {
		return
	}
	if c.state != StateSynSent {
		c.sendRST(wire.FlagRST | wire.FlagACK)
	}
	c.close(err)
}

// sendRST sends <SEQ=SND.NXT><CTL=flags>; hooks may add options to it
// (MP_TCPRST).
func (c *Conn) sendRST(flags wire.TCPFlags) {
	s := c.stack
	c.transmit(flags, c.sndNxt, 0, 0, false, false, false)
	s.stats.OutRsts++
	if c.state.synchronized() {
		s.stats.EstabResets++
	}
}

// enterTimeWait leaves the connection to a compact TIME-WAIT entry: the
// Conn itself is released. The final ACK goes out first.
func (c *Conn) enterTimeWait() {
	s := c.stack
	if c.ackNow {
		c.sendControl(wire.FlagACK, c.sndNxt, false)
	}
	key := tuple{c.local, c.remote}
	if !s.tw.add(s, key, twEntry{
		sndNxt:   c.sndWire(c.sndNxt),
		rcvNxt:   c.rcvWire(c.rcvNxt()),
		tsOK:     c.tsOK,
		tsRecent: c.tsRecent,
		tsOffset: c.tsOffset,
		wnd:      c.windowField(false),
		expires:  s.now + s.cfg.TimeWait,
	}) {
		s.stats.TimeWaitOverflow++
	}
	prev := c.state
	c.state = StateTimeWait
	c.detach(prev)
	if c.appClosed {
		c.rb.release()
	}
	s.notify(c, EventClosed|EventReadable|EventWritable)
}

// replyRST answers a segment that belongs to no connection (RFC 9293
// section 3.10.7.1): if it has an ACK, <SEQ=SEG.ACK><CTL=RST>, else
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. A RST is never answered.
// hooks, from a listener refusing a SYN, may add options (c is nil then).
func (s *Stack) replyRST(g *inSeg, hooks Hooks) {
	if g.has(wire.FlagRST) {
		return
	}
	f := wire.TCPFields{SrcPort: g.local.Port(), DstPort: g.remote.Port()}
	if g.has(wire.FlagACK) {
		f.Seq, f.Flags = g.ack, wire.FlagRST
	} else {
		f.Ack, f.Flags = g.seq+uint32(g.seqLen()), wire.FlagRST|wire.FlagACK
	}
	b := &s.optb
	b.Reset()
	if hooks != nil {
		seg := Segment{Kind: KindRST, Flags: f.Flags, Seq: f.Seq, Ack: f.Ack}
		hooks.WriteOptions(nil, &seg, b)
	}
	s.emit(s.buildPacket(g.local.Addr(), g.remote.Addr(), &f, b.Bytes(), nil, nil))
	s.stats.OutRsts++
}
