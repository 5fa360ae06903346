//go:build linux

package main

import (
	"flag"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/internal/compare"
)

func init() { cmdPerfWeb.Run = perfWebFlags }

func perfWebFlags(fs *flag.FlagSet) Action {
	sizes := fs.String("sizes", "1KB,10KB,100KB,1MB", "comma-separated response `sizes` (bytes, or KB/MB: powers of 1000)")
	concs := fs.String("concurrency", "1,10,100,1000", "comma-separated numbers of requests in flight")
	requests := fs.Int("requests", 20, "requests per cell (at least one per request in flight)")
	maxBytes := fs.Int64("max-bytes", 32_000_000, "skip the cells that would move more bytes than this")
	budget := fs.Duration("budget", 10*time.Minute, "bound on the whole run; cells left are reported as not measured")
	impls := fs.String("impl", "kernel,ours,simulator", "comma-separated implementations: kernel, ours, simulator")
	seeds := fs.Int("sim-seeds", 5, "seeds of each simulator cell")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	emuSched := emuSchedFlag(fs, "normal")
	split := splitPacketsFlag(fs)
	pacing := fs.Bool("pacing", false, "pace our stack's subflows (mptcp.Config.Pacing; default unpaced)")
	procs := fs.Int("procs", 0, "GOMAXPROCS of this process, which runs the applications and our stacks (0: Go's default, one per CPU)")
	warmup := fs.Int("warmup", 1000, "1KB requests on new connections each implementation serves before its cells, not counted (0: none)")
	return func(inv *Invocation) error {
		if len(inv.Args) != 0 {
			return usagef("unexpected argument %q", inv.Args[0])
		}
		if err := checkEmuSched(*emuSched); err != nil {
			return err
		}
		cfg := compare.WebConfig{Requests: *requests, MaxBytes: *maxBytes, Budget: *budget, SimSeeds: *seeds, Emu: emuSelf, EmuSched: *emuSched, SplitPackets: *split, Pacing: *pacing, Warmup: *warmup, Procs: *procs}
		var err error
		if cfg.Sizes, err = parseWebSizes(*sizes); err != nil {
			return err
		}
		if cfg.Concurrency, err = parseWebConcurrency(*concs); err != nil {
			return err
		}
		for _, s := range splitList(*impls) {
			if s != compare.Kernel && s != compare.Ours && s != compare.Sim {
				return usagef("--impl: %q is not kernel, ours or simulator", s)
			}
			cfg.Impls = append(cfg.Impls, s)
		}
		switch {
		case len(cfg.Impls) == 0:
			return usagef("--impl needs at least one value")
		case *requests < 1 || *requests > 100000:
			return usagef("--requests %d: want 1..100000", *requests)
		case *warmup < 0 || *warmup > 100000:
			return usagef("--warmup %d: want 0..100000", *warmup)
		case *maxBytes < 1:
			return usagef("--max-bytes %d: want a positive count", *maxBytes)
		case *budget < time.Second || *budget > 24*time.Hour:
			return usagef("--budget %v: want 1s..24h", *budget)
		case *seeds < 1 || *seeds > 1000:
			return usagef("--sim-seeds %d: want 1..1000", *seeds)
		case *procs < 0 || *procs > 1024:
			return usagef("--procs %d: want 0..1024", *procs)
		}
		if slices.ContainsFunc(cfg.Impls, func(s string) bool { return s != compare.Sim }) {
			if err := needRoot("mptcp perf web"); err != nil {
				return err
			}
		}
		if !*quiet {
			cfg.Log = inv.Stderr
		}
		rep, err := compare.RunWeb(inv.Context(), cfg)
		if err != nil {
			return err
		}
		return writeReport(inv.Stdout, rep, *asJSON, "cells")
	}
}
