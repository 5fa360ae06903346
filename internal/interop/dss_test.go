//go:build linux

package interop

import (
	"errors"
	"io"
	"net/netip"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// mappingCount counts the DSS options with a mapping each side sent, and
// how many of them carry a checksum.
type mappingCount struct {
	ours, oursCsum     int
	kernel, kernelCsum int
}

// dssMappings reads our side's capture and counts the DSS mappings. It
// parses the options itself (with gopacket, not our wire package): tshark
// 4.0 shows no DSS checksum field, so the option's length tells: a DSS
// option is 4 bytes, plus 4 or 8 of DATA_ACK if present, plus 4 or 8 of
// data sequence number, 4 of subflow sequence number and 2 of length if a
// mapping is present, plus 2 if it has a checksum (RFC 8684 section 3.3).
func (e *env) dssMappings() (mappingCount, error) {
	var mc mappingCount
	f, err := os.Open(e.pcap)
	if err != nil {
		return mc, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return mc, err
	}
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return mc, nil
		}
		if err != nil {
			return mc, err
		}
		if len(data) == 0 {
			continue
		}
		first := layers.LayerTypeIPv4
		if data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
		p := gopacket.NewPacket(data, first, gopacket.NoCopy)
		var src netip.Addr
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
		}
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			continue
		}
		for _, o := range tcp.Options {
			if o.OptionType != 30 || len(o.OptionData) < 2 || o.OptionData[0]>>4 != 2 {
				continue // not MPTCP DSS
			}
			flags := o.OptionData[1]
			if flags&0x04 == 0 {
				continue // no mapping
			}
			want := 4 + 4 + 2 + 4 // header, SSN, length, 4-byte DSN
			if flags&0x08 != 0 {
				want += 4
			}
			if flags&0x01 != 0 {
				want += 4
				if flags&0x02 != 0 {
					want += 4
				}
			}
			csum := int(o.OptionLength) == want+2
			if e.isOurs(src) {
				mc.ours++
				if csum {
					mc.oursCsum++
				}
			} else {
				mc.kernel++
				if csum {
					mc.kernelCsum++
				}
			}
		}
	}
}
