//go:build linux

package mptcpify

import (
	"errors"
	"os"
	"testing"
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
