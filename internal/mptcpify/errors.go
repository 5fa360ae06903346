package mptcpify

import "errors"

// Errors naming why the kernel cannot run the program; each is one line a
// person can act on. Check reports which of them hold.
var (
	ErrNoBTF           = errors.New("the kernel has no BTF (/sys/kernel/btf/vmlinux is missing; it needs CONFIG_DEBUG_INFO_BTF)")
	ErrNoHook          = errors.New("the kernel has no " + HookFunc + " hook (Linux 6.6 or later is needed)")
	ErrNoMPTCP         = errors.New("the kernel has no MPTCP (/proc/sys/net/mptcp is missing; it needs CONFIG_MPTCP)")
	ErrMPTCPDisabled   = errors.New("MPTCP is disabled in this network namespace (sysctl net.mptcp.enabled=0)")
	ErrPrivilege       = errors.New("not privileged enough: loading the program needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN (run as root)")
	ErrRefused         = errors.New("the kernel refuses fmod_ret programs although the caller is privileged (a lockdown or sandbox policy)")
	ErrNoSeccompNotify = errors.New("the kernel has no seccomp user notification (Linux 5.14 or later with CONFIG_SECCOMP_FILTER is needed)")
	ErrNotLinux        = errors.New("mptcp run needs Linux (a BPF program on the kernel's " + HookFunc + " hook)")
)
