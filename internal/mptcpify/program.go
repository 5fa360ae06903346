package mptcpify

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
)

// Socket constants the program compares against (linux/socket.h, linux/in.h).
const (
	afInet       = 2
	afInet6      = 10
	sockStream   = 1
	ipprotoTCP   = 6
	ipprotoMPTCP = 262
)

// HookFunc is the kernel function the program modifies the return value of:
// int update_socket_protocol(int family, int type, int protocol), called by
// socket(2) with type already stripped of SOCK_NONBLOCK and SOCK_CLOEXEC.
const HookFunc = "update_socket_protocol"

// DefaultPinDir is where pinned attachments live, one file per cgroup id.
const DefaultPinDir = "/sys/fs/bpf/mptcp-run"

// ProgramName is the name the program is loaded under (bpftool shows it).
const ProgramName = "mptcp_run"

// Families selects the address families whose sockets become MPTCP.
type Families uint8

// The families; All is both.
const (
	Inet  Families = 1 << iota // AF_INET
	Inet6                      // AF_INET6
	All   = Inet | Inet6
)

// String returns "inet", "inet6" or "inet,inet6".
func (f Families) String() string {
	switch f {
	case Inet:
		return "inet"
	case Inet6:
		return "inet6"
	case All:
		return "inet,inet6"
	}
	return fmt.Sprintf("Families(%d)", uint8(f))
}

// ParseFamilies reads "inet", "inet6", "4", "6" or "all" (and String's
// forms).
func ParseFamilies(s string) (Families, error) {
	switch s {
	case "inet", "ipv4", "4":
		return Inet, nil
	case "inet6", "ipv6", "6":
		return Inet6, nil
	case "all", "any", "", "inet,inet6":
		return All, nil
	}
	return 0, fmt.Errorf("unknown address family %q (want inet, inet6 or all)", s)
}

// Target is what one program instance converts: the sockets of the given
// families created by tasks in a cgroup or below it.
type Target struct {
	// CgroupID is the cgroup v2 id (the inode number of its directory).
	CgroupID uint64
	// Level is the cgroup's depth below the hierarchy's root (the root is
	// 0); with it the program also matches tasks in descendant cgroups.
	Level int
	// Families selects the address families; zero means All.
	Families Families
}

// Labels of the program's branches.
const (
	lblFamilyOK = "family_ok"
	lblProtoOK  = "proto_ok"
	lblConvert  = "convert"
	lblPass     = "pass"
)

// Instructions returns the program for t. The hook's arguments reach an
// fmod_ret program as an array of 64-bit slots (family, type, protocol),
// pointed to by R1. It returns IPPROTO_MPTCP to change the protocol, and 0
// to leave it alone: a non-zero return ends the chain of fmod_ret programs
// on the hook, so answering "protocol unchanged" with the protocol itself
// would hide the sockets from other programs attached after this one.
func Instructions(t Target) asm.Instructions {
	fams := t.Families
	if fams == 0 {
		fams = All
	}
	insns := asm.Instructions{
		// Keep the argument array: helper calls clobber R1-R5.
		asm.Mov.Reg(asm.R6, asm.R1),
	}

	// Family: only the selected ones among AF_INET and AF_INET6.
	insns = append(insns, asm.LoadMem(asm.R2, asm.R6, 0, asm.DWord))
	if fams&Inet != 0 {
		insns = append(insns, asm.JEq.Imm32(asm.R2, afInet, lblFamilyOK))
	}
	if fams&Inet6 != 0 {
		insns = append(insns, asm.JEq.Imm32(asm.R2, afInet6, lblFamilyOK))
	}
	insns = append(insns,
		asm.Ja.Label(lblPass),

		// Type: a stream socket.
		asm.LoadMem(asm.R2, asm.R6, 8, asm.DWord).WithSymbol(lblFamilyOK),
		asm.JNE.Imm32(asm.R2, sockStream, lblPass),

		// Protocol: 0 (the family's default, TCP) or IPPROTO_TCP.
		asm.LoadMem(asm.R2, asm.R6, 16, asm.DWord),
		asm.JEq.Imm32(asm.R2, 0, lblProtoOK),
		asm.JNE.Imm32(asm.R2, ipprotoTCP, lblPass),

		// Cgroup: the calling task's own cgroup is the target...
		asm.FnGetCurrentCgroupId.Call().WithSymbol(lblProtoOK),
		asm.LoadImm(asm.R1, int64(t.CgroupID), asm.DWord),
		asm.JEq.Reg(asm.R0, asm.R1, lblConvert),
	)
	if t.Level > 0 {
		insns = append(insns,
			// ... or lies below it: its ancestor at the target's depth is the target.
			asm.Mov.Imm(asm.R1, int32(t.Level)),
			asm.FnGetCurrentAncestorCgroupId.Call(),
			asm.LoadImm(asm.R1, int64(t.CgroupID), asm.DWord),
			asm.JEq.Reg(asm.R0, asm.R1, lblConvert),
		)
	}
	return append(insns,
		// Not ours: leave the protocol to the next program or the kernel.
		asm.Mov.Imm(asm.R0, 0).WithSymbol(lblPass),
		asm.Return(),

		// Ours: make it MPTCP.
		asm.Mov.Imm(asm.R0, ipprotoMPTCP).WithSymbol(lblConvert),
		asm.Return(),
	)
}
