package torture

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// Attackers who see the client's first path and forge segments into the
// live initial subflow toward the client, in the window (RFC 5961 lets
// whoever knows the sequence numbers do that): the cases of finding 8 of
// issue 21.

// subflowTap follows the server's side of the initial subflow: its ISN
// (from the MP_CAPABLE SYN/ACK) and the data segments it sends, and hands
// the next one to forge once armed.
type subflowTap struct {
	port  uint16 // the client's port
	isn   uint32
	armed bool
	forge func(src, dst netip.Addr, t wire.TCP, o *wire.TCPOptions, emit func([]byte))
	opts  wire.TCPOptions
	// before: the forged packets go ahead of the segment they copy.
	before bool
}

func (s *subflowTap) install(n *simtest.Net) {
	n.PathLinks[0].BA().AddProcessor(netsim.ProcessorFunc(func(_ time.Time, pkt []byte, emit func([]byte)) {
		src, dst, t, ok := s.match(pkt)
		if ok && s.before {
			s.forge(src, dst, t, &s.opts, emit)
		}
		emit(pkt)
		if ok && !s.before {
			s.forge(src, dst, t, &s.opts, emit)
		}
	}))
}

// match follows the subflow and reports whether pkt is the data segment
// to forge from, disarming the tap if so.
func (s *subflowTap) match(pkt []byte) (src, dst netip.Addr, t wire.TCP, ok bool) {
	src, dst, _, payload, err := wire.ParseIP(pkt)
	if err != nil {
		return src, dst, nil, false
	}
	t, err = wire.ParseTCP(payload)
	if err != nil || wire.ParseTCPOptions(t.Options(), t.Flags(), &s.opts) != nil {
		return src, dst, nil, false
	}
	switch {
	case t.Flags()&wire.FlagSYN != 0 && s.port == 0 && s.opts.MPTCP.Has(wire.SubtypeMPCapable):
		s.port, s.isn = t.DstPort(), t.Seq()
	case s.armed && t.DstPort() == s.port && len(t.Payload()) > 0 && s.opts.HasTimestamps:
		s.armed = false
		return src, dst, t, true
	}
	return src, dst, t, false
}

// forgedOOODSS sends, right behind a data segment, ten segments further
// ahead in the window with made-up payload, each mapped to a data
// sequence number far from the connection's; every fourth one's mapping
// does not even cover it. The real segments arrive later with their own
// mappings. Before, the conflict reset the subflow.
func forgedOOODSS() Case {
	tap := &subflowTap{}
	tap.forge = func(src, dst netip.Addr, t wire.TCP, o *wire.TCPOptions, emit func([]byte)) {
		junk := make([]byte, 300)
		for i := range junk {
			junk[i] = 0xa5
		}
		step := uint32(max(len(t.Payload()), 500))
		for k := uint32(2); k <= 11; k++ {
			seq := t.Seq() + k*step
			ssn := seq - tap.isn
			if k%4 == 0 {
				ssn += 5000
			}
			var b wire.OptionBuilder
			b.AddTimestamps(o.TSVal, o.TSEcr)
			_ = b.AddDSS(&wire.DSS{HasMap: true, DSN64: true, DSN: 1<<62 + uint64(k)<<20, SubflowSeq: ssn,
				DataLen: uint16(len(junk)), HasChecksum: o.MPTCP.DSS.HasChecksum})
			f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: seq, Ack: t.Ack(),
				Flags: wire.FlagACK, Window: t.Window()}
			emit(wire.AppendTCPPacket(nil, src, dst, &f, b.Bytes(), junk))
		}
	}
	return Case{Name: "forged-ooo-dss/2", Paths: 2, Install: tap.install, DuringAt: 100 * time.Millisecond,
		During: func(*simtest.Net) { tap.armed = true }}
}

// forgedTSVal sends, right behind a data segment, an ACK at the same
// place whose TSval lies 2^30 ahead, and one whose TSval lies 2^19 ahead:
// before, every later segment of the real server failed PAWS on the
// client.
func forgedTSVal() Case {
	tap := &subflowTap{}
	tap.forge = func(src, dst netip.Addr, t wire.TCP, o *wire.TCPOptions, emit func([]byte)) {
		for _, jump := range []uint32{1 << 30, 1 << 19} {
			var b wire.OptionBuilder
			b.AddTimestamps(o.TSVal+jump, o.TSEcr)
			f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq() + uint32(len(t.Payload())),
				Ack: t.Ack(), Flags: wire.FlagACK, Window: t.Window()}
			emit(wire.AppendTCPPacket(nil, src, dst, &f, b.Bytes(), nil))
		}
	}
	return Case{Name: "forged-tsval/2", Paths: 2, Install: tap.install, DuringAt: 100 * time.Millisecond,
		During: func(*simtest.Net) { tap.armed = true }}
}

// forgedShrunkOffset copies three data segments, each just before the
// real one, with the data offset shrunk to the fixed header: the options
// (timestamps, DSS) read as payload. With DSS checksums on, before, the
// copy's missing DSS made the connection fall back, and its bytes, the
// options among them, were delivered unchecked (issue 21, finding 6).
func forgedShrunkOffset(paths int) Case {
	tap := &subflowTap{}
	left := 3
	tap.forge = func(src, dst netip.Addr, t wire.TCP, _ *wire.TCPOptions, emit func([]byte)) {
		payload := append(append([]byte(nil), t.Options()...), t.Payload()...)
		f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq(), Ack: t.Ack(),
			Flags: t.Flags(), Window: t.Window()}
		emit(wire.AppendTCPPacket(nil, src, dst, &f, nil, payload))
		if left--; left > 0 {
			tap.armed = true
		}
	}
	tap.before = true
	return Case{Name: fmt.Sprintf("forged-doff-csum/%d", paths), Paths: paths, Options: simtest.Options{Client: csumClient},
		Install: tap.install, DuringAt: 100 * time.Millisecond, During: func(*simtest.Net) { tap.armed = true }}
}

// forgedFastclose sends, right behind a data segment of the server, an ACK
// carrying MP_FASTCLOSE with the client's key, which went in clear in the
// MP_CAPABLE third ACK on the attacker's path. RFC 8684 section 3.5 lets
// the client end the connection; the server, which asked for nothing,
// must learn it from the client's RSTs rather than wait for a subflow
// that never comes.
func forgedFastclose() Case {
	tap := &subflowTap{}
	var clientKey uint64
	tap.forge = func(src, dst netip.Addr, t wire.TCP, o *wire.TCPOptions, emit func([]byte)) {
		var b wire.OptionBuilder
		b.AddTimestamps(o.TSVal, o.TSEcr)
		_ = b.AddMPFastclose(&wire.MPFastclose{ReceiverKey: clientKey})
		f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq() + uint32(len(t.Payload())),
			Ack: t.Ack(), Flags: wire.FlagACK, Window: t.Window()}
		emit(wire.AppendTCPPacket(nil, src, dst, &f, b.Bytes(), nil))
	}
	learnKey := netsim.ProcessorFunc(func(_ time.Time, pkt []byte, emit func([]byte)) {
		var o wire.TCPOptions
		if _, _, t, err := wire.ParseTCPPacket(pkt); err == nil && wire.ParseTCPOptions(t.Options(), t.Flags(), &o) == nil &&
			o.MPTCP.Has(wire.SubtypeMPCapable) && o.MPTCP.Capable.ReceiverKey != 0 {
			clientKey = o.MPTCP.Capable.SenderKey
		}
		emit(pkt)
	})
	return Case{Name: "forged-fastclose/2", Paths: 2, MayEnd: true, DuringAt: 100 * time.Millisecond,
		Install: func(n *simtest.Net) {
			tap.install(n)
			n.PathLinks[0].AB().AddProcessor(learnKey)
		},
		During: func(*simtest.Net) { tap.armed = true }}
}

// forgedHoleThenPathDown makes the client discard, at the data level,
// bytes its first subflow acknowledged, and then takes that path away:
// the first data segment after arming is dropped, the next one passes
// and is followed by a forged copy (same sequence numbers, junk, a mapping
// to a data sequence number far away) which, the real one being still
// out of order, replaces it; once the dropped segment's retransmission
// has filled the subflow's hole, path 1 goes dark for good. Only the
// server's connection-level retransmission can fill the client's
// data-level hole, and it waited on the dead subflow's RTO, which doubled
// at each expiry: the transfer stalled (found by live/forged-dss).
func forgedHoleThenPathDown() Case {
	var st struct {
		port      uint16
		isn       uint32
		phase     int
		dropped   uint32
		darkAfter time.Time
		dark      bool
		opts      wire.TCPOptions
	}
	down := netsim.ProcessorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		if st.dark || !st.darkAfter.IsZero() && !now.Before(st.darkAfter) {
			st.dark = true
			return
		}
		emit(pkt)
	})
	tap := netsim.ProcessorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		src, dst, t, err := wire.ParseTCPPacket(pkt)
		if err != nil || wire.ParseTCPOptions(t.Options(), t.Flags(), &st.opts) != nil {
			down(now, pkt, emit)
			return
		}
		data := len(t.Payload()) > 0 && t.DstPort() == st.port && st.port != 0
		switch {
		case t.Flags()&wire.FlagSYN != 0 && st.port == 0 && st.opts.MPTCP.Has(wire.SubtypeMPCapable):
			st.port, st.isn = t.DstPort(), t.Seq()
		case st.phase == 1 && data:
			st.dropped, st.phase = t.Seq(), 2
			return
		case st.phase == 2 && data && t.Seq() != st.dropped:
			emit(pkt)
			junk := make([]byte, len(t.Payload()))
			for i := range junk {
				junk[i] = 0xa5
			}
			var b wire.OptionBuilder
			b.AddTimestamps(st.opts.TSVal, st.opts.TSEcr)
			_ = b.AddDSS(&wire.DSS{HasMap: true, DSN64: true, DSN: 1 << 62, SubflowSeq: t.Seq() - st.isn, DataLen: uint16(len(junk))})
			f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq(), Ack: t.Ack(), Flags: wire.FlagACK, Window: t.Window()}
			emit(wire.AppendTCPPacket(nil, src, dst, &f, b.Bytes(), junk))
			st.phase = 3
			return
		case st.phase == 3 && data && t.Seq() == st.dropped:
			st.darkAfter, st.phase = now.Add(20*time.Millisecond), 4
		}
		down(now, pkt, emit)
	})
	return Case{Name: "forged-hole-path-down/2", Paths: 2, DuringAt: 300 * time.Millisecond,
		Install: func(n *simtest.Net) {
			n.PathLinks[0].BA().AddProcessor(tap)
			n.PathLinks[0].AB().AddProcessor(down)
		},
		During: func(*simtest.Net) { st.phase = 1 }}
}
