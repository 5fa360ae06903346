// Package pcap writes packet captures that Wireshark and tshark read.
//
// Every driver of the stack (the simulator, the TUN driver, the tests) writes
// through this one writer, so a capture always has the same shape: the raw-IP
// link type (packets start at the IPv4 or IPv6 header) and nanosecond
// timestamps taken from the caller, never from the wall clock, so that a
// simulated run writes the same bytes every time.
package pcap

import (
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// DefaultSnapLen is the snapshot length written in the file header.
const DefaultSnapLen = 262144

// Writer appends packets to a pcap stream. It is not safe for concurrent
// use; a driver that captures from several goroutines serialises its calls.
type Writer struct {
	w       *pcapgo.Writer
	snapLen int
	ci      gopacket.CaptureInfo
}

// NewWriter writes a pcap file header (raw IP, nanosecond resolution) to w
// and returns a Writer for the packets that follow.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(DefaultSnapLen, layers.LinkTypeRaw); err != nil {
		return nil, fmt.Errorf("pcap: write file header: %w", err)
	}
	return &Writer{w: pw, snapLen: DefaultSnapLen}, nil
}

// WritePacket records one IP packet seen at time t. Packets longer than the
// snapshot length are truncated in the file, with their true length kept.
func (w *Writer) WritePacket(t time.Time, pkt []byte) error {
	data := pkt
	if len(data) > w.snapLen {
		data = data[:w.snapLen]
	}
	w.ci.Timestamp = t
	w.ci.CaptureLength = len(data)
	w.ci.Length = len(pkt)
	if err := w.w.WritePacket(w.ci, data); err != nil {
		return fmt.Errorf("pcap: write packet: %w", err)
	}
	return nil
}
