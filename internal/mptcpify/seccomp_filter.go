package mptcpify

import (
	"fmt"
	"slices"
	"strings"

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
	offArg2 = 32 // socket: protocol; connect: the address's length
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

// Hooks are the system calls the seccomp filter hands to the supervisor.
type Hooks uint8

// The hooks: socket(2) converts at creation (a family filter only);
// connect(2) and listen(2) convert an unconnected TCP socket when the
// filter knows its destination or its side.
const (
	HookSocket Hooks = 1 << iota
	HookConnect
	HookListen
)

type hookName struct {
	h    Hooks
	name string
}

var hookNames = []hookName{{HookSocket, "socket"}, {HookConnect, "connect"}, {HookListen, "listen"}}

// String returns the hooks' names, comma-separated.
func (h Hooks) String() string {
	var names []string
	for _, n := range hookNames {
		if h&n.h != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// ParseHooks reads String's form.
func ParseHooks(s string) (Hooks, error) {
	var h Hooks
	for _, f := range strings.Split(s, ",") {
		i := slices.IndexFunc(hookNames, func(n hookName) bool { return n.name == f })
		if i < 0 {
			return 0, fmt.Errorf("unknown seccomp hook %q", f)
		}
		h |= hookNames[i].h
	}
	return h, nil
}

// Hooks returns the system calls the seccomp backend must see for f:
// socket(2) when the family is all it filters on, else connect(2) for
// the client side and listen(2) for the server side.
func (f Filter) Hooks() Hooks {
	if !f.Deferred() {
		return HookSocket
	}
	var h Hooks
	if f.side()&Client != 0 {
		h |= HookConnect
	}
	if f.side()&Server != 0 {
		h |= HookListen
	}
	return h
}

// Syscalls are the numbers of the system calls the filter tests, for the
// architecture it is built for.
type Syscalls struct{ Socket, Connect, Listen uint32 }

// Lengths of the socket addresses connect(2) is handed for the families
// that matter: sockaddr_in is the shortest, sockaddr_storage the longest.
const (
	sockaddrMin = 16
	sockaddrMax = 128
)

// SeccompFilter returns the filter that sends to the supervisor, for the
// native architecture arch only:
//   - with HookSocket, the socket calls the BPF program would convert:
//     families in fams, SOCK_STREAM, protocol 0 or IPPROTO_TCP;
//   - with HookConnect, connect calls whose address length is that of an
//     IPv4 or IPv6 address (16 to 128 bytes: the supervisor reads the
//     address and the socket to decide);
//   - with HookListen, every listen call.
//
// Every other call goes through untouched.
func SeccompFilter(fams Families, h Hooks, arch uint32, nr Syscalls) ([]bpf.RawInstruction, error) {
	if fams == 0 {
		fams = All
	}
	jeq := func(v uint32) bpf.Instruction { return bpf.JumpIf{Cond: bpf.JumpEqual, Val: v} }
	steps := []step{
		// Another ABI (a 32-bit program, say): allow.
		{ins: bpf.LoadAbsolute{Off: offArch, Size: 4}},
		{ins: jeq(arch), jf: "allow"},
		{ins: bpf.LoadAbsolute{Off: offNr, Size: 4}},
	}
	if h&HookSocket != 0 {
		steps = append(steps, step{ins: jeq(nr.Socket), jt: "socket"})
	}
	if h&HookConnect != 0 {
		steps = append(steps, step{ins: jeq(nr.Connect), jt: "connect"})
	}
	if h&HookListen != 0 {
		steps = append(steps, step{ins: jeq(nr.Listen), jt: "notify"})
	}
	// Any other call: allow.
	steps = append(steps, step{ins: bpf.Jump{}, jt: "allow"})
	if h&HookSocket != 0 {
		steps = append(steps, socketSteps(fams)...)
	}
	if h&HookConnect != 0 {
		steps = append(steps,
			// connect(fd, addr, addrlen): an inet address's length.
			step{label: "connect", ins: bpf.LoadAbsolute{Off: offArg2, Size: 4}},
			step{ins: bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: sockaddrMin}, jf: "allow"},
			step{ins: bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: sockaddrMax}, jt: "allow", jf: "notify"},
		)
	}
	steps = append(steps,
		step{label: "notify", ins: bpf.RetConstant{Val: seccompRetUserNotify}},
		step{label: "allow", ins: bpf.RetConstant{Val: seccompRetAllow}},
	)
	return assemble(steps)
}

// socketSteps test a socket call: a selected family, a stream socket,
// protocol 0 or IPPROTO_TCP.
func socketSteps(fams Families) []step {
	jeq := func(v uint32) bpf.Instruction { return bpf.JumpIf{Cond: bpf.JumpEqual, Val: v} }
	steps := []step{{label: "socket", ins: bpf.LoadAbsolute{Off: offArg0, Size: 4}}}
	if fams&Inet != 0 {
		steps = append(steps, step{ins: jeq(afInet), jt: "type"})
	}
	if fams&Inet6 != 0 {
		steps = append(steps, step{ins: jeq(afInet6), jt: "type"})
	}
	return append(steps,
		step{ins: bpf.Jump{}, jt: "allow"},
		// Type: a stream socket, whatever its flags.
		step{label: "type", ins: bpf.LoadAbsolute{Off: offArg1, Size: 4}},
		step{ins: bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: sockTypeMask}},
		step{ins: jeq(sockStream), jf: "allow"},
		// Protocol: 0 or IPPROTO_TCP goes to the supervisor.
		step{ins: bpf.LoadAbsolute{Off: offArg2, Size: 4}},
		step{ins: jeq(0), jt: "notify"},
		step{ins: jeq(ipprotoTCP), jt: "notify", jf: "allow"},
	)
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
