package mptcpify

import (
	"encoding/binary"
	"testing"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/net/bpf"
)

// socketCall is one socket(2) call, and whether it should become MPTCP.
type socketCall struct {
	family, typ, proto uint32
	fams               Families
	want               bool
}

var socketCalls = []socketCall{
	{afInet, sockStream, 0, All, true},
	{afInet, sockStream, ipprotoTCP, All, true},
	{afInet6, sockStream, 0, All, true},
	{afInet6, sockStream | 0x80000 | 0x800, 0, All, true}, // SOCK_CLOEXEC | SOCK_NONBLOCK
	{afInet, 2, 0, All, false},                            // SOCK_DGRAM
	{afInet, sockStream, 132, All, false},                 // IPPROTO_SCTP
	{afInet, sockStream, ipprotoMPTCP, All, false},        // already MPTCP
	{1, sockStream, 0, All, false},                        // AF_UNIX
	{afInet, sockStream, 0, Inet6, false},
	{afInet6, sockStream, 0, Inet6, true},
	{afInet6, sockStream, 0, Inet, false},
}

// TestSeccompFilter runs the classic BPF filter on seccomp_data built for
// x/net/bpf's VM, which loads words big-endian where the kernel loads them
// in the machine's order: the decisions are the same.
func TestSeccompFilter(t *testing.T) {
	const arch, nr = 0xc000003e, 41
	for _, c := range socketCalls {
		raw, err := SeccompFilter(c.fams, arch, nr)
		if err != nil {
			t.Fatal(err)
		}
		insns, ok := bpf.Disassemble(raw)
		if !ok {
			t.Fatal("filter does not disassemble")
		}
		vm, err := bpf.NewVM(insns)
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range []struct {
			arch, nr uint32
			want     bool
		}{{arch, nr, c.want}, {arch, nr + 1, false}, {0x40000003, nr, false}} {
			data := make([]byte, 64)
			binary.BigEndian.PutUint32(data[offNr:], call.nr)
			binary.BigEndian.PutUint32(data[offArch:], call.arch)
			binary.BigEndian.PutUint32(data[offArg0:], c.family)
			binary.BigEndian.PutUint32(data[offArg1:], c.typ)
			binary.BigEndian.PutUint32(data[offArg2:], c.proto)
			got, err := vm.Run(data)
			if err != nil {
				t.Fatal(err)
			}
			want := seccompRetAllow
			if call.want {
				want = seccompRetUserNotify
			}
			if got != want {
				t.Errorf("%+v arch %#x nr %d: filter returns %#x, want %#x", c, call.arch, call.nr, got, want)
			}
		}
	}
}

// TestInstructions checks the program's shape: it ends in the two answers,
// and tests the ancestor only for a cgroup below the root.
func TestInstructions(t *testing.T) {
	count := func(insns asm.Instructions, fn asm.BuiltinFunc) int {
		n := 0
		for _, in := range insns {
			if in.IsBuiltinCall() && in.Constant == int64(fn) {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		target    Target
		ancestors int
	}{
		{Target{CgroupID: 7, Level: 0}, 0},
		{Target{CgroupID: 7, Level: 2, Families: Inet}, 1},
	} {
		insns := Instructions(tc.target)
		if got := count(insns, asm.FnGetCurrentCgroupId); got != 1 {
			t.Errorf("%+v: %d cgroup id calls, want 1", tc.target, got)
		}
		if got := count(insns, asm.FnGetCurrentAncestorCgroupId); got != tc.ancestors {
			t.Errorf("%+v: %d ancestor calls, want %d", tc.target, got, tc.ancestors)
		}
		if err := insns.Marshal(new(discard), binary.LittleEndian); err != nil {
			t.Errorf("%+v: %v", tc.target, err)
		}
		n := len(insns)
		if insns[n-2].Constant != ipprotoMPTCP || insns[n-4].Constant != 0 {
			t.Errorf("%+v: the program does not end in its two answers:\n%v", tc.target, insns)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestParseFamilies(t *testing.T) {
	for _, f := range []Families{Inet, Inet6, All} {
		got, err := ParseFamilies(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFamilies(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFamilies("ipx"); err == nil {
		t.Error("ParseFamilies(ipx) succeeded")
	}
}
