//go:build linux

package main

import (
	"flag"
	"slices"
	"strings"
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
	steps := fs.String("steps", "", "comma-separated `list` of the measurements to run: bulk, latency, concurrent, outage (default all)")
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		ctx := inv.Context()
		cfg := proxybench.Config{Duration: *dur, Requests: *reqs, Concurrent: *conc, Outage: *outage, Log: stderr}
		if *steps != "" {
			cfg.Steps = strings.Split(*steps, ",")
			for _, s := range cfg.Steps {
				if !slices.Contains([]string{"bulk", "latency", "concurrent", "outage"}, s) {
					return usagef("--steps: unknown measurement %q (bulk, latency, concurrent, outage)", s)
				}
			}
		}
		rep, err := proxybench.Run(ctx, cfg)
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
