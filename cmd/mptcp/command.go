package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
)

// Command is one node of the command tree: a command that runs (Run set),
// a group of subcommands, or both (a group with a Default). The tree
// parses flags, prints help, reports errors and maps them to exit
// statuses; a command only defines its flags and does its work.
type Command struct {
	// Name is the word that selects the command ("sim", "endpoint").
	Name string
	// Aliases are other words that select it ("ep" for "endpoint").
	Aliases []string
	// Usage is the argument synopsis after the command's path, as in
	// "[flags] [SCENARIO]"; groups may leave it empty.
	Usage string
	// Short is one line for the parent's list of commands.
	Short string
	// Long is the help text, printed after the usage line; the tree
	// appends the flags (or the subcommands) itself.
	Long string
	// Run defines the command's flags on fs and returns the action that
	// runs once they are parsed. It is called for help too, so it must do
	// nothing but define flags. Nil for a group without a Default.
	Run func(fs *flag.FlagSet) Action
	// Default names the subcommand a group runs when none is given
	// ("mptcp pm endpoint" lists, as "mptcp pm endpoint list").
	Default string
	// StopAtArgs ends the flags at the first argument, for a command
	// whose arguments are another command line ("mptcp run curl -v URL").
	StopAtArgs bool
	// LinuxOnly commands say so and exit 1 on other systems; their Run
	// is set from a file built only on Linux.
	LinuxOnly bool

	parent *Command
	subs   []*Command
}

// Action runs a command once its flags are parsed.
type Action func(inv *Invocation) error

// Invocation is one run of a command: its arguments (flags removed), its
// output streams and its context.
type Invocation struct {
	// Args are the arguments that are not flags, in order.
	Args   []string
	Stdout io.Writer
	Stderr io.Writer

	cmd  *Command
	root context.Context
	once sync.Once
	ctx  context.Context
	stop context.CancelFunc
}

// Context returns the root context, cancelled by SIGINT or SIGTERM so that
// a command stopped with Ctrl-C closes its devices, sockets and namespaces.
// Signals are caught only once a command asks for the context: a command
// that never does (a simulation, one netlink request) simply dies on Ctrl-C.
func (inv *Invocation) Context() context.Context {
	inv.once.Do(func() {
		inv.ctx, inv.stop = signal.NotifyContext(inv.root, os.Interrupt, syscall.SIGTERM)
	})
	return inv.ctx
}

// Path is the command's full name, "mptcp pm endpoint add".
func (inv *Invocation) Path() string { return inv.cmd.Path() }

// Add makes subs subcommands of c; it is called from init functions, so a
// new command is one file with one Add call.
func (c *Command) Add(subs ...*Command) {
	for _, s := range subs {
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			if c.lookup(n) != nil {
				panic("mptcp: command " + c.Path() + " " + n + " registered twice")
			}
		}
		s.parent = c
		c.subs = append(c.subs, s)
	}
	sort.Slice(c.subs, func(i, j int) bool { return c.subs[i].Name < c.subs[j].Name })
}

// Path is the command's full name.
func (c *Command) Path() string {
	if c.parent == nil {
		return c.Name
	}
	return c.parent.Path() + " " + c.Name
}

// Lookup finds a subcommand by name or alias.
func (c *Command) lookup(name string) *Command {
	for _, s := range c.subs {
		if s.Name == name {
			return s
		}
		for _, a := range s.Aliases {
			if a == name {
				return s
			}
		}
	}
	return nil
}

// Find follows words down the tree as far as they name subcommands and
// returns the command reached and the words left over.
func (c *Command) Find(words []string) (*Command, []string) {
	for len(words) > 0 {
		s := c.lookup(words[0])
		if s == nil {
			break
		}
		c, words = s, words[1:]
	}
	return c, words
}

// usageError is an error in how a command was invoked: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string        { return e.err.Error() }
func (e *usageError) Unwrap() error        { return e.err }
func (e *usageError) Is(target error) bool { return target == errUsage }

// errUsage matches every usage error (errors.Is).
var errUsage = errors.New("usage error")

// usagef returns a usage error: the message is printed as given, in one
// line, and the command exits with status 2.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// hostOS is the system the tool runs on, a variable so that a test on Linux
// can check what Linux-only commands say elsewhere.
var hostOS = runtime.GOOS

// errOnlyLinux is what a Linux-only command says elsewhere.
var errOnlyLinux = errors.New("runs only on Linux (it needs the kernel's MPTCP, netlink, network namespaces or TUN devices)")

// execute runs the command the words name and returns the exit status: 0
// on success or help, 2 on a usage error, 1 on any other failure. Every
// error is printed once, in one line, prefixed with the command's path.
func execute(ctx context.Context, root *Command, words []string, stdout, stderr io.Writer) int {
	c, action, pos, status := resolve(root, words, stdout, stderr)
	if action == nil {
		return status
	}
	inv := &Invocation{Args: pos, Stdout: stdout, Stderr: stderr, cmd: c, root: ctx}
	err := action(inv)
	if inv.stop != nil {
		inv.stop()
	}
	var st exitStatus
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &st):
		return int(st) // the command reported already (a program's own status)
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "%s: %v\n", c.Path(), err)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", c.Path(), err)
		return 1
	}
}

// resolve finds the command the words name and parses its flags: all of
// execute but running the action. It returns the action and its arguments,
// or a nil action and the exit status when it has already answered (help,
// a usage error, a Linux-only command elsewhere). The documentation test
// calls it to check the command lines the docs show without running them.
func resolve(root *Command, words []string, stdout, stderr io.Writer) (*Command, Action, []string, int) {
	c, args := root.Find(words)
	if len(args) > 0 && args[0] == "help" && c.Run == nil && len(c.subs) > 0 {
		// "mptcp help pm endpoint", "mptcp pm help endpoint"
		h, rest := c.Find(args[1:])
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "%s: no command %q; run \"%s --help\" for the list\n", h.Path(), rest[0], h.Path())
			return c, nil, nil, 2
		}
		h.printHelp(stdout)
		return c, nil, nil, 0
	}
	if c.Run == nil && c.Default != "" && (len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelpFlag(args[0])) {
		c = c.lookup(c.Default)
	}
	if c.LinuxOnly && hostOS != "linux" && !(len(args) == 1 && isHelpFlag(args[0])) {
		fmt.Fprintf(stderr, "%s: %v\n", c.Path(), errOnlyLinux)
		return c, nil, nil, 1
	}
	if c.Run == nil {
		return c, nil, nil, c.runGroup(args, stdout, stderr)
	}
	fs := flag.NewFlagSet(c.Path(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	action := c.Run(fs)
	var pos []string
	var err error
	if c.StopAtArgs {
		err = fs.Parse(args)
		pos = fs.Args()
	} else {
		pos, err = parseInterspersed(fs, args)
	}
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(stdout)
		return c, nil, nil, 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s; run \"%s --help\" for usage\n", c.Path(), flagError(err), c.Path())
		return c, nil, nil, 2
	}
	return c, action, pos, 0
}

// runGroup handles a group invoked without a subcommand it knows.
func (c *Command) runGroup(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		c.printHelp(stdout)
		return 0
	case c.parent == nil && len(args) > 0 && (args[0] == "--version" || args[0] == "-version"):
		fmt.Fprintln(stdout, versionLine())
		return 0
	case c.parent == nil && len(args) == 0:
		c.printHelp(stderr)
		return 2
	case len(args) == 0:
		fmt.Fprintf(stderr, "%s: missing command (%s); run \"%s --help\"\n", c.Path(), c.subNames(), c.Path())
		return 2
	case strings.HasPrefix(args[0], "-"):
		fmt.Fprintf(stderr, "%s: flag %s before the command (%s); run \"%s --help\"\n", c.Path(), args[0], c.subNames(), c.Path())
		return 2
	}
	fmt.Fprintf(stderr, "%s: unknown command %q (want %s); run \"%s --help\"\n", c.Path(), args[0], c.subNames(), c.Path())
	return 2
}

func isHelpFlag(s string) bool {
	switch s {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

func (c *Command) subNames() string {
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.Name
	}
	return joinWords(names, "or")
}

// intervalZero is what --interval 0 means in every command that reports
// per interval (sim, perf, emu): one meaning, said the same way in each
// command's help.
const intervalZero = "0: no per-interval lines, only the summary"

// joinWords lists words as a sentence does: "a", "a and b", "a, b and c"
// (conj "and" or "or").
func joinWords(words []string, conj string) string {
	if len(words) > 1 {
		return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
	}
	return strings.Join(words, "")
}

// flagName matches the flag package's "-name" in its error messages.
var flagName = regexp.MustCompile(`(^|[ :])-([A-Za-z0-9][-A-Za-z0-9]+)\b`)

// flagError rewords the flag package's error in this tool's convention:
// long flags are written --name.
func flagError(err error) string {
	return flagName.ReplaceAllString(err.Error(), "$1--$2")
}

// printHelp prints the command's help: usage line, text, and its flags or
// subcommands.
func (c *Command) printHelp(w io.Writer) {
	usage := c.Usage
	if usage == "" && len(c.subs) > 0 {
		usage = "<command> [arguments]"
	}
	fmt.Fprintf(w, "Usage: %s %s\n", c.Path(), usage)
	if c.Long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.Long, "\n"))
	} else if c.Short != "" {
		fmt.Fprintf(w, "\n%s.\n", strings.ToUpper(c.Short[:1])+c.Short[1:])
	}
	if len(c.subs) > 0 {
		fmt.Fprintf(w, "\nCommands:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		for _, s := range c.subs {
			fmt.Fprintf(tw, "  %s\t%s\n", s.Name, s.Short)
		}
		tw.Flush()
		if c.Default != "" {
			fmt.Fprintf(w, "\nWithout a command, %q runs \"%s %s\".\n", c.Path(), c.Path(), c.Default)
		}
		fmt.Fprintf(w, "\nRun \"%s <command> --help\" for a command's help.\n", c.Path())
	}
	if c.Run != nil {
		fs := flag.NewFlagSet(c.Path(), flag.ContinueOnError)
		c.Run(fs)
		printFlags(w, fs)
	}
	if c.LinuxOnly && hostOS != "linux" {
		fmt.Fprintf(w, "\nThis command %v.\n", errOnlyLinux)
	}
}

// printFlags lists the flags in this tool's convention: "--name arg",
// with a one-letter synonym beside its long name ("-t, --time seconds").
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type entry struct {
		names []string
		fl    *flag.Flag
	}
	var entries []*entry
	byValue := map[flag.Value]*entry{}
	fs.VisitAll(func(fl *flag.Flag) {
		// Synonyms share one Value; values of a map type cannot be keys.
		hashable := reflect.TypeOf(fl.Value).Comparable()
		if hashable {
			if e, ok := byValue[fl.Value]; ok && (fl.Usage == e.fl.Usage || len(fl.Name) == 1) {
				e.names = append(e.names, fl.Name)
				return
			}
		}
		e := &entry{names: []string{fl.Name}, fl: fl}
		if hashable {
			byValue[fl.Value] = e
		}
		entries = append(entries, e)
	})
	if len(entries) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags:\n")
	for _, e := range entries {
		sort.Slice(e.names, func(i, j int) bool { return len(e.names[i]) < len(e.names[j]) })
	}
	long := func(e *entry) string { return strings.ToLower(e.names[len(e.names)-1]) }
	sort.SliceStable(entries, func(i, j int) bool { return long(entries[i]) < long(entries[j]) })
	for _, e := range entries {
		for i, n := range e.names {
			if len(n) == 1 {
				e.names[i] = "-" + n
			} else {
				e.names[i] = "--" + n
			}
		}
		arg, usage := flag.UnquoteUsage(e.fl)
		line := "  " + strings.Join(e.names, ", ")
		if arg != "" {
			line += " " + arg
		}
		if d := e.fl.DefValue; d != "" && d != "false" && d != "0" && d != "[]" && d != "0s" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, usage)
	}
}

// parseInterspersed parses flags that may stand before, between or after
// the arguments ("mptcp sim aggregate --json"), as users type them, and
// returns the arguments; everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
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
