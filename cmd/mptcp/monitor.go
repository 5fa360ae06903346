package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/mptcp-go/mptcp/observe"
)

var cmdMonitor = &Command{
	Name:  "monitor",
	Usage: "[--endpoint ADDR | --stack kernel] [--json] [--all] [--count N] [--timeout D]",
	Short: "print MPTCP events as ip mptcp monitor does, of our stack or the kernel",
	Long: `Print MPTCP events one per line as "ip mptcp monitor" does (CREATED,
ESTABLISHED, ANNOUNCED, REMOVED, SF_ESTABLISHED, SF_CLOSED, SF_PRIO,
LISTENER_CREATED, LISTENER_CLOSED, CLOSED, with the kernel's attribute
names), or one JSON object per line.

Our stack's come from a program's debug endpoint (--endpoint unix:PATH or
HOST:PORT; the recent ones first), with --all the scheduler's decisions and
fallbacks too. The kernel's (--stack kernel, the default without
--endpoint) come from its MPTCP netlink event group, as "mptcp pm monitor"
prints them; that needs Linux and CAP_NET_ADMIN.`,
	Run: monitorFlags,
}

func init() { root.Add(cmdMonitor) }

func monitorFlags(fs *flag.FlagSet) Action {
	endpoint := fs.String("endpoint", "", "our stack's debug endpoint: unix:PATH or HOST:PORT")
	stack := fs.String("stack", "", "whose events: ours (needs --endpoint) or kernel (default without --endpoint)")
	jsonOut := fs.Bool("json", false, "print one JSON object per event")
	all := fs.Bool("all", false, "ours: the scheduler's decisions and fallbacks too")
	count := fs.Int("count", 0, "stop after `N` events (0: no limit)")
	timeout := fs.Duration("timeout", 0, "stop after `D` (0: run until interrupted)")
	return func(inv *Invocation) error {
		stdout := inv.Stdout
		if len(inv.Args) != 0 {
			return usagef("monitor takes no arguments, got %q", inv.Args[0])
		}
		if *count < 0 || *timeout < 0 {
			return usagef("--count and --timeout must not be negative")
		}
		switch {
		case *stack == "" && *endpoint != "":
			*stack = "ours"
		case *stack == "":
			*stack = "kernel"
		}
		switch *stack {
		case "kernel":
			if *endpoint != "" || *all {
				return usagef("--endpoint and --all are for our stack")
			}
			return kernelEvents(inv, *jsonOut, *count, *timeout)
		case "ours":
			if *endpoint == "" {
				return usagef("--stack ours needs --endpoint (a program's debug endpoint)")
			}
		default:
			return usagef("--stack %q: want ours or kernel", *stack)
		}
		ctx := inv.Context()
		if *timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *timeout)
			defer cancel()
		}
		return streamEvents(ctx, *endpoint, *jsonOut, *all, *count, stdout)

	}
}

// streamEvents copies a debug endpoint's event stream to stdout.
func streamEvents(ctx context.Context, endpoint string, asJSON, all bool, count int, stdout io.Writer) error {
	path := observe.PathEvents + "?"
	if asJSON {
		path += "json&"
	}
	if all {
		path += "all"
	}
	resp, err := openEndpoint(ctx, endpoint, path)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted or timed out before the stream began
		}
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for n := 0; sc.Scan(); {
		fmt.Fprintln(stdout, sc.Text())
		if n++; count > 0 && n >= count {
			return nil
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted or timed out: a normal end
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("debug endpoint %s: %w", endpoint, err)
	}
	return nil
}
