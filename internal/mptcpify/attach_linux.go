//go:build linux

package mptcpify

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Load loads the program for t into the kernel; the verifier checks it
// against the hook's signature. The caller closes the program.
func Load(t Target) (*ebpf.Program, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         ProgramName,
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachModifyReturn,
		AttachTo:     HookFunc,
		Instructions: Instructions(t),
		License:      "GPL", // the cgroup helpers are GPL-only
	})
	if err != nil {
		return nil, explain("load the BPF program", err)
	}
	return prog, nil
}

// VerifyHook is a raw tracepoint whose three arguments are ints, as the
// hook's are: Verify loads the program there.
const VerifyHook = "mm_vmscan_kswapd_wake"

// Verify has the kernel's verifier check the program for t without the
// hook: its instructions are loaded as a tp_btf program on VerifyHook
// (never attached), which reads its arguments from the same array of
// 64-bit slots and may call the same cgroup helpers. It checks every
// instruction, argument access, helper call and path to an exit; what it
// cannot check is what is particular to fmod_ret (that the hook allows
// it, which only the real load shows). Kernels that refuse fmod_ret
// programs by policy (lockdown) often still take tp_btf ones.
func Verify(t Target) error { return verifyInstructions(Instructions(t)) }

func verifyInstructions(insns asm.Instructions) error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         ProgramName,
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceRawTp,
		AttachTo:     VerifyHook,
		Instructions: insns,
		License:      "GPL",
	})
	if err != nil {
		return fmt.Errorf("the verifier refuses the program (as tp_btf on %s): %w", VerifyHook, err)
	}
	return prog.Close()
}

// Attachment is the program attached to the hook for one target.
type Attachment struct {
	Target Target
	link   link.Link
}

// Attach loads the program for t and attaches it. Until Close (or Unpin of
// a pinned link), sockets the target's tasks create become MPTCP.
func Attach(t Target) (*Attachment, error) {
	prog, err := Load(t)
	if err != nil {
		return nil, err
	}
	// The link holds its own reference to the program.
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachModifyReturn})
	if err != nil {
		return nil, explain("attach to "+HookFunc, err)
	}
	return &Attachment{Target: t, link: l}, nil
}

// Close detaches the program, unless the link is pinned.
func (a *Attachment) Close() error { return a.link.Close() }

// explain turns a kernel refusal into one of the package's errors where
// the cause is known, keeping the kernel's words otherwise.
func explain(op string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		if _, capErr := checkCaps(); capErr != nil {
			return capErr
		}
		return ErrRefused
	case errors.Is(err, ebpf.ErrNotSupported):
		return fmt.Errorf("%s: %w (%v)", op, ErrNoHook, err)
	}
	if _, statErr := os.Stat("/sys/kernel/btf/vmlinux"); statErr != nil {
		return ErrNoBTF
	}
	return fmt.Errorf("%s: %w", op, err)
}

// pinName is the file name of the pinned link for a cgroup.
func pinName(cgroupID uint64) string { return "cgroup-" + strconv.FormatUint(cgroupID, 10) }

// Pin makes the attachment outlive the process: the link is pinned in dir
// (on a BPF file system, mounted by EnsureBPFFS) under the cgroup's id.
func (a *Attachment) Pin(dir string) (string, error) {
	if err := EnsureBPFFS(dir); err != nil {
		return "", err
	}
	path := filepath.Join(dir, pinName(a.Target.CgroupID))
	if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("cgroup %d already has a pinned attachment (%s); detach it first", a.Target.CgroupID, path)
	}
	if err := a.link.Pin(path); err != nil {
		return "", fmt.Errorf("pin the link: %w", err)
	}
	return path, nil
}

// Detach removes the pinned attachment of a cgroup: the program stops
// converting that cgroup's new sockets (existing sockets stay MPTCP).
func Detach(dir string, cgroupID uint64) error {
	path := filepath.Join(dir, pinName(cgroupID))
	l, err := link.LoadPinnedLink(path, nil)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cgroup %d has no pinned attachment in %s", cgroupID, dir)
	}
	if err != nil {
		return fmt.Errorf("open pinned link %s: %w", path, err)
	}
	defer l.Close()
	if err := l.Unpin(); err != nil {
		return fmt.Errorf("unpin %s: %w", path, err)
	}
	return nil
}

// Pinned is one pinned attachment.
type Pinned struct {
	CgroupID uint64
	Path     string // the cgroup's path, "" if it no longer exists
	Pin      string // the pinned link's file
}

// List returns the pinned attachments in dir, by cgroup id.
func List(dir string) ([]Pinned, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Pinned
	for _, e := range ents {
		idStr, ok := strings.CutPrefix(e.Name(), "cgroup-")
		id, err := strconv.ParseUint(idStr, 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, Pinned{CgroupID: id, Path: PathOfID(id), Pin: filepath.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CgroupID < out[j].CgroupID })
	return out, nil
}

// EnsureBPFFS makes dir a directory on a BPF file system: if its parent is
// not one, a BPF file system is mounted on the parent, as systemd does at
// /sys/fs/bpf on boot.
func EnsureBPFFS(dir string) error {
	parent := filepath.Dir(dir)
	if !isBPFFS(parent) {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("bpffs: %w", err)
		}
		if err := unix.Mount("bpf", parent, "bpf", 0, "mode=0700"); err != nil {
			return fmt.Errorf("mount a BPF file system on %s: %w", parent, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("bpffs: %w", err)
	}
	return nil
}

func isBPFFS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}
