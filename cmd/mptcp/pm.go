package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mptcp-go/mptcp/kpm"
)

func init() {
	register(&command{
		name:    "pm",
		summary: "manage the Linux kernel's MPTCP path manager (endpoints, limits, events, daemon)",
		run:     runPM,
	})
}

const pmUsage = `Usage: mptcp pm <command> [arguments] [--json]

Manage the Linux kernel's Multipath TCP path manager through its generic
netlink family (mptcp_pm), in the current network namespace.

Commands:
  endpoint add|del|set|list|flush   in-kernel path manager endpoints ("ip mptcp endpoint")
  limits [set ...]                  in-kernel path manager limits ("ip mptcp limits")
  monitor                           print the kernel's MPTCP events ("ip mptcp monitor")
  daemon                            run a userspace path manager for the kernel

Every command takes --json for machine-readable output and --help.
`

func runPM(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, pmUsage)
		return fmt.Errorf("%w: missing command (endpoint, limits, monitor or daemon)", errUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, pmUsage)
		return flag.ErrHelp
	case "endpoint", "endpoints", "ep":
		return runPMEndpoint(args[1:], stdout, stderr)
	case "limits", "limit":
		return runPMLimits(args[1:], stdout, stderr)
	case "monitor":
		return runPMMonitor(args[1:], stdout, stderr)
	case "daemon":
		return runPMDaemon(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown command %q (want endpoint, limits, monitor or daemon)", errUsage, args[0])
}

// leafArgs parses the flags of a command whose other arguments are
// "ip"-style words (addresses, keywords): flags may stand anywhere. Only
// boolean flags are allowed there, so a word after a flag is never its value.
func leafArgs(name, usage string, args []string, stdout, stderr io.Writer) (jsonOut bool, words []string, err error) {
	fs := newFlagSet("pm "+name, stderr)
	fs.BoolVar(&jsonOut, "json", false, "print JSON")
	fs.BoolVar(&jsonOut, "j", false, "print JSON (short for --json)")
	fs.Usage = func() { fmt.Fprint(stdout, usage) }
	var flags []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
		} else {
			words = append(words, a)
		}
	}
	if err := parseFlags(fs, flags); err != nil {
		return false, nil, err
	}
	return jsonOut, words, nil
}

// dialPM opens the request connection, with errors phrased for a person.
func dialPM() (*kpm.Conn, error) {
	c, err := kpm.Dial(nil)
	if err != nil {
		return nil, pmError(err)
	}
	return c, nil
}

// pmError keeps the two conditions every command must state plainly —
// no privilege, no MPTCP — free of netlink detail.
func pmError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kpm.ErrNotSupported):
		return kpm.ErrNotSupported
	}
	return err
}
