//go:build linux

package main

import (
	"flag"
	"os"
	"os/exec"
	"time"

	"github.com/mptcp-go/mptcp/internal/compare"
	"github.com/mptcp-go/mptcp/internal/emu"
)

// emuSelf runs this binary as "mptcp emu ..."; tests replace it.
var emuSelf = func(args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe, args...)
}

// emuSchedFlag defines --emu-sched, the scheduling class of the threads of
// the emulator a measuring command starts, with default def.
func emuSchedFlag(fs *flag.FlagSet, def string) *string {
	return fs.String("emu-sched", def, "scheduling class of the emulator's threads: normal (the endpoints' own), nice or fifo (real-time, which preempts a user-space endpoint; see docs/perf.md)")
}

// splitPacketsFlag defines --split-packets, which runs our stack's TUN
// driver in split mode in a comparison.
func splitPacketsFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("split-packets", false, "run our stack's TUN driver in split mode (the device splits the kernel's super-packets) instead of taking them whole, as mptcp host does by default")
}

// checkEmuSched refuses a --emu-sched value mptcp emu run would not take.
func checkEmuSched(class string) error {
	if _, err := emu.ParseSched(class); err != nil {
		return usagef("--emu-sched: %q is not normal, nice or fifo", class)
	}
	return nil
}

func emuCompareFlags(fs *flag.FlagSet) Action {
	duration := fs.Duration("duration", 15*time.Second, "length of each bulk transfer; the scenarios' outages are scaled to it")
	requests := fs.Int("requests", 50, "short-flow requests per implementation")
	size := fs.Int64("request-size", 100_000, "bytes per short-flow request")
	seeds := fs.Int("sim-seeds", 10, "seeds of the simulator's short-flow prediction")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	emuSched := emuSchedFlag(fs, "fifo")
	split := splitPacketsFlag(fs)
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		pos := inv.Args
		if len(pos) != 0 {
			return usagef("unexpected argument %q", pos[0])
		}
		switch {
		case *duration < time.Second || *duration > time.Hour:
			return usagef("--duration %v: want 1s..1h", *duration)
		case *requests < 1 || *requests > 10000:
			return usagef("--requests %d: want 1..10000", *requests)
		case *size < 1 || *size > 1<<30:
			return usagef("--request-size %d: want 1..1073741824", *size)
		case *seeds < 1 || *seeds > 1000:
			return usagef("--sim-seeds %d: want 1..1000", *seeds)
		}
		if err := checkEmuSched(*emuSched); err != nil {
			return err
		}
		if err := needRoot("mptcp emu compare"); err != nil {
			return err
		}
		ctx := inv.Context()
		cfg := compare.Config{Duration: *duration, Requests: *requests, RequestSize: *size, SimSeeds: *seeds, Emu: emuSelf, EmuSched: *emuSched, SplitPackets: *split}
		if !*quiet {
			cfg.Log = stderr
		}
		rep, err := compare.Run(ctx, cfg)
		if err != nil {
			return err
		}
		return writeReport(stdout, rep, *asJSON, "measurements")

	}
}
