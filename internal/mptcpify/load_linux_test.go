//go:build linux

package mptcpify

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf/asm"
)

// requireRoot skips tests that load BPF programs or create cgroups.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads a BPF program and creates cgroups")
	}
	if err := Preflight(); err != nil {
		t.Skipf("this kernel cannot run the program: %v", err)
	}
}

// TestLoad checks that the verifier takes every shape of the program.
func TestLoad(t *testing.T) {
	requireRoot(t)
	for _, tg := range []Target{
		{CgroupID: 1, Level: 0, Families: All},
		{CgroupID: 12345, Level: 3, Families: Inet},
		{CgroupID: 12345, Level: 1, Families: Inet6},
	} {
		p, err := Load(tg)
		if errors.Is(err, ErrRefused) {
			t.Skipf("cannot test the verifier's verdict: %v", err)
		}
		if err != nil {
			t.Fatalf("Load(%+v): %v", tg, err)
		}
		p.Close()
	}
}

// TestVerify has the verifier check every shape of the program without
// the hook (Verify loads it as tp_btf), where kernels that refuse
// fmod_ret programs still run the verifier; a program reading a fourth
// argument, which the hook does not have, is refused.
func TestVerify(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads BPF programs")
	}
	if err := checkBTF(); err != nil {
		t.Skip(err)
	}
	for _, tg := range []Target{
		{CgroupID: 1, Level: 0, Families: All},
		{CgroupID: 12345, Level: 3, Families: Inet},
		{CgroupID: 12345, Level: 1, Families: Inet6},
	} {
		if err := Verify(tg); err != nil {
			t.Errorf("Verify(%+v): %v", tg, err)
		}
	}
	insns := Instructions(Target{CgroupID: 1})
	for i, in := range insns {
		if in.OpCode.Class().IsLoad() && in.Src == asm.R6 {
			insns[i].Offset = 24 // a fourth argument
			break
		}
	}
	if err := verifyInstructions(insns); err == nil {
		t.Error("the verifier took a program reading a fourth argument")
	}
}
