package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/mptcp-go/mptcp/kpm"
)

const pmLimitsUsage = `Usage:
  mptcp pm limits [show]
  mptcp pm limits set [subflows NR] [add_addr_accepted NR]

The in-kernel path manager's per-connection limits, as "ip mptcp limits"
shows them: how many subflows each connection may add, and how many
addresses announced by the peer it accepts. Subflows the limits forbid are
silently not created by the kernel; "mptcp pm daemon" is not bound by them.

Flags (anywhere on the line):
  --json, -j   print JSON: {"add_addr_accepted":N,"subflows":N}
  --help       print this help
`

func runPMLimits(args []string, stdout, stderr io.Writer) error {
	jsonOut, words, err := leafArgs("limits", pmLimitsUsage, args, stdout, stderr)
	if err != nil {
		return err
	}
	verb := "show"
	if len(words) > 0 {
		verb, words = words[0], words[1:]
	}
	switch verb {
	case "help":
		fmt.Fprint(stdout, pmLimitsUsage)
		return flag.ErrHelp
	case "show", "list", "get":
		if len(words) != 0 {
			return fmt.Errorf("%w: limits show takes no arguments", errUsage)
		}
	case "set":
		if len(words) == 0 {
			return fmt.Errorf("%w: limits set: give subflows NR and/or add_addr_accepted NR", errUsage)
		}
	default:
		return fmt.Errorf("%w: unknown limits command %q (want show or set)", errUsage, verb)
	}
	var u kpm.LimitsUpdate
	for i := 0; i < len(words); i += 2 {
		if i+1 >= len(words) {
			return fmt.Errorf("%w: limits set: %q needs a number", errUsage, words[i])
		}
		n, err := strconv.ParseUint(words[i+1], 10, 32)
		if err != nil {
			return fmt.Errorf("%w: limits set: bad %s %q: want a non-negative number", errUsage, words[i], words[i+1])
		}
		v := uint32(n)
		switch words[i] {
		case "subflows":
			u.Subflows = &v
		case "add_addr_accepted":
			u.AddAddrAccepted = &v
		default:
			return fmt.Errorf("%w: limits set: unknown limit %q (want subflows or add_addr_accepted)", errUsage, words[i])
		}
	}
	c, err := dialPM()
	if err != nil {
		return err
	}
	defer c.Close()
	if verb == "set" {
		return c.SetLimits(u)
	}
	l, err := c.Limits()
	if err != nil {
		return err
	}
	if jsonOut {
		return writeJSON(stdout, map[string]uint32{"add_addr_accepted": l.AddAddrAccepted, "subflows": l.Subflows})
	}
	fmt.Fprintf(stdout, "add_addr_accepted %d subflows %d\n", l.AddAddrAccepted, l.Subflows)
	return nil
}
