package tcp

import (
	"fmt"

	"github.com/mptcp-go/mptcp/wire"
)

// dumpPacket renders a packet as a tcpdump-like line, for test logs.
func dumpPacket(p []byte) string {
	src, dst, _, pl, err := wire.ParseIP(p)
	if err != nil {
		return "bad packet: " + err.Error()
	}
	t, err := wire.ParseTCP(pl)
	if err != nil {
		return "bad tcp: " + err.Error()
	}
	var o wire.TCPOptions
	wire.ParseTCPOptions(t.Options(), t.Flags(), &o)
	s := fmt.Sprintf("%v.%d > %v.%d [%v] seq %d ack %d win %d len %d", src, t.SrcPort(), dst, t.DstPort(), t.Flags(), t.Seq(), t.Ack(), t.Window(), len(t.Payload()))
	if o.HasMSS {
		s += fmt.Sprintf(" mss %d", o.MSS)
	}
	if o.HasWindowScale {
		s += fmt.Sprintf(" ws %d", o.WindowScale)
	}
	if o.SACKPermitted {
		s += " sackOK"
	}
	if o.HasTimestamps {
		s += fmt.Sprintf(" ts %d/%d", o.TSVal, o.TSEcr)
	}
	for i := range o.NumSACK {
		s += fmt.Sprintf(" sack %d-%d", o.SACK[i].Left, o.SACK[i].Right)
	}
	return s
}
