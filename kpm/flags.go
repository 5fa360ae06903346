package kpm

import (
	"fmt"
	"strings"
)

// Flags are an endpoint's MPTCP_PM_ADDR_FLAG_* bits.
type Flags uint32

// Endpoint flags, with the names "ip mptcp" uses.
const (
	// FlagSignal announces the address to the peer (ADD_ADDR).
	FlagSignal Flags = 1 << 0
	// FlagSubflow creates subflows from the address.
	FlagSubflow Flags = 1 << 1
	// FlagBackup marks subflows on the address as backup (MP_PRIO).
	FlagBackup Flags = 1 << 2
	// FlagFullmesh creates a subflow from the address to every peer address.
	FlagFullmesh Flags = 1 << 3
	// FlagImplicit marks an endpoint the kernel created by itself for an
	// address in use by a subflow; it cannot be set by a request.
	FlagImplicit Flags = 1 << 4
	// FlagLaminar creates subflows to addresses the peer announces, using
	// the endpoint as source (Linux 6.18).
	FlagLaminar Flags = 1 << 5
)

var flagNames = []struct {
	flag Flags
	name string
}{
	{FlagSignal, "signal"},
	{FlagSubflow, "subflow"},
	{FlagBackup, "backup"},
	{FlagFullmesh, "fullmesh"},
	{FlagImplicit, "implicit"},
	{FlagLaminar, "laminar"},
}

// Names returns the names of the set flags in the kernel's bit order, and
// "rawflags XX" (hexadecimal) for bits this package does not know.
func (f Flags) Names() []string {
	var names []string
	for _, fn := range flagNames {
		if f&fn.flag != 0 {
			names = append(names, fn.name)
			f &^= fn.flag
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("rawflags %02x", uint32(f)))
	}
	return names
}

// String returns the flag names separated by spaces, as "ip mptcp" prints them.
func (f Flags) String() string { return strings.Join(f.Names(), " ") }

// ParseFlag returns the flag with the given name.
func ParseFlag(name string) (Flags, error) {
	for _, fn := range flagNames {
		if fn.name == name {
			return fn.flag, nil
		}
	}
	return 0, fmt.Errorf("unknown endpoint flag %q (want signal, subflow, backup, fullmesh, implicit or laminar)", name)
}
