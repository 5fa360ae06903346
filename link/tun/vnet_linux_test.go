//go:build linux

package tun

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp/wire"
)

// partial returns a TCP packet as the kernel hands it to a device with
// checksum offload: the checksum field holds only the pseudo-header sum.
func partial(t *testing.T, src, dst string, payload int) []byte {
	t.Helper()
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	f := wire.TCPFields{SrcPort: 40000, DstPort: 5201, Seq: 7, Ack: 9, Flags: wire.FlagACK, Window: 512}
	p := make([]byte, payload)
	for i := range p {
		p[i] = byte(i * 7)
	}
	pkt := wire.AppendTCPPacket(nil, s, d, &f, nil, p)
	ipLen := 20
	if s.Is6() {
		ipLen = 40
	}
	binary.BigEndian.PutUint16(pkt[ipLen+16:], wire.PseudoHeaderChecksum(wire.ProtoTCP, s, d, uint32(len(pkt)-ipLen)))
	return pkt
}

// TestFinishRead checks that a checksum the kernel left to the device is
// completed, for an ordinary packet and for a super-packet longer than any
// MTU, over IPv4 and IPv6; and that what cannot be finished is refused.
func TestFinishRead(t *testing.T) {
	for _, c := range []struct {
		src, dst string
		payload  int
		gso      uint8
	}{
		{"10.1.1.1", "10.1.4.2", 1000, unix.VIRTIO_NET_HDR_GSO_NONE},
		{"10.1.1.1", "10.1.4.2", 65000, unix.VIRTIO_NET_HDR_GSO_TCPV4},
		{"fd00:1:1::1", "fd00:1:4::2", 1000, unix.VIRTIO_NET_HDR_GSO_NONE},
		{"fd00:1:1::1", "fd00:1:4::2", 65000, unix.VIRTIO_NET_HDR_GSO_TCPV6},
	} {
		pkt := partial(t, c.src, c.dst, c.payload)
		ipLen := 20
		if c.gso == unix.VIRTIO_NET_HDR_GSO_TCPV6 || netip.MustParseAddr(c.src).Is6() {
			ipLen = 40
		}
		h := vnetHdr{flags: unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: c.gso, gsoSize: 1448, csumStart: uint16(ipLen), csumOffset: 16}
		var enc [vnetHdrLen]byte
		h.encode(enc[:])
		if decodeVnetHdr(enc[:]) != h {
			t.Fatalf("header %+v does not survive encoding", h)
		}
		if ok, err := finishRead(pkt, h, rawMode{}); err != nil || !ok {
			t.Fatalf("%s, %d bytes: %v", c.src, c.payload, err)
		}
		src, dst, _, payload, err := wire.ParseIP(pkt)
		if err != nil {
			t.Fatal(err)
		}
		if !wire.TCP(payload).ValidChecksum(src, dst) {
			t.Errorf("%s, %d bytes: checksum not completed", c.src, c.payload)
		}
	}
	pkt := partial(t, "10.1.1.1", "10.1.4.2", 10)
	if _, err := finishRead(pkt, vnetHdr{flags: unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, csumStart: uint16(len(pkt)), csumOffset: 16}, rawMode{}); err == nil {
		t.Error("a checksum offset beyond the packet was accepted")
	}
	if _, err := finishRead(pkt, vnetHdr{gsoType: unix.VIRTIO_NET_HDR_GSO_UDP_L4}, rawMode{}); err == nil {
		t.Error("UDP segmentation was accepted")
	}
	// Without NEEDS_CSUM the packet is left alone.
	before := string(pkt)
	if ok, err := finishRead(pkt, vnetHdr{}, rawMode{}); err != nil || !ok || string(pkt) != before {
		t.Errorf("a complete packet was changed (%v)", err)
	}
}

// TestFinishReadTrusted checks TrustKernelChecksums: what the kernel
// vouches for passes untouched, anything else is verified.
func TestFinishReadTrusted(t *testing.T) {
	trusted := rawMode{super: true, trust: true, leavePartial: true}
	needs := vnetHdr{flags: unix.VIRTIO_NET_HDR_F_NEEDS_CSUM, csumStart: 20, csumOffset: 16}
	pkt := partial(t, "10.1.1.1", "10.1.4.2", 1000)
	before := string(pkt)
	if ok, err := finishRead(pkt, needs, trusted); err != nil || !ok || string(pkt) != before {
		t.Errorf("a partial checksum was not left alone: ok %v, %v", ok, err)
	}
	// A partial checksum is wrong as a full one: without a flag it fails.
	if ok, err := finishRead(pkt, vnetHdr{}, trusted); err != nil || ok {
		t.Errorf("an unvouched bad checksum passed: ok %v, %v", ok, err)
	}
	// The kernel verified it (DATA_VALID): trusted.
	if ok, err := finishRead(pkt, vnetHdr{flags: unix.VIRTIO_NET_HDR_F_DATA_VALID}, trusted); err != nil || !ok {
		t.Errorf("a verified packet was refused: ok %v, %v", ok, err)
	}
	good := tcpPacket("10.1.1.1", "10.1.4.2", []byte("fine"))
	if ok, err := finishRead(good, vnetHdr{}, trusted); err != nil || !ok {
		t.Errorf("a good unvouched packet was refused: ok %v, %v", ok, err)
	}
	// Trusted but captured: the partial checksum is finished, so that the
	// capture shows it right, and nothing is verified.
	captured := rawMode{super: true, trust: true}
	pkt = partial(t, "10.1.1.1", "10.1.4.2", 1000)
	if ok, err := finishRead(pkt, needs, captured); err != nil || !ok {
		t.Fatalf("a partial checksum was refused: ok %v, %v", ok, err)
	}
	if !wire.TCP(pkt[20:]).ValidChecksum(netip.MustParseAddr("10.1.1.1"), netip.MustParseAddr("10.1.4.2")) {
		t.Error("trusted and captured: the partial checksum was not finished")
	}
	// A corrupted packet the kernel does not vouch for is refused.
	good[len(good)-1] ^= 0x40
	if ok, err := finishRead(good, vnetHdr{}, captured); err != nil || ok {
		t.Errorf("a corrupted unvouched packet passed: ok %v, %v", ok, err)
	}
}
