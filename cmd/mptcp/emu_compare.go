//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mptcp-go/mptcp/internal/compare"
)

const emuCompareUsage = `Usage: mptcp emu compare [flags]

Runs the aggregate, handover and fairness scenarios on emulated paths
("mptcp emu run", as its own process) with the kernel's MPTCP on both ends
(Go's net with SetMultipathTCP) and with our stack on both ends (on TUN
devices in the client and server namespaces), and in the simulator; prints
one table: goodput over capacity, the longest stall of a handover, the
MPTCP/TCP goodput ratio at a shared bottleneck and the completion time of
short requests, each measured three ways. Every transfer's bytes are
checked. Needs root. See docs/emu.md.

Flags:
`

// emuSelf runs this binary as "mptcp emu ..."; tests replace it.
var emuSelf = func(args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe, args...)
}

func runEmuCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("emu compare", stderr)
	duration := fs.Duration("duration", 15*time.Second, "length of each bulk transfer; the scenarios' outages are scaled to it")
	requests := fs.Int("requests", 50, "short-flow requests per implementation")
	size := fs.Int64("request-size", 100_000, "bytes per short-flow request")
	seeds := fs.Int("sim-seeds", 10, "seeds of the simulator's short-flow prediction")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprint(stderr, emuCompareUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	switch {
	case *duration < time.Second || *duration > time.Hour:
		return fmt.Errorf("%w: --duration %v: want 1s..1h", errUsage, *duration)
	case *requests < 1 || *requests > 10000:
		return fmt.Errorf("%w: --requests %d: want 1..10000", errUsage, *requests)
	case *size < 1 || *size > 1<<30:
		return fmt.Errorf("%w: --request-size %d: want 1..1073741824", errUsage, *size)
	case *seeds < 1 || *seeds > 1000:
		return fmt.Errorf("%w: --sim-seeds %d: want 1..1000", errUsage, *seeds)
	}
	if err := needRoot("mptcp emu compare"); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := compare.Config{Duration: *duration, Requests: *requests, RequestSize: *size, SimSeeds: *seeds, Emu: emuSelf}
	if !*quiet {
		cfg.Log = stderr
	}
	rep, err := compare.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if errs := rep.Errors(); len(errs) > 0 {
		return fmt.Errorf("%d measurements failed: %s", len(errs), strings.Join(errs, "; "))
	}
	return nil
}
