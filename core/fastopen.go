package core

// MPTCP with TCP Fast Open (RFC 8684 appendix B; the kernel's fastopen.c).
// The data a Fast Open SYN carries lies outside the data sequence space:
// the receiver delivers it before the byte at the sender's IDSN+1, and on
// the initial subflow relative subflow sequence numbers count from the byte
// after it (Linux moves ssn_offset past it), so that the first mapping is
// DSN IDSN+1 at relative sequence 1 whatever the SYN carried.
//
// Client: the first Write goes into the initial subflow before its SYN
// (as much as the SYN can carry, FastOpenRoom). The SYN/ACK tells how much
// the server took: those bytes leave the connection's send buffer without
// taking a DSN, and the rest is taken back from the subflow and sent again
// with mappings, as any data. After a fallback to TCP the bytes are simply
// part of the TCP stream.
//
// Server: the listener takes SYN data with a valid cookie (SetFastOpen);
// the bytes move from the subflow to the application's queue, ahead of the
// data stream, and the connection is queued for Accept at once.

// sndSSNBase is the data of our SYN on the initial subflow that the
// server took, and rcvSSNBase that of the client's SYN we took: in that
// direction, relative subflow sequence numbers count from the byte after
// it. Only the client's SYN carries data, so one of them is 0.
func (sf *subflow) sndSSNBase() uint64 {
	if !sf.initial || !sf.active || sf.tc == nil {
		return 0
	}
	return uint64(sf.tc.FastOpenSYNData())
}

func (sf *subflow) rcvSSNBase() uint64 {
	if !sf.initial || sf.active || sf.tc == nil {
		return 0
	}
	return uint64(sf.tc.FastOpenSYNData())
}

// wireSSN is the relative subflow sequence number of our stream offset
// off, as a DSS we send carries it.
func (sf *subflow) wireSSN(off uint64) uint32 { return uint32(off + 1 - sf.sndSSNBase()) }

// rcvWireSSN is the relative subflow sequence number of the peer's stream
// offset off.
func (sf *subflow) rcvWireSSN(off uint64) uint32 { return uint32(off + 1 - sf.rcvSSNBase()) }

// ssnToOffset expands the relative subflow sequence number of a DSS on a
// segment at the peer's stream offset segOff into a stream offset.
func (sf *subflow) ssnToOffset(segOff uint64, ssn uint32) uint64 {
	b := sf.rcvSSNBase()
	return ssnToOffset(max(segOff, b)-b, ssn) + b
}

// fastOpenFill gives the initial subflow, whose Fast Open SYN waits for
// data, the head of what the application wrote.
func (c *Conn) fastOpenFill() {
	sf := c.initialSub
	if sf == nil || sf.tc == nil || sf.tfoWritten > 0 || c.snd.nxt != c.snd.first {
		return
	}
	n := min(sf.tc.FastOpenRoom(), c.snd.unsent())
	if n <= 0 {
		return
	}
	p, q := c.snd.bytes(c.snd.nxt, n)
	// A record of its own: the mapped data after it never shares its
	// segments, should part of it be sent again after the handshake.
	k, err := sf.tc.WriteRecordSplit(p, q)
	if err == nil {
		sf.tfoWritten = k
	}
}

// fastOpenEstablished settles the client's SYN data once the SYN/ACK said
// how much of it the server took.
func (sf *subflow) fastOpenEstablished() {
	c := sf.conn
	n := sf.tfoWritten
	if n == 0 {
		return
	}
	sf.tfoWritten = 0
	if c.fallen {
		// Plain TCP: the engine sends again what the server did not take.
		c.snd.nxt += uint64(n)
		sf.bytesSent += uint64(n)
		c.bytesSent += uint64(n)
		return
	}
	k := sf.tc.FastOpenSYNData()
	sf.tc.DropUnsent(uint64(k))
	c.snd.skipFront(k)
	sf.bytesSent += uint64(k)
	c.bytesSent += uint64(k)
	if k > 0 {
		c.stack.mib.Inc(MPFastOpenActive)
	}
}

// fastOpenDeliver moves the data a server took from the initial subflow's
// SYN to the application's queue, ahead of the data stream.
func (sf *subflow) fastOpenDeliver() {
	c := sf.conn
	k := sf.tc.FastOpenSYNData()
	if sf.active || !sf.initial || k == 0 || sf.tc.ReadOffset() != 0 || sf.tc.Readable() < k {
		return
	}
	p1, p2 := sf.tc.Peek()
	a := p1[:min(len(p1), k)]
	c.rcv.ready.append(a)
	if r := k - len(a); r > 0 {
		c.rcv.ready.append(p2[:r])
	}
	sf.tc.Discard(k)
	sf.bytesRecv += uint64(k)
	c.bytesRecv += uint64(k)
	c.stack.mib.Inc(MPFastOpenPassive)
	c.wake()
}

// fastOpenAccept hands a server connection whose client's SYN data was
// taken to the application at once, with that data readable, as Linux's
// listener does: the request is served a round trip before the handshake
// completes. The connection sends nothing until the client's key arrives
// with the third ACK (what it writes waits in its send buffer).
func (sf *subflow) fastOpenAccept() {
	if sf.active || !sf.initial || sf.tc.ReadOffset() != 0 {
		return
	}
	sf.fastOpenDeliver()
	sf.conn.established()
}

// FastOpenPending reports a connection dialled with FastOpen whose SYN
// waits for the first Write (a cookie for the server is known): Write
// sends it with the data, Connect without.
func (c *Conn) FastOpenPending() bool {
	sf := c.initialSub
	return sf != nil && sf.tc != nil && sf.active && sf.tc.FastOpenRoom() > 0 && sf.tfoWritten == 0
}

// Connect sends the SYN of a connection that waits with FastOpenPending,
// without data.
func (c *Conn) Connect() {
	if sf := c.initialSub; sf != nil && sf.tc != nil {
		sf.tc.Connect()
	}
}

// SetFastOpen enables TCP Fast Open on the listener: at most queue
// connections whose SYN data was taken wait for their handshake (Linux's
// TCP_FASTOPEN); 0 disables it.
func (l *Listener) SetFastOpen(queue int) { l.tl.SetFastOpenQueue(queue) }
