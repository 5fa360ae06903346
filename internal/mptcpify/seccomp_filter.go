package mptcpify

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// The seccomp backend. Where the kernel refuses the BPF hook (it needs
// Linux 6.6 and a kernel that allows fmod_ret programs), "mptcp run" can
// still serve a command it starts: a seccomp filter on the command hands
// its socket(2) calls for TCP to the supervisor, which creates the socket
// as MPTCP and installs it in the caller (SECCOMP_RET_USER_NOTIF with
// SECCOMP_IOCTL_NOTIF_ADDFD). The filter is inherited by every child, and
// works for static binaries as the hook does.

// seccomp_data offsets (linux/seccomp.h); args are 64-bit, and the low
// half comes first on the little-endian machines the backend supports.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // family
	offArg1 = 24 // type, with SOCK_NONBLOCK and SOCK_CLOEXEC
	offArg2 = 32 // protocol
)

// Seccomp return values (linux/seccomp.h).
const (
	seccompRetAllow      = 0x7fff0000
	seccompRetUserNotify = 0x7fc00000
)

// sockTypeMask keeps the socket type and drops its flags.
const sockTypeMask = 0xf

// step is one classic BPF instruction whose jumps name labels.
type step struct {
	label  string
	ins    bpf.Instruction // for conditional jumps, a JumpIf without skips
	jt, jf string          // labels; "" continues with the next instruction
}

// SeccompFilter returns the filter that sends to the supervisor the socket
// calls the BPF program would convert: families in fams, SOCK_STREAM,
// protocol 0 or IPPROTO_TCP, native architecture. arch and sysSocket are
// the audit architecture and the socket system call number.
func SeccompFilter(fams Families, arch, sysSocket uint32) ([]bpf.RawInstruction, error) {
	if fams == 0 {
		fams = All
	}
	jeq := func(v uint32) bpf.Instruction { return bpf.JumpIf{Cond: bpf.JumpEqual, Val: v} }
	steps := []step{
		// Another ABI (a 32-bit program, say) or another call: allow.
		{ins: bpf.LoadAbsolute{Off: offArch, Size: 4}},
		{ins: jeq(arch), jf: "allow"},
		{ins: bpf.LoadAbsolute{Off: offNr, Size: 4}},
		{ins: jeq(sysSocket), jf: "allow"},
		// Family: the selected ones among AF_INET and AF_INET6.
		{ins: bpf.LoadAbsolute{Off: offArg0, Size: 4}},
	}
	if fams&Inet != 0 {
		steps = append(steps, step{ins: jeq(afInet), jt: "type"})
	}
	if fams&Inet6 != 0 {
		steps = append(steps, step{ins: jeq(afInet6), jt: "type"})
	}
	steps = append(steps,
		step{ins: bpf.Jump{}, jt: "allow"},
		// Type: a stream socket, whatever its flags.
		step{label: "type", ins: bpf.LoadAbsolute{Off: offArg1, Size: 4}},
		step{ins: bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: sockTypeMask}},
		step{ins: jeq(sockStream), jf: "allow"},
		// Protocol: 0 or IPPROTO_TCP goes to the supervisor.
		step{ins: bpf.LoadAbsolute{Off: offArg2, Size: 4}},
		step{ins: jeq(0), jt: "notify"},
		step{ins: jeq(ipprotoTCP), jf: "allow"},
		step{label: "notify", ins: bpf.RetConstant{Val: seccompRetUserNotify}},
		step{label: "allow", ins: bpf.RetConstant{Val: seccompRetAllow}},
	)
	return assemble(steps)
}

// assemble resolves the labels of steps into jump offsets.
func assemble(steps []step) ([]bpf.RawInstruction, error) {
	at := map[string]int{}
	for i, s := range steps {
		if s.label != "" {
			at[s.label] = i
		}
	}
	skip := func(from int, label string) (uint32, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := at[label]
		if !ok || to <= from {
			return 0, fmt.Errorf("seccomp filter: bad jump to %q", label)
		}
		return uint32(to - from - 1), nil
	}
	prog := make([]bpf.Instruction, len(steps))
	for i, s := range steps {
		jt, err := skip(i, s.jt)
		if err != nil {
			return nil, err
		}
		jf, err := skip(i, s.jf)
		if err != nil {
			return nil, err
		}
		switch in := s.ins.(type) {
		case bpf.JumpIf:
			in.SkipTrue, in.SkipFalse = uint8(jt), uint8(jf)
			prog[i] = in
		case bpf.Jump:
			in.Skip = jt
			prog[i] = in
		default:
			prog[i] = in
		}
	}
	return bpf.Assemble(prog)
}
