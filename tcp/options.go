package tcp

import (
	"github.com/mptcp-go/mptcp/wire"
)

// writeOptions fills b with the options of an outgoing segment: ours, then
// the hooks', then SACK blocks in what space is left, at most room bytes
// of options in all (RFC 2018 section 3: as many blocks as fit, the most
// recent first).
func (c *Conn) writeOptions(seg *Segment, b *wire.OptionBuilder, room int) {
	s := c.stack
	switch seg.Kind {
	case KindSYN, KindSYNACK:
		// Linux's layout, which packetdrill scripts and captures expect:
		// MSS; SACK-permitted and timestamps sharing their alignment
		// (or each after two NOPs); NOP and window scale.
		b.AddMSS(uint16(min(c.advMSS, 65535)))
		synack := seg.Kind == KindSYNACK
		sack := !s.cfg.DisableSACK && (!synack || c.sackOK)
		ts := !s.cfg.DisableTimestamps && (!synack || c.tsOK)
		ecr := uint32(0)
		if synack {
			ecr = c.tsRecent
		}
		switch {
		case sack && ts:
			b.AddSACKPermittedTimestamps(c.tsvalAt(s.now), ecr)
		case ts:
			b.AddTimestamps(c.tsvalAt(s.now), ecr)
		case sack:
			b.AddSACKPermitted()
		}
		if !s.cfg.DisableWindowScale && (!synack || c.wsOK) {
			b.AddWindowScale(c.rcvShift)
		}
		c.fastOpenOption(seg, b)
	case KindRST:
	default:
		if c.tsOK {
			b.AddTimestamps(c.tsvalAt(s.now), c.tsRecent)
		}
	}
	if c.hooks != nil {
		c.hooks.WriteOptions(c, seg, b)
	}
	if !c.sackOK || seg.Kind == KindRST || seg.Kind == KindSYN || seg.Kind == KindSYNACK {
		return
	}
	if !c.hasDSACK && c.rb.ooo.empty() {
		return
	}
	n := c.sackBlocks(s.sack[:])
	k := min(n, (min(room, wire.MaxOptionLen)-b.Len()-4)/8)
	if k > 0 {
		b.AddSACK(s.sack[:k])
	}
}

// sackBlocks fills dst with the SACK blocks to report: a D-SACK block
// first if one is due (RFC 2883), then the block of the latest
// out-of-order arrival and the other recent ones, then any others.
func (c *Conn) sackBlocks(dst []wire.SACKBlock) int {
	n := 0
	blk := func(r Range) wire.SACKBlock {
		return wire.SACKBlock{Left: c.rcvWire(r.Start + 1), Right: c.rcvWire(r.End + 1)}
	}
	first := 0
	if c.hasDSACK {
		dst[0] = blk(c.dsack)
		n, first = 1, 1
	}
	dup := func(b wire.SACKBlock) bool {
		for i := first; i < n; i++ {
			if dst[i] == b {
				return true
			}
		}
		return false
	}
	for i := 0; i < c.nSACKRecent && n < len(dst); i++ {
		if r, ok := c.rb.ooo.find(c.sackRecent[i]); ok {
			if b := blk(r); !dup(b) {
				dst[n] = b
				n++
			}
		}
	}
	for i := len(c.rb.ooo.r) - 1; i >= 0 && n < len(dst); i-- {
		if b := blk(c.rb.ooo.r[i]); !dup(b) {
			dst[n] = b
			n++
		}
	}
	return n
}

// maxPayload returns the payload a new segment may carry after the
// options it will have: timestamps, the hooks' reserve (that of a
// record's first segment if first) and the SACK blocks now due.
func (c *Conn) maxPayload(first bool) int {
	opt := c.optReserve
	if first {
		opt = c.optFirst
	}
	if c.tsOK {
		opt += 12
	}
	if c.sackOK {
		nb := len(c.rb.ooo.r)
		if c.hasDSACK {
			nb++
		}
		if nb > 0 {
			nb = min(nb, wire.MaxSACKBlocks, (wire.MaxOptionLen-opt-4)/8)
			if nb > 0 {
				opt += 4 + 8*nb
			}
		}
	}
	return max(c.sndMSS-opt, 16)
}

// windowField returns the window field for an outgoing segment, and
// records the right edge it announces. The edge never moves left (RFC 9293
// section 3.8.6.2.2), and moves right only by useful amounts (receiver
// silly window avoidance).
func (c *Conn) windowField(syn bool) uint16 {
	avail := c.advertisable()
	if syn {
		w := min(avail, 65535)
		if c.state == StateSynReceived {
			c.rcvAdvRight = max(c.rcvAdvRight, c.rcvNxt()+uint64(w))
		}
		return uint16(w)
	}
	nxt := c.rcvNxt()
	right := nxt + uint64(avail)
	if right > c.rcvAdvRight && right-c.rcvAdvRight < uint64(min(c.rcvBuf/2, c.advMSS)) {
		right = c.rcvAdvRight
	}
	right = max(right, c.rcvAdvRight)
	w := right - nxt
	field := w >> c.rcvShift
	if nxt+field<<c.rcvShift < c.rcvAdvRight {
		field++
	}
	field = min(field, 65535)
	c.rcvAdvRight = max(c.rcvAdvRight, nxt+field<<c.rcvShift)
	return uint16(field)
}

// WindowBound returns the most the next segment's window field can show,
// in bytes beyond RCV.NXT, when the hooks ask for w (ReceiveWindow): the
// engine never moves its right edge left and rounds the field up to the
// window scale. The MPTCP layer, whose window counts from the DATA_ACK,
// accepts data up to any edge a subflow showed.
func (c *Conn) WindowBound(w int) int {
	g := 1 << c.rcvShift
	return min(max(w, int(c.heldWindow()))+g-1, 65535<<c.rcvShift)
}

// AdvertisedWindow is the window the connection last showed the peer,
// what remains of it beyond RCV.NXT.
func (c *Conn) AdvertisedWindow() int { return int(min(c.heldWindow(), 1<<30)) }

// heldWindow is how far beyond RCV.NXT the right edge advertised so far
// reaches: the least window the next segment shows.
func (c *Conn) heldWindow() uint64 {
	if nxt := c.rcvNxt(); c.rcvAdvRight > nxt {
		return c.rcvAdvRight - nxt
	}
	return 0
}

// advertisable returns the window to announce beyond RCV.NXT: the room in
// the receive buffer, or what the hooks say instead.
func (c *Conn) advertisable() int {
	avail := c.rcvWindowAvail()
	if c.hooks != nil {
		avail = min(max(c.hooks.ReceiveWindow(c, avail), 0), c.opts.ReceiveBufferMax)
	}
	return avail
}

// rcvWindowAvail returns the room in the receive buffer beyond RCV.NXT.
func (c *Conn) rcvWindowAvail() int {
	right := c.rb.head + uint64(c.rcvBuf)
	if right <= c.rb.nxt {
		return 0
	}
	return int(right - c.rb.nxt)
}
