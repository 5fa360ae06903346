//go:build linux

package mptcpify

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// Check is the outcome of one condition "mptcp run" depends on.
type Check struct {
	Name   string
	Err    error  // nil when the condition holds
	Detail string // what was found
	// Advisory checks inform: their failure alone does not stop the hook.
	Advisory bool
}

// Checks tests, in order, everything the program needs: cgroup v2, BTF,
// the hook, MPTCP in this network namespace, privileges, that the
// verifier takes the program's instructions (Verify), and finally that
// the kernel loads it for the hook. A check is skipped (Err ErrSkipped)
// when one it depends on failed.
func Checks() []Check {
	var out []Check
	add := func(name string, detail string, err error) {
		out = append(out, Check{Name: name, Err: err, Detail: detail})
	}
	root, err := Cgroup2Root()
	add("cgroup v2", root, err)
	btfErr := checkBTF()
	add("BTF", "/sys/kernel/btf/vmlinux", btfErr)
	if btfErr != nil {
		add("hook", HookFunc, ErrSkipped)
	} else {
		add("hook", HookFunc+" (fmod_ret)", checkHook())
	}
	add("MPTCP", "net.mptcp.enabled=1", checkMPTCP())
	caps, capErr := checkCaps()
	add("privileges", caps, capErr)
	ready := true
	for _, c := range out {
		ready = ready && c.Err == nil
	}
	// The verifier's verdict does not need the hook, and does not gate it.
	if btfErr != nil || capErr != nil {
		add("verifier", "", ErrSkipped)
	} else {
		add("verifier", "the program passes (loaded as tp_btf on "+VerifyHook+", not attached)", Verify(Target{CgroupID: 1, Level: 1, Families: All}))
	}
	out[len(out)-1].Advisory = true
	if !ready {
		add("program", HookFunc, ErrSkipped)
		return out
	}
	p, err := Load(Target{CgroupID: 1, Families: All})
	if err == nil {
		p.Close()
	}
	add("program", "loads for the hook", err)
	return out
}

// CheckSeccomp tells whether the seccomp backend can work: the kernel
// offers user notification, which "mptcp run" uses with ADDFD (5.14+).
func CheckSeccomp() error {
	if _, err := auditArch(); err != nil {
		return err
	}
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil || !strings.Contains(string(b), "user_notif") {
		return ErrNoSeccompNotify
	}
	return nil
}

// ErrSkipped marks a check not made because an earlier one failed.
var ErrSkipped = errors.New("not checked")

// Preflight returns the first failing check's error, without loading the
// program: the cheap answer to "can this work here".
func Preflight() error {
	if _, err := Cgroup2Root(); err != nil {
		return err
	}
	if err := checkBTF(); err != nil {
		return err
	}
	if err := checkHook(); err != nil {
		return err
	}
	if err := checkMPTCP(); err != nil {
		return err
	}
	_, err := checkCaps()
	return err
}

func checkBTF() error {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return ErrNoBTF
	}
	return nil
}

// checkHook looks the hook up in the kernel's BTF.
func checkHook() error {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return fmt.Errorf("read the kernel's BTF: %w", err)
	}
	var fn *btf.Func
	if err := spec.TypeByName(HookFunc, &fn); err != nil {
		return ErrNoHook
	}
	return nil
}

func checkMPTCP() error {
	b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
	if err != nil {
		return ErrNoMPTCP
	}
	if strings.TrimSpace(string(b)) != "1" {
		return ErrMPTCPDisabled
	}
	return nil
}

// Capability numbers (linux/capability.h).
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// checkCaps reads the process's effective capabilities.
func checkCaps() (string, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return "", fmt.Errorf("read capabilities: %w", err)
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	var names []string
	for _, c := range []struct {
		n    uint
		name string
	}{{capSysAdmin, "CAP_SYS_ADMIN"}, {capBPF, "CAP_BPF"}, {capPerfmon, "CAP_PERFMON"}} {
		if has(c.n) {
			names = append(names, c.name)
		}
	}
	detail := strings.Join(names, " ")
	if !has(capSysAdmin) && !(has(capBPF) && has(capPerfmon)) {
		return detail, ErrPrivilege
	}
	return detail, nil
}
