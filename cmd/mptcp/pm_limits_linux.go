//go:build linux

package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/mptcp-go/mptcp/kpm"
)

func limitsShowFlags(fs *flag.FlagSet) Action {
	jsonOut := jsonFlag(fs, "print JSON: {\"add_addr_accepted\":N,\"subflows\":N}")
	return func(inv *Invocation) error {
		if len(inv.Args) != 0 {
			return usagef("limits show takes no arguments")
		}
		c, err := dialPM()
		if err != nil {
			return err
		}
		defer c.Close()
		l, err := c.Limits()
		if err != nil {
			return err
		}
		if *jsonOut {
			return writeJSON(inv.Stdout, map[string]uint32{"add_addr_accepted": l.AddAddrAccepted, "subflows": l.Subflows})
		}
		fmt.Fprintf(inv.Stdout, "add_addr_accepted %d subflows %d\n", l.AddAddrAccepted, l.Subflows)
		return nil
	}
}

func limitsSetFlags(*flag.FlagSet) Action {
	return func(inv *Invocation) error {
		u, err := parseLimits(inv.Args)
		if err != nil {
			return err
		}
		c, err := dialPM()
		if err != nil {
			return err
		}
		defer c.Close()
		return c.SetLimits(u)
	}
}

// parseLimits reads "subflows NR add_addr_accepted NR" (either or both).
func parseLimits(words []string) (kpm.LimitsUpdate, error) {
	var u kpm.LimitsUpdate
	if len(words) == 0 {
		return u, usagef("limits set: give subflows NR and/or add_addr_accepted NR")
	}
	for i := 0; i < len(words); i += 2 {
		if i+1 >= len(words) {
			return u, usagef("limits set: %q needs a number", words[i])
		}
		n, err := strconv.ParseUint(words[i+1], 10, 32)
		if err != nil {
			return u, usagef("limits set: bad %s %q: want a non-negative number", words[i], words[i+1])
		}
		v := uint32(n)
		switch words[i] {
		case "subflows":
			u.Subflows = &v
		case "add_addr_accepted":
			u.AddAddrAccepted = &v
		default:
			return u, usagef("limits set: unknown limit %q (want subflows or add_addr_accepted)", words[i])
		}
	}
	return u, nil
}
