package mptcpify

import (
	"encoding/binary"
	"net/netip"
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

// testSyscalls are x86-64's numbers, with its audit architecture.
var testSyscalls = Syscalls{Socket: 41, Connect: 42, Listen: 50}

const testArch = 0xc000003e

// runFilter runs a classic BPF filter on seccomp_data built for x/net/bpf's
// VM, which loads words big-endian where the kernel loads them in the
// machine's order: the decisions are the same.
func runFilter(t *testing.T, raw []bpf.RawInstruction, arch, nr uint32, args ...uint32) uint32 {
	t.Helper()
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[offNr:], nr)
	binary.BigEndian.PutUint32(data[offArch:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(data[offArg0+8*i:], a)
	}
	got, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(got)
}

func TestSeccompFilter(t *testing.T) {
	for _, c := range socketCalls {
		raw, err := SeccompFilter(c.fams, HookSocket, testArch, testSyscalls)
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range []struct {
			arch, nr uint32
			want     bool
		}{{testArch, 41, c.want}, {testArch, 42, false}, {testArch, 50, false}, {0x40000003, 41, false}} {
			got := runFilter(t, raw, call.arch, call.nr, c.family, c.typ, c.proto)
			want := uint32(seccompRetAllow)
			if call.want {
				want = seccompRetUserNotify
			}
			if got != want {
				t.Errorf("%+v arch %#x nr %d: filter returns %#x, want %#x", c, call.arch, call.nr, got, want)
			}
		}
	}
}

// TestSeccompFilterDeferred: with the connect and listen hooks, socket
// calls go through; connect calls with an inet address's length and
// every listen call go to the supervisor, per the hooks chosen.
func TestSeccompFilterDeferred(t *testing.T) {
	for _, c := range []struct {
		hooks    Hooks
		nr, arg2 uint32
		notify   bool
		what     string
	}{
		{HookConnect | HookListen, 41, 0, false, "socket"},
		{HookConnect | HookListen, 42, 16, true, "connect sockaddr_in"},
		{HookConnect | HookListen, 42, 28, true, "connect sockaddr_in6"},
		{HookConnect | HookListen, 42, 128, true, "connect sockaddr_storage"},
		{HookConnect | HookListen, 42, 110, true, "connect sockaddr_un (the supervisor reads it)"},
		{HookConnect | HookListen, 42, 8, false, "connect, too short for inet"},
		{HookConnect | HookListen, 42, 129, false, "connect, too long for inet"},
		{HookConnect | HookListen, 50, 0, true, "listen"},
		{HookConnect, 50, 0, false, "listen, client side only"},
		{HookListen, 42, 16, false, "connect, server side only"},
		{HookConnect | HookListen, 49, 16, false, "bind"},
	} {
		raw, err := SeccompFilter(All, c.hooks, testArch, testSyscalls)
		if err != nil {
			t.Fatal(err)
		}
		got := runFilter(t, raw, testArch, c.nr, 3, 0x7fff0000, c.arg2)
		if (got == seccompRetUserNotify) != c.notify {
			t.Errorf("%s with hooks %v: filter returns %#x, want notify %v", c.what, c.hooks, got, c.notify)
		}
	}
}

func TestFilterHooks(t *testing.T) {
	for _, c := range []struct {
		f    Filter
		want Hooks
	}{
		{Filter{}, HookSocket},
		{Filter{Families: Inet}, HookSocket},
		{Filter{Side: Both}, HookSocket},
		{Filter{Side: Client}, HookConnect},
		{Filter{Side: Server}, HookListen},
		{Filter{Ports: []uint16{443}}, HookConnect | HookListen},
		{Filter{Side: Client, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, HookConnect},
	} {
		if got := c.f.Hooks(); got != c.want {
			t.Errorf("%v: hooks %v, want %v", c.f, got, c.want)
		}
		h, err := ParseHooks(c.want.String())
		if err != nil || h != c.want {
			t.Errorf("ParseHooks(%q) = %v, %v", c.want.String(), h, err)
		}
	}
}

func TestFilterMatches(t *testing.T) {
	ten, err := ParsePrefixes("10.0.0.0/8, 2001:db8::1")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	for _, c := range []struct {
		f    Filter
		side Side
		dst  string
		want bool
	}{
		{Filter{}, Client, "192.0.2.1:80", true},
		{Filter{Side: Server}, Client, "192.0.2.1:80", false},
		{Filter{Side: Server}, Server, "0.0.0.0:80", true},
		{Filter{Ports: []uint16{443, 8000}}, Client, "192.0.2.1:443", true},
		{Filter{Ports: []uint16{443, 8000}}, Client, "192.0.2.1:80", false},
		{Filter{Ports: []uint16{443}}, Server, "[::]:443", true},
		{Filter{Prefixes: ten}, Client, "10.1.2.3:80", true},
		{Filter{Prefixes: ten}, Client, "[::ffff:10.1.2.3]:80", true},
		{Filter{Prefixes: ten}, Client, "11.1.2.3:80", false},
		{Filter{Prefixes: ten}, Client, "[2001:db8::1]:80", true},
		{Filter{Prefixes: ten}, Client, "[2001:db8::2]:80", false},
		{Filter{Prefixes: ten}, Server, "0.0.0.0:80", false},
		{Filter{Prefixes: ten, Ports: []uint16{80}}, Client, "10.0.0.1:81", false},
	} {
		if got := c.f.Matches(c.side, ap(c.dst)); got != c.want {
			t.Errorf("%v, %v %s: %v, want %v", c.f, c.side, c.dst, got, c.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "ten", "10.0.0.0/8,", "::1/200"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{"clients", "up"} {
		if _, err := ParseSide(bad); err == nil {
			t.Errorf("ParseSide(%q) succeeded", bad)
		}
	}
}

func TestParseSockaddr(t *testing.T) {
	in4 := []byte{2, 0, 0x1f, 0x90, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	fam, ap, ok := parseSockaddr(in4)
	if !ok || fam != afInet || ap != netip.MustParseAddrPort("10.0.0.1:8080") {
		t.Errorf("sockaddr_in: %d %v %v", fam, ap, ok)
	}
	in6 := make([]byte, 28)
	in6[0], in6[2], in6[3] = 10, 0x01, 0xbb
	copy(in6[8:], netip.MustParseAddr("2001:db8::7").AsSlice())
	fam, ap, ok = parseSockaddr(in6)
	if !ok || fam != afInet6 || ap != netip.MustParseAddrPort("[2001:db8::7]:443") {
		t.Errorf("sockaddr_in6: %d %v %v", fam, ap, ok)
	}
	for _, bad := range [][]byte{nil, {2}, in4[:8], in6[:20], {1, 0, '/', 't'}} {
		if _, _, ok := parseSockaddr(bad); ok {
			t.Errorf("parseSockaddr(%v) ok", bad)
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
