//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/mptcp-go/mptcp/kpm"
)

func pmMonitorFlags(fs *flag.FlagSet) Action {
	jsonOut := jsonFlag(fs, "print one JSON object per event")
	count := fs.Int("count", 0, "stop after `N` events (0: no limit)")
	timeout := fs.Duration("timeout", 0, "stop after `D` (0: run until interrupted)")
	return func(inv *Invocation) error {
		if len(inv.Args) != 0 {
			return usagef("monitor takes no arguments, got %q", inv.Args[0])
		}
		if *count < 0 || *timeout < 0 {
			return usagef("--count and --timeout must not be negative")
		}
		return kernelEvents(inv, *jsonOut, *count, *timeout)
	}
}

// kernelEvents prints the kernel's MPTCP events, count of them (0: no
// limit), for timeout (0: until interrupted).
func kernelEvents(inv *Invocation, jsonOut bool, count int, timeout time.Duration) error {
	stdout, stderr := inv.Stdout, inv.Stderr
	ec, err := kpm.DialEvents(nil)
	if err != nil {
		return pmError(err)
	}
	ctx := inv.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// Closing the socket is what ends a blocked Receive.
	go func() {
		<-ctx.Done()
		ec.SetReadDeadline(time.Now())
	}()
	defer ec.Close()
	fmt.Fprintf(stderr, "%s: listening for MPTCP events\n", inv.Path())
	seen := 0
	for {
		evs, err := ec.Receive()
		for _, e := range evs {
			if jsonOut {
				if werr := writeJSON(stdout, e); werr != nil {
					return werr
				}
			} else {
				fmt.Fprintln(stdout, e.String())
			}
			seen++
			if count > 0 && seen >= count {
				return nil
			}
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kpm.ErrEventsLost), errors.Is(err, kpm.ErrMalformedEvent):
			fmt.Fprintf(stderr, "%s: %v\n", inv.Path(), err)
		default:
			return err
		}
	}
}
