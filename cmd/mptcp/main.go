// Command mptcp is the mptcp-go tool box: one binary whose subcommands run the
// simulator, probe hosts and paths, and manage the kernel's MPTCP.
//
// Each subcommand lives in its own file and registers itself from init, so a
// new one is added without touching this file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand of the tool.
type command struct {
	name    string
	summary string // one line, shown by "mptcp --help"
	// run executes the subcommand with the arguments that follow its name.
	// It returns errUsage (possibly wrapped) when the arguments are wrong,
	// so that main can exit with status 2.
	run func(args []string, stdout, stderr io.Writer) error
}

// errUsage marks an error caused by how the command was invoked.
var errUsage = errors.New("usage")

var commands = map[string]*command{}

// register adds a subcommand; it is called from init functions.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("mptcp: subcommand registered twice: " + c.name)
	}
	commands[c.name] = c
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "mptcp: Multipath TCP (RFC 8684) in Go: simulator, tools and kernel helpers.\n\n")
	fmt.Fprintf(w, "Usage:\n  mptcp <command> [flags] [arguments]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun \"mptcp <command> --help\" for a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and maps its result to an exit status:
// 0 on success, 2 on a usage error, 1 on any other failure.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "mptcp: unknown command %q (run \"mptcp --help\" for the list)\n", args[0])
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	var status exitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &status):
		return int(status)
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "mptcp %s: %v\n", c.name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "mptcp %s: %v\n", c.name, err)
		return 1
	}
}

// newFlagSet returns a flag set for a subcommand whose parse errors are
// reported once, by run, as usage errors.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mptcp "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args into fs, turning a parse failure into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// parseInterspersed is parseFlags for commands whose flags may follow
// their arguments ("mptcp sim aggregate --json"), as users type them. It
// returns the arguments; everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" (consumed) or at the first argument.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
