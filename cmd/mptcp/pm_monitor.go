package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mptcp-go/mptcp/kpm"
)

const pmMonitorUsage = `Usage: mptcp pm monitor [--json] [--count N] [--timeout D]

Print the kernel's MPTCP events in the current network namespace, one line
per event as "ip mptcp monitor" prints them, or one JSON object per line:
connection created / established / closed, address announced / removed by
the peer, subflow established / closed / priority changed, listener created /
closed, with every attribute the kernel sends. Needs CAP_NET_ADMIN.

Flags:
`

func runPMMonitor(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pm monitor", stderr)
	jsonOut := fs.Bool("json", false, "print one JSON object per event")
	fs.BoolVar(jsonOut, "j", false, "short for --json")
	count := fs.Int("count", 0, "stop after `N` events (0: no limit)")
	timeout := fs.Duration("timeout", 0, "stop after `D` (0: run until interrupted)")
	fs.Usage = func() {
		fmt.Fprint(stdout, pmMonitorUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: monitor takes no arguments, got %q", errUsage, fs.Arg(0))
	}
	if *count < 0 || *timeout < 0 {
		return fmt.Errorf("%w: --count and --timeout must not be negative", errUsage)
	}
	ec, err := kpm.DialEvents(nil)
	if err != nil {
		return pmError(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	// Closing the socket is what ends a blocked Receive.
	go func() {
		<-ctx.Done()
		ec.SetReadDeadline(time.Now())
	}()
	defer ec.Close()
	fmt.Fprintln(stderr, "mptcp pm monitor: listening for MPTCP events")
	seen := 0
	for {
		evs, err := ec.Receive()
		for _, e := range evs {
			if *jsonOut {
				if werr := writeJSON(stdout, e); werr != nil {
					return werr
				}
			} else {
				fmt.Fprintln(stdout, e.String())
			}
			seen++
			if *count > 0 && seen >= *count {
				return nil
			}
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kpm.ErrEventsLost), errors.Is(err, kpm.ErrMalformedEvent):
			fmt.Fprintf(stderr, "mptcp pm monitor: %v\n", err)
		default:
			return err
		}
	}
}
