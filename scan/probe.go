package scan

import (
	"fmt"
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// DefaultTTL is the TTL (hop limit) of scan probes, as a host would send.
const DefaultTTL = 64

// synWindow is the receive window of the probe SYN, Linux's initial one.
const synWindow = 64240

// Probe is one SYN as it was sent: what matching an answer to it and
// comparing a quote with it need.
type Probe struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	// ISN is the initial sequence number; answers acknowledge ISN+1.
	ISN uint32
	// TTL is the IPv4 time-to-live or IPv6 hop limit.
	TTL uint8
	// IPID is the IPv4 identification (unused for IPv6).
	IPID uint16
	// TSVal is the timestamp value of the SYN's timestamps option.
	TSVal uint32
	// V0 selects an RFC 6824 (version 0) MP_CAPABLE carrying Key; the
	// default is a version 1 MP_CAPABLE, which carries no key on the SYN.
	V0  bool
	Key uint64
	// Packet is the whole IP packet, filled in by Build.
	Packet []byte
}

// Build composes the probe's SYN into p.Packet: an IP header (IPv4 with DF,
// or IPv6) and a TCP SYN with the options Linux sends on an MPTCP SYN: MSS,
// SACK-permitted, timestamps, window scale and MP_CAPABLE. The MSS is that
// of a 1500-byte link, so that a router clamping it is seen.
func (p *Probe) Build() error {
	if !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() {
		return fmt.Errorf("scan: probe addresses %v and %v are not of one family", p.Src, p.Dst)
	}
	var ob wire.OptionBuilder
	mss := uint16(1460)
	if p.Dst.Is6() {
		mss = 1440
	}
	mpc := wire.MPCapable{Form: wire.MPCapableSYN, Version: wire.MPTCPVersion, Flags: wire.MPCapableHMACSHA256}
	if p.V0 {
		mpc.Version, mpc.SenderKey = 0, p.Key
	}
	for _, err := range []error{
		ob.AddMSS(mss),
		ob.AddSACKPermitted(),
		ob.AddTimestamps(p.TSVal, 0),
		ob.AddWindowScale(7),
		ob.AddMPCapable(&mpc),
	} {
		if err != nil {
			return fmt.Errorf("scan: building the SYN's options: %w", err)
		}
	}
	f := wire.TCPFields{SrcPort: p.SrcPort, DstPort: p.DstPort, Seq: p.ISN, Flags: wire.FlagSYN, Window: synWindow}
	p.Packet = buildPacket(p.Packet[:0], p.Src, p.Dst, p.TTL, p.IPID, &f, ob.Bytes())
	return nil
}

// TCP returns the TCP segment of the built probe.
func (p *Probe) TCP() wire.TCP {
	hl := wire.IPv6HeaderLen
	if p.Src.Is4() {
		hl = wire.IPv4MinHeaderLen
	}
	return wire.TCP(p.Packet[hl:])
}

// ResetPacket returns the RST that aborts the half-open connection after a
// SYN/ACK: sequence number ISN+1, as RFC 9293 section 3.10.7.3 requires
// for the listener to accept it in SYN-RECEIVED.
func (p *Probe) ResetPacket() []byte {
	f := wire.TCPFields{SrcPort: p.SrcPort, DstPort: p.DstPort, Seq: p.ISN + 1, Flags: wire.FlagRST}
	return buildPacket(nil, p.Src, p.Dst, DefaultTTL, p.IPID+1, &f, nil)
}

// buildPacket builds an IP packet with one TCP segment, with a chosen TTL
// and IPv4 identification, which wire.AppendTCPPacket leaves at defaults.
func buildPacket(dst []byte, src, dstAddr netip.Addr, ttl uint8, id uint16, f *wire.TCPFields, opts []byte) []byte {
	tcpLen := wire.TCPMinHeaderLen + len(opts)
	ipLen := wire.IPv6HeaderLen
	if src.Is4() {
		ipLen = wire.IPv4MinHeaderLen
	}
	b := append(dst, make([]byte, ipLen+tcpLen)...)
	if src.Is4() {
		wire.EncodeIPv4(b, &wire.IPv4Fields{ID: id, DF: true, TTL: ttl, Protocol: wire.ProtoTCP, Src: src, Dst: dstAddr}, tcpLen)
	} else {
		wire.EncodeIPv6(b, &wire.IPv6Fields{NextHeader: wire.ProtoTCP, HopLimit: ttl, Src: src, Dst: dstAddr}, tcpLen)
	}
	seg := wire.TCP(b[ipLen:])
	wire.EncodeTCP(seg, f, opts)
	seg.SetChecksum(seg.ComputeChecksum(src, dstAddr))
	return b
}
