package wire

import "testing"

// Benchmarks of the per-packet MPTCP work; run with
//
//	go test ./wire -run='^$' -bench='DSS|KeyToken|JoinAck' -benchmem
//
// Decoding and encoding a DSS option and the DSS checksum must show
// 0 allocs/op.

func BenchmarkDecodeDSS(b *testing.B) {
	wire := hx("1e 16 20 0d 01020304 0102030405060708 00000026 05b4")
	var o MPTCPOptions
	b.ReportAllocs()
	for b.Loop() {
		o.Reset()
		if err := o.Decode(wire, FlagACK); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDSSFull(b *testing.B) {
	wire := hx("1e 1c 20 1f 1122334455667788 0102030405060708 00000000 0001 ffff")
	var o MPTCPOptions
	b.ReportAllocs()
	for b.Loop() {
		o.Reset()
		if err := o.Decode(wire, FlagACK); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDSS(b *testing.B) {
	d := DSS{HasAck: true, DataAck: 1, HasMap: true, DSN64: true, DSN: 2, SubflowSeq: 3, DataLen: 1400}
	var ob OptionBuilder
	b.ReportAllocs()
	for b.Loop() {
		ob.Reset()
		if err := ob.AddDSS(&d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDSSChecksum1400(b *testing.B) {
	payload := make([]byte, 1400)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		_ = DSSChecksum(1, 2, 1400, payload)
	}
}

func BenchmarkKeyTokenIDSN(b *testing.B) {
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		_, _ = KeyTokenIDSN(i)
	}
}

func BenchmarkJoinAckHMAC(b *testing.B) {
	b.ReportAllocs()
	for i := uint32(0); b.Loop(); i++ {
		_ = JoinAckHMAC(1, 2, i, 4)
	}
}
