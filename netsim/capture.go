package netsim

import "github.com/mptcp-go/mptcp/pcap"

// CapturePoint says where on a pipe packets are recorded.
type CapturePoint int

const (
	// AtEnqueue records every packet offered to the pipe, after its
	// middleboxes and before the queue, at the time it is offered: the
	// sender's view. Packets the pipe then drops (queue full, loss, down)
	// are in the capture.
	AtEnqueue CapturePoint = iota
	// AtDelivery records every packet the pipe delivers, at its arrival
	// time: the receiver's view. Duplicates appear twice; lost packets not
	// at all.
	AtDelivery
)

// writeAll writes b to each capture at the current virtual time. A
// failing writer is remembered in the Sim and dropped from the list, so
// one broken file does not stop the run or fill the log.
func writeAll(s *Sim, ws []*pcap.Writer, b []byte) {
	for i, w := range ws {
		if w == nil {
			continue
		}
		if err := w.WritePacket(s.nowT, b); err != nil {
			s.setCaptureErr(err)
			ws[i] = nil
		}
	}
}
