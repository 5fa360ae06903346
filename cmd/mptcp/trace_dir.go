package main

import (
	"context"
	"fmt"

	"github.com/mptcp-go/mptcp/observe"
)

// startTraceDir writes a trace of each connection of the stack src into
// dir (the --trace flag of perf, check serve and proxy) on a goroutine of
// its own, with events from rec, until the returned stop is called; stop
// waits for the last lines to be written.
func startTraceDir(dir string, src observe.Source, rec *observe.Recorder) (stop func() error, err error) {
	td, err := observe.NewTraceDir(dir, src, rec, observe.TraceDirOptions{})
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- td.Run(ctx) }()
	return func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("--trace: %w", err)
		}
		return nil
	}, nil
}
