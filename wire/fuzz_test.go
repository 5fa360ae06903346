package wire

import (
	"testing"
)

// FuzzParsePacket feeds arbitrary bytes through the whole receive-path
// decode: IP header, TCP header, options. It must never panic, and whatever
// it accepts must satisfy the views' invariants.
func FuzzParsePacket(f *testing.F) {
	f.Add(dataSegmentWithDSSLen(16)) // short: the fuzzer mutates headers, not payload
	var ob OptionBuilder
	_ = ob.AddMSS(1460)
	_ = ob.AddSACKPermitted()
	_ = ob.AddWindowScale(7)
	f.Add(AppendTCPPacket(nil, testSrc6, testDst6, &TCPFields{Flags: FlagSYN}, ob.Bytes(), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, proto, seg, err := ParseIP(b)
		if err != nil || proto != ProtoTCP {
			return
		}
		tcp, err := ParseTCP(seg)
		if err != nil {
			return
		}
		if tcp.HeaderLen() > len(tcp) || len(tcp.Options()) > MaxOptionLen {
			t.Fatalf("view invariant broken: header %d, len %d", tcp.HeaderLen(), len(tcp))
		}
		var o TCPOptions
		_ = ParseTCPOptions(tcp.Options(), tcp.Flags(), &o)
		if o.NumSACK > MaxSACKBlocks || o.WindowScale > MaxWindowScale {
			t.Fatalf("options out of range: %+v", o)
		}
	})
}

// FuzzTCPOptions parses arbitrary option bytes under arbitrary flags.
func FuzzTCPOptions(f *testing.F) {
	f.Add([]byte{2, 4, 5, 0xb4, 1, 3, 3, 7}, uint8(FlagSYN))
	f.Add([]byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}, uint8(FlagACK))
	f.Fuzz(func(t *testing.T, b []byte, flags uint8) {
		if len(b) > MaxOptionLen {
			b = b[:MaxOptionLen]
		}
		var o TCPOptions
		_ = ParseTCPOptions(b, TCPFlags(flags), &o)
	})
}

// FuzzTCPRoundTrip encodes a segment from fuzzed fields and options and
// checks that decoding returns the same values.
func FuzzTCPRoundTrip(f *testing.F) {
	f.Add(uint16(1), uint16(2), uint32(3), uint32(4), uint8(FlagACK), uint16(5), uint16(1460), uint8(7), uint32(9), uint32(10), uint8(2), []byte("data"), true)
	f.Fuzz(func(t *testing.T, sp, dp uint16, seq, ack uint32, flags uint8, win, mss uint16, ws uint8, tsv, tse uint32, nsack uint8, payload []byte, v4 bool) {
		var ob OptionBuilder
		_ = ob.AddMSS(mss)
		_ = ob.AddWindowScale(ws)
		_ = ob.AddTimestamps(tsv, tse)
		blocks := make([]SACKBlock, int(nsack)%5)
		for i := range blocks {
			blocks[i] = SACKBlock{seq + uint32(i), ack + uint32(i)}
		}
		k, _ := ob.AddSACK(blocks)
		src, dst := testSrc4, testDst4
		if !v4 {
			src, dst = testSrc6, testDst6
		}
		if len(payload) > 9000 {
			payload = payload[:9000]
		}
		fl := TCPFields{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: TCPFlags(flags), Window: win}
		pkt := AppendTCPPacket(nil, src, dst, &fl, ob.Bytes(), payload)
		gs, gd, tcp, err := ParseTCPPacket(pkt)
		if err != nil || gs != src || gd != dst || !tcp.ValidChecksum(src, dst) {
			t.Fatalf("ParseTCPPacket: %v", err)
		}
		if tcp.SrcPort() != sp || tcp.DstPort() != dp || tcp.Seq() != seq || tcp.Ack() != ack ||
			tcp.Flags() != TCPFlags(flags) || tcp.Window() != win || string(tcp.Payload()) != string(payload) {
			t.Fatal("header fields differ")
		}
		var o TCPOptions
		if err := ParseTCPOptions(tcp.Options(), tcp.Flags(), &o); err != nil {
			t.Fatal(err)
		}
		if o.MSS != mss || o.WindowScale != min(ws, MaxWindowScale) || o.TSVal != tsv || o.TSEcr != tse || o.NumSACK != k {
			t.Fatalf("options differ: %+v", o)
		}
		for i := 0; i < k; i++ {
			if o.SACK[i] != blocks[i] {
				t.Fatalf("SACK block %d differs", i)
			}
		}
	})
}
