package core

import (
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// Where the DSS goes on data segments, and the option space kept for it.
//
// RFC 8684 section 3.3.1 lets a mapping cover segments that do not carry
// it. So a record's first segment carries the DATA_ACK and the mapping of
// the whole record (and its checksum), the others the DATA_ACK alone:
// Linux repeats its 28-byte DSS on every segment, ours carry 4-8 more
// payload bytes on the first and 16-20 on the others. The others still
// carry a DSS: a data segment without MPTCP options tells a receiver that
// a middlebox strips them (section 3.7). A receiver holds the segments
// after the first in its subflow's order until it has that one.
//
// With DSS checksums every segment carries its mapping, in Linux's 28
// bytes (wantUniform, linuxDSSLen).
//
// A driver that sends a record's segments as one super-packet
// (OffloadSegmentation) needs them all alike, since the kernel repeats the
// first one's options on each. Where the CPU is the limit, a subflow on
// such a driver puts the mapping on every segment (uniform), as Linux
// does, in the forms in use (20 bytes between two of our stacks): one
// system call per record. Where the path is the limit (below
// uniformRate), the payload matters more than a second system call per
// record.

// uniformRate is the sending rate (bytes per second: the congestion
// window over the smoothed RTT) from which a subflow on a driver that
// sends super-packets repeats each mapping on every segment: 100 Mbit/s,
// where a 1500-byte packet takes 120 µs on the wire, some ten times a
// write into a TUN device.
const uniformRate = 100e6 / 8

// wantUniform reports whether the subflow should repeat each mapping on
// every segment it covers: always with DSS checksums, and on a driver that
// sends super-packets from uniformRate on, until the rate falls to half of
// it (a layout that changed with every wobble of the window would leave
// records cut for the other one).
//
// Checksums are what a connection negotiates when it does not trust the
// path with its mappings: there the copies on every segment are what lets
// a receiver see a mangled mapping contradicted by its neighbours (an
// option fuzzer delivered a wrong segment through a mapping sent once).
// Without them a changed mapping is undetectable anyway.
func (sf *subflow) wantUniform() bool {
	if sf.conn.csum {
		return true
	}
	if !sf.conn.stack.segOffload || sf.info.SRTT <= 0 {
		return false
	}
	rate := float64(sf.info.Cwnd) / sf.info.SRTT.Seconds()
	return rate >= uniformRate || sf.uniform && rate >= uniformRate/2
}

// dssReserve returns the option space the subflow keeps for the DSS, in
// the forms the connection uses now, on a record's first data segment and
// on the others. The forms change at most a few times per connection, and
// the layout when the subflow's rate crosses uniformRate, so records, cut
// for the reserve of the moment, rarely end in a runt.
func (sf *subflow) dssReserve() (first, rest int) {
	c := sf.conn
	if c.csum {
		return linuxDSSLen, linuxDSSLen
	}
	ack := wire.DSS{HasAck: true, Ack64: c.ack64()}
	m := ack
	m.HasMap, m.DSN64 = true, c.dsn64()
	if sf.uniform {
		return pad4(m.Len()), pad4(m.Len())
	}
	return pad4(m.Len()), pad4(ack.Len())
}

// linuxDSSLen is the option space Linux keeps on every data segment for
// its DSS: 8-byte DATA_ACK and DSN, subflow sequence number, length and
// checksum. Connections with DSS checksums keep it too, on every segment,
// whatever the forms in use: their layout is the one that option fuzzing
// has covered longest (a reserve that followed the forms let a mangled
// connection deliver a wrong segment).
const linuxDSSLen = 28

// pad4 rounds an option length up to the 4-byte alignment the builder
// pads MPTCP options to.
func pad4(n int) int { return (n + 3) &^ 3 }

// applyReserve gives the subflow's TCP connection its option reserve.
func (sf *subflow) applyReserve() {
	if sf.tc != nil && !sf.conn.fallen {
		sf.tc.SetRecordOptionReserve(sf.dssReserve())
	}
}

// refreshReserve gives every subflow the option reserve of the DSS forms
// now in use, after they changed (full establishment, the peer's DSN
// form).
func (c *Conn) refreshReserve() {
	for _, sf := range c.subflows {
		sf.applyReserve()
	}
}

// mapData puts the mapping on a data segment that starts it (its
// record's first), or on any segment of a uniform subflow that has room
// for it (one cut before the subflow became uniform has not). On data, the
// 4-byte forms of the DATA_ACK and the DSN where allowed (RFC 8684 section
// 3.3: the receiver expands them).
func (sf *subflow) mapData(seg *tcp.Segment, b *wire.OptionBuilder, d *wire.DSS) {
	c := sf.conn
	m, ok := sf.tx.lookup(seg.Offset)
	if !ok {
		return
	}
	d.HasMap, d.DSN64, d.DSN = true, c.dsn64(), m.dsn
	d.SubflowSeq = sf.wireSSN(m.off)
	d.DataLen = uint16(m.n)
	if m.dataFin {
		d.DataLen++
		d.DataFIN = true
	}
	d.HasChecksum, d.Checksum = c.csum, m.csum
	if m.off != seg.Offset && (!sf.uniform || pad4(d.Len()) > seg.OptionRoom-b.Len()) {
		*d = wire.DSS{HasAck: d.HasAck, Ack64: d.Ack64, DataAck: d.DataAck}
	}
}

// addDSS adds d to a segment's options, within the room its payload
// leaves: a retransmission cut before the DATA_ACK grew to 8 bytes
// (dssReserve) takes the 4-byte form, which the receiver expands, else
// none, since the mapping matters more; so when the option space itself
// is short.
func addDSS(seg *tcp.Segment, b *wire.OptionBuilder, d *wire.DSS) {
	if d.Len() > seg.OptionRoom-b.Len() {
		d.Ack64 = false
		if d.HasMap && d.Len() > seg.OptionRoom-b.Len() {
			d.HasAck = false
		}
	}
	if err := b.AddDSS(d); err != nil && d.HasMap && d.HasAck {
		d.HasAck = false
		_ = b.AddDSS(d)
	}
}
