package core

import "testing"

func TestExpandSeq(t *testing.T) {
	tests := []struct {
		ref  uint64
		low  uint32
		want uint64
	}{
		{0x1_0000_0010, 0x20, 0x1_0000_0020},
		{0x1_0000_0010, 0x05, 0x1_0000_0005},        // just behind
		{0x1_ffff_fff0, 0x10, 0x2_0000_0010},        // forward across a 2^32 boundary
		{0x2_0000_0010, 0xffff_fff0, 0x1_ffff_fff0}, // backward across it
		{0xffff_ffff_ffff_fff0, 0x5, 0x5},           // wrap of the 64-bit space
		{0x5, 0xffff_fff0, 0xffff_ffff_ffff_fff0},   // and back
		{0x7_7fff_ffff, 0x0000_0000, 0x7_0000_0000}, // 2^31-1 behind
		{0x7_8000_0001, 0x0000_0000, 0x8_0000_0000}, // 2^31-1 ahead
	}
	for _, tt := range tests {
		got := expandSeq(tt.ref, tt.low)
		if d := int64(got - tt.ref); d > 1<<31 || d < -(1<<31) {
			t.Errorf("expandSeq(%#x, %#x) = %#x, %d away from ref", tt.ref, tt.low, got, d)
		}
		if uint32(got) != tt.low {
			t.Errorf("expandSeq(%#x, %#x) = %#x: low bits changed", tt.ref, tt.low, got)
		}
		if got != tt.want {
			t.Errorf("expandSeq(%#x, %#x) = %#x, want %#x", tt.ref, tt.low, got, tt.want)
		}
	}
}

func TestSeqCompare(t *testing.T) {
	if !before64(0xffff_ffff_ffff_fff0, 3) || after64(0xffff_ffff_ffff_fff0, 3) {
		t.Error("64-bit comparison does not wrap")
	}
	if !after32(2, 0xffff_fff0) || before32(2, 0xffff_fff0) {
		t.Error("32-bit comparison does not wrap")
	}
	if max64(0xffff_ffff_ffff_fff0, 3) != 3 {
		t.Error("max64 does not wrap")
	}
}
