package emu

import (
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/mptcp-go/mptcp/netsim"
)

// TestCompleteChecksum checks the checksums completeChecksum writes
// against gopacket's, for TCP and UDP over IPv4 and IPv6, with and
// without a VLAN tag, and that it leaves what it cannot handle alone.
func TestCompleteChecksum(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	build := func(v6, tcp, vlan bool) (frame []byte, csumAt int) {
		eth := &layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4}
		var ls []gopacket.SerializableLayer
		var nl gopacket.NetworkLayer
		proto := layers.IPProtocolUDP
		if tcp {
			proto = layers.IPProtocolTCP
		}
		if v6 {
			eth.EthernetType = layers.EthernetTypeIPv6
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP("fd00:1:1::1"), DstIP: net.ParseIP("fd00:1:1::2")}
			nl, ls = ip, append(ls, ip)
		} else {
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP{10, 1, 1, 1}, DstIP: net.IP{10, 1, 1, 2}}
			nl, ls = ip, append(ls, ip)
		}
		if vlan {
			et := eth.EthernetType
			eth.EthernetType = layers.EthernetTypeDot1Q
			ls = append([]gopacket.SerializableLayer{&layers.Dot1Q{VLANIdentifier: 7, Type: et}}, ls...)
		}
		ls = append([]gopacket.SerializableLayer{eth}, ls...)
		payload := gopacket.Payload("a payload of odd length")
		if tcp {
			l4 := &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: 1, Ack: 2, ACK: true, Window: 1000}
			l4.SetNetworkLayerForChecksum(nl)
			ls = append(ls, l4, payload)
		} else {
			l4 := &layers.UDP{SrcPort: 40000, DstPort: 5201}
			l4.SetNetworkLayerForChecksum(nl)
			ls = append(ls, l4, payload)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		frame = buf.Bytes()
		csumAt = ethHeaderLen + 20
		if v6 {
			csumAt = ethHeaderLen + 40
		}
		if vlan {
			csumAt += 4
		}
		if tcp {
			csumAt += 16
		} else {
			csumAt += 6
		}
		return frame, csumAt
	}
	for _, v6 := range []bool{false, true} {
		for _, tcp := range []bool{false, true} {
			for _, vlan := range []bool{false, true} {
				frame, at := build(v6, tcp, vlan)
				want := [2]byte{frame[at], frame[at+1]}
				frame[at], frame[at+1] = 0x12, 0x34 // a partial sum, say
				if !completeChecksum(frame) {
					t.Errorf("v6 %v tcp %v vlan %v: not completed", v6, tcp, vlan)
					continue
				}
				if got := [2]byte{frame[at], frame[at+1]}; got != want {
					t.Errorf("v6 %v tcp %v vlan %v: checksum %x, gopacket %x", v6, tcp, vlan, got, want)
				}
			}
		}
	}
	// Not TCP or UDP, truncated, or not IP: left alone.
	frame, _ := build(false, true, false)
	for _, f := range [][]byte{frame[:20], frame[:ethHeaderLen+10], {}, make([]byte, 60)} {
		c := append([]byte(nil), f...)
		if completeChecksum(c) || string(c) != string(f) {
			t.Errorf("changed a frame of %d bytes it cannot handle", len(f))
		}
	}
	icmp := append([]byte(nil), frame...)
	icmp[ethHeaderLen+9] = 1
	if completeChecksum(icmp) {
		t.Error("completed an ICMP checksum")
	}
}

// FuzzFrame feeds arbitrary frames to the checksum completion and to the
// link model: neither may panic, and a frame comes out whole or not at all.
func FuzzFrame(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 14))
	f.Add(append(make([]byte, 12), 0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6))
	f.Add(append(make([]byte, 12), 0x81, 0x00, 0, 7, 0x86, 0xdd, 0x60))
	f.Fuzz(func(t *testing.T, frame []byte) {
		c := append([]byte(nil), frame...)
		completeChecksum(c)
		if len(c) != len(frame) {
			t.Fatalf("length changed from %d to %d", len(frame), len(c))
		}
		core := &core{}
		fl := &flow{name: "fuzz"}
		var out [][]byte
		core.init(1518, 1<<20, 0, func(pk *packet) {
			out = append(out, append([]byte(nil), pk.b...))
			core.pool.put(pk)
		})
		p := newPipe(core, "fuzz", netsim.PipeConfig{Rate: 1e6, Delay: time.Millisecond, QueuePackets: 2, Duplicate: 0.5, Reorder: 0.5}, uint64(len(frame)))
		core.pipes, fl.pipes = []*pipe{p}, []*pipe{p}
		core.receive(fl, 0, frame)
		core.receive(fl, 1, frame)
		core.advance(noEvent - 1)
		for _, o := range out {
			if string(o) != string(frame) {
				t.Fatalf("frame changed on its way")
			}
		}
		if core.pool.used != 0 {
			t.Fatalf("%d bytes of buffers not returned", core.pool.used)
		}
	})
}
