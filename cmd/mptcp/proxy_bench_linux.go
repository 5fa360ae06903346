//go:build linux

package main

import (
	"flag"
	"time"

	"github.com/mptcp-go/mptcp/internal/proxybench"
)

func init() { cmdProxyBench.Run = proxyBenchFlags }

func proxyBenchFlags(fs *flag.FlagSet) Action {
	dur := fs.Duration("duration", 10*time.Second, "length of each bulk transfer")
	reqs := fs.Int("requests", 20, "new connections timed for the set-up latency")
	conc := fs.Int("concurrent", 1000, "concurrent proxied requests (-1 skips)")
	outage := fs.Duration("outage", 10*time.Second, "how long the first uplink goes down during the interactive session")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		ctx := inv.Context()
		rep, err := proxybench.Run(ctx, proxybench.Config{Duration: *dur, Requests: *reqs, Concurrent: *conc, Outage: *outage, Log: stderr})
		if rep != nil {
			if *asJSON {
				_ = rep.WriteJSON(stdout)
			} else {
				_ = rep.WriteTable(stdout)
			}
		}
		return err

	}
}
