// Command mptcp is the mptcp-go tool box: one binary whose subcommands run the
// simulator, measure and emulate paths, probe hosts, and manage the kernel's
// MPTCP. "mptcp --help" lists the commands, "mptcp help CMD [SUB]" (or
// "mptcp CMD --help") prints one command's help, "mptcp --version" the
// module's version.
//
// # The command tree
//
// Commands form one tree of [Command] values rooted at root, in the style
// of cmd/go's base.Command: a node runs (Run), holds subcommands, or both.
// The tree alone dispatches, parses flags (anywhere on the line, written
// --name; one-letter synonyms -x), prints help, reports each error once in
// one line prefixed with the command's path, and maps errors to exit
// statuses (1 failure, 2 usage error, made with usagef). Commands that run
// until interrupted take the root context from [Invocation.Context], which
// SIGINT and SIGTERM cancel.
//
// # Adding a command
//
// A new command is one file with one registration call:
//
//	var cmdHello = &Command{
//		Name:  "hello",
//		Usage: "[flags] NAME",
//		Short: "greet NAME (one line for the parent's list)",
//		Long:  "Hello greets NAME, --count times.",
//		Run: func(fs *flag.FlagSet) Action {
//			count := fs.Int("count", 1, "greet `N` times")
//			return func(inv *Invocation) error {
//				if len(inv.Args) != 1 {
//					return usagef("want one NAME, got %d arguments", len(inv.Args))
//				}
//				for range *count {
//					fmt.Fprintln(inv.Stdout, "hello,", inv.Args[0])
//				}
//				return nil
//			}
//		},
//	}
//
//	func init() { root.Add(cmdHello) }
//
// Run only defines flags (it is called for --help too); the returned
// Action does the work. A subcommand of an existing group registers with
// that group instead (cmdPM.Add(cmdPMFoo) makes "mptcp pm foo"). A command
// that needs Linux sets LinuxOnly and assigns Run from a file built only on
// Linux: elsewhere it says "runs only on Linux" in one line.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// root is the top of the command tree: "mptcp".
var root = &Command{
	Name:  "mptcp",
	Usage: "<command> [flags] [arguments]",
	Long:  "mptcp: Multipath TCP (RFC 8684) in Go: simulator, tools and kernel helpers.",
}

var cmdVersion = &Command{
	Name:  "version",
	Usage: "",
	Short: "print the module's version and the Go release it was built with",
	Run: func(*flag.FlagSet) Action {
		return func(inv *Invocation) error {
			if len(inv.Args) > 0 {
				return usagef("takes no arguments")
			}
			fmt.Fprintln(inv.Stdout, versionLine())
			return nil
		}
	},
}

func init() { root.Add(cmdVersion) }

// versionLine is what "mptcp --version" prints: the module's version (a
// tag, a pseudo-version, or "(devel)" under "go run") and, for a build
// from a checkout, the commit.
func versionLine() string {
	v, commit, dirty := "(unknown)", "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = ", modified"
				}
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	line := fmt.Sprintf("mptcp %s (github.com/mptcp-go/mptcp", v)
	if commit != "" {
		if len(commit) > 12 {
			commit = commit[:12]
		}
		line += " commit " + commit + dirty
	}
	return line + fmt.Sprintf("; %s %s/%s)", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func main() {
	os.Exit(execute(context.Background(), root, os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args (without the program name) and returns
// the exit status; tests call it.
func run(args []string, stdout, stderr io.Writer) int {
	return execute(context.Background(), root, args, stdout, stderr)
}
