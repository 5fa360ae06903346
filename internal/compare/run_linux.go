//go:build linux

package compare

import (
	"context"
	"errors"
	"fmt"
	"github.com/mptcp-go/mptcp/internal/lab"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/scenario"
	"golang.org/x/sys/unix"
)

// Config configures a comparison.
type Config struct {
	// Duration is the length of each bulk transfer; the scenarios'
	// schedules are scaled to it (default 15 s).
	Duration time.Duration
	// Requests is the number of short-flow requests per implementation
	// (default 50), each RequestSize bytes (default 100 KB) on a new
	// connection.
	Requests    int
	RequestSize int64
	// SimSeeds is the number of seeds the simulator's short-flow
	// prediction is run with (default 10).
	SimSeeds int
	// Emu runs `mptcp emu`.
	Emu EmuCommand
	// EmuSched, if set, is the scheduling class of the emulator's
	// threads (`mptcp emu run --sched`); empty leaves the emulator's
	// default.
	EmuSched string
	// SplitPackets runs our stack's TUN driver in split mode (the device
	// splits the kernel's super-packets into segments) instead of the
	// super-packet mode `mptcp host` runs by default (link/tun's
	// SuperPackets).
	SplitPackets bool
	// Pacing paces our stack's subflows (mptcp.Config.Pacing).
	Pacing bool
	// Log, if set, receives progress lines.
	Log io.Writer
}

func (c *Config) defaults() {
	if c.Duration <= 0 {
		c.Duration = 15 * time.Second
	}
	if c.Requests <= 0 {
		c.Requests = 50
	}
	if c.RequestSize <= 0 {
		c.RequestSize = 100_000
	}
	if c.SimSeeds <= 0 {
		c.SimSeeds = 10
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// Run runs the whole comparison. Its error means the comparison could not
// be made at all (no emulator); a failed measurement is reported in its
// cell, and listed by Report.Errors.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Emu == nil {
		return nil, errors.New("compare: no emulator command")
	}
	dir, err := os.MkdirTemp("", "mptcp-compare-")
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	c := &comparison{cfg: cfg, dir: dir, ctx: ctx}
	rep := &Report{
		KernelRelease: kernelRelease(),
		DurationS:     cfg.Duration.Seconds(),
		Requests:      cfg.Requests,
		RequestBytes:  cfg.RequestSize,
		Ours:          "our stack as client and server, each on a TUN device in its namespace",
	}
	for _, step := range []func(*Report) error{c.aggregate, c.handover, c.fairness} {
		if err := step(rep); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	rep.Notes = append(rep.Notes, c.notes...)
	rep.ElapsedS = time.Since(start).Seconds()
	return rep, nil
}

// comparison is one run of Run.
type comparison struct {
	cfg   Config
	dir   string
	ctx   context.Context
	notes []string
}

func (c *comparison) logf(format string, args ...any) {
	fmt.Fprintf(c.cfg.Log, format+"\n", args...)
}

// scenario writes the scaled scenario for the emulator and returns its
// file and compiled form.
func (c *comparison) scenario(name string) (string, *scenario.Scenario, error) {
	src, sc, err := scaled(name, c.cfg.Duration)
	if err != nil {
		return "", nil, err
	}
	file := filepath.Join(c.dir, name+".yaml")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		return "", nil, fmt.Errorf("compare: %w", err)
	}
	return file, sc, nil
}

// withEmulator starts an emulator for the scenario file, runs fn, and
// stops it. An emulator that cannot start fails the comparison; one that
// fails during fn fails fn's measurement.
func (c *comparison) withEmulator(file string, fn func(e *emulator) error) error {
	e, err := startEmulator(c.ctx, c.cfg.Emu, c.cfg.EmuSched, file)
	if err != nil {
		return err
	}
	ferr := fn(e)
	if err := e.failed(); err != nil && ferr == nil {
		ferr = err
	}
	if err := e.stop(); err != nil && ferr == nil {
		ferr = err
	}
	return ferr
}

// onSide builds impl's side on the emulator and runs fn with it.
func (c *comparison) onSide(e *emulator, impl string, sc *scenario.Scenario, fn func(s *side) error) error {
	var s *side
	var err error
	switch impl {
	case Kernel:
		s, err = kernelSide(c.ctx, e)
	case Ours:
		s, err = oursSide(c.ctx, e, mptcp.Config{Scheduler: sc.Scheduler, CongestionControl: sc.CC, PathManager: sc.PM, Pacing: c.cfg.Pacing}, !c.cfg.SplitPackets)
	}
	if err != nil {
		return err
	}
	defer s.close()
	return fn(s)
}

// aggregate measures goodput over capacity on the aggregate scenario,
// and the short flows' completion times on the same paths.
func (c *comparison) aggregate(rep *Report) error {
	file, sc, err := c.scenario("aggregate")
	if err != nil {
		return err
	}
	capacity := float64(sc.Capacity(scenario.Download))
	agg := Row{Case: "aggregate", Metric: "goodput / sum of capacities", Unit: "ratio"}
	med := Row{Case: "short flows", Metric: fmt.Sprintf("%d KB completion, median", c.cfg.RequestSize/1000), Unit: "ms"}
	p99 := Row{Case: "short flows", Metric: fmt.Sprintf("%d KB completion, p99", c.cfg.RequestSize/1000), Unit: "ms"}
	cells := map[string][3]*Value{Kernel: {&agg.Kernel, &med.Kernel, &p99.Kernel}, Ours: {&agg.Ours, &med.Ours, &p99.Ours}}
	err = c.withEmulator(file, func(e *emulator) error {
		for _, impl := range []string{Kernel, Ours} {
			cell := cells[impl]
			err := c.onSide(e, impl, sc, func(s *side) error {
				c.logf("aggregate: %s, %v download", impl, c.cfg.Duration)
				b, err := runBulk(c.ctx, s.dial, c.cfg.Duration, nil)
				if err != nil {
					*cell[0] = Value{Error: err.Error()}
				} else {
					*cell[0] = Value{Number: number(b.goodput() / capacity), Verified: true,
						Detail: map[string]float64{"goodput_bps": b.goodput(), "capacity_bps": capacity, "bytes": float64(b.Bytes)}}
				}
				c.logf("short flows: %s, %d requests", impl, c.cfg.Requests)
				*cell[1], *cell[2] = c.requests(s)
				return nil
			})
			if err != nil {
				for _, v := range cell {
					*v = Value{Error: err.Error()}
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.logf("aggregate: simulator")
	agg.Sim = simAggregate(sc)
	med.Sim, p99.Sim = simRequests(sc, c.cfg.RequestSize, c.cfg.Requests, c.cfg.SimSeeds)
	rep.Rows = append(rep.Rows, agg, med, p99)
	c.notes = append(c.notes, fmt.Sprintf("aggregate and short flows: the aggregate scenario (%s); goodput from the dial to the end of a %v download, capacity %.0f Mbit/s; short flows are sequential requests, each on a new connection, timed from the dial to the last byte; the simulator's short-flow figures are the same requests between two of our stacks in virtual time, over %d seeds.",
		DescribePaths(sc), c.cfg.Duration, capacity/1e6, c.cfg.SimSeeds))
	return nil
}

// requests runs the short flows on one side.
func (c *comparison) requests(s *side) (median, p99 Value) {
	var ms []float64
	failed := 0
	var first error
	for range c.cfg.Requests {
		if c.ctx.Err() != nil {
			break
		}
		d, err := request(c.ctx, s.dial, c.cfg.RequestSize)
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
			continue
		}
		ms = append(ms, millis(d))
	}
	if len(ms) == 0 {
		msg := "no request completed"
		if first != nil {
			msg += ": " + first.Error()
		}
		return Value{Error: msg}, Value{Error: msg}
	}
	if first != nil {
		c.notes = append(c.notes, fmt.Sprintf("short flows: %d of %d requests failed, the first with: %v", failed, c.cfg.Requests, first))
	}
	d := map[string]float64{"requests": float64(len(ms)), "min_ms": quantile(ms, 0), "max_ms": quantile(ms, 1)}
	return Value{Number: number(quantile(ms, 0.5)), Verified: true, Failed: failed, Detail: d},
		Value{Number: number(quantile(ms, 0.99)), Verified: true, Failed: failed, Detail: d}
}

// handover measures the longest stall when the primary path goes down
// mid-transfer, with a fresh emulator per implementation (the schedule
// runs once).
func (c *comparison) handover(rep *Report) error {
	file, sc, err := c.scenario("handover")
	if err != nil {
		return err
	}
	down, up, err := firstOutage(sc)
	if err != nil {
		return err
	}
	stall := Row{Case: "handover", Metric: "longest stall", Unit: "ms"}
	cont := Row{Case: "handover", Metric: "data flowed while primary down", Unit: "yes/no"}
	cells := map[string][2]*Value{Kernel: {&stall.Kernel, &cont.Kernel}, Ours: {&stall.Ours, &cont.Ours}}
	for _, impl := range []string{Kernel, Ours} {
		cell := cells[impl]
		err := c.withEmulator(file, func(e *emulator) error {
			return c.onSide(e, impl, sc, func(s *side) error {
				c.logf("handover: %s, %v download, primary down at %v for %v", impl, c.cfg.Duration, down, up-down)
				var scheduled time.Time
				var serr error
				b, err := runBulk(c.ctx, s.dial, c.cfg.Duration, func() {
					scheduled = time.Now()
					serr = e.startSchedule()
				})
				if err == nil {
					err = serr
				}
				if err != nil {
					return err
				}
				off := scheduled.Sub(b.Start)
				during := b.bytesBetween(off+down, off+up)
				after := b.bytesBetween(off+up, b.Elapsed)
				ok := during > 0
				*cell[0] = Value{Number: number(millis(b.MaxStall)), Verified: true,
					Detail: map[string]float64{"bytes": float64(b.Bytes), "bytes_after_outage": float64(after)}}
				*cell[1] = Value{Bool: &ok, Verified: true, Detail: map[string]float64{"bytes_during_outage": float64(during)}}
				return nil
			})
		})
		if err != nil {
			*cell[0], *cell[1] = Value{Error: err.Error()}, Value{Error: err.Error()}
		}
	}
	c.logf("handover: simulator")
	stall.Sim, cont.Sim = simHandover(sc, down, up)
	rep.Rows = append(rep.Rows, stall, cont)
	c.notes = append(c.notes, fmt.Sprintf("handover: the handover scenario (%s), the primary path down from %v to %v after the connection is up (the simulator: after its start); longest stall = the longest the receiving application waited for data between its first byte and the end.",
		DescribePaths(sc), down, up))
	return nil
}

// fairness measures MPTCP's goodput over one TCP flow's at the shared
// bottleneck.
func (c *comparison) fairness(rep *Report) error {
	file, sc, err := c.scenario("fairness")
	if err != nil {
		return err
	}
	if len(sc.Competitors) != 1 {
		return fmt.Errorf("scenario fairness: want one competitor, have %d", len(sc.Competitors))
	}
	cc := sc.Competitors[0].CC
	row := Row{Case: "fairness", Metric: "MPTCP / TCP goodput", Unit: "ratio"}
	cells := map[string]*Value{Kernel: &row.Kernel, Ours: &row.Ours}
	err = c.withEmulator(file, func(e *emulator) error {
		// The kernel's MPTCP has no coupled congestion control: its
		// subflows run the namespace's default, which is set to the
		// competitor's so that the row compares like with like (two
		// uncoupled subflows against one flow of the same algorithm)
		// rather than, say, BBR against Reno.
		if cc != "" {
			for _, ns := range []lab.Netns{e.client, e.server} {
				if err := ns.Sysctl("net.ipv4.tcp_congestion_control=" + cc); err != nil {
					return fmt.Errorf("kernel congestion control %s: %w", cc, err)
				}
			}
		}
		for _, impl := range []string{Kernel, Ours} {
			err := c.onSide(e, impl, sc, func(s *side) error {
				comp, err := competitorSide(c.ctx, e, cc)
				if err != nil {
					return err
				}
				defer comp.close()
				c.logf("fairness: %s against kernel TCP (%s), %v", impl, cc, c.cfg.Duration)
				var wg sync.WaitGroup
				var tb *bulk
				var terr error
				wg.Add(1)
				go func() {
					defer wg.Done()
					tb, terr = runBulk(c.ctx, comp.dial, c.cfg.Duration, nil)
				}()
				mb, merr := runBulk(c.ctx, s.dial, c.cfg.Duration, nil)
				wg.Wait()
				if merr != nil {
					return fmt.Errorf("MPTCP: %w", merr)
				}
				if terr != nil {
					return fmt.Errorf("TCP: %w", terr)
				}
				*cells[impl] = Value{Number: number(mb.goodput() / tb.goodput()), Verified: true,
					Detail: map[string]float64{"mptcp_bps": mb.goodput(), "tcp_bps": tb.goodput()}}
				return nil
			})
			if err != nil {
				*cells[impl] = Value{Error: err.Error()}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.logf("fairness: simulator")
	row.Sim = simFairness(sc)
	rep.Rows = append(rep.Rows, row)
	c.notes = append(c.notes, fmt.Sprintf("fairness: the fairness scenario, MPTCP (two subflows) and one kernel TCP flow (%s) share a %.0f Mbit/s server link; both start together and run %v. Ours and the simulator use the scenario's congestion control (%s); the kernel's MPTCP has no coupled congestion control and runs %s (the competitor's, set in its namespaces) on each subflow, uncoupled.",
		cc, float64(sc.ServerLink.Down.Rate)/1e6, c.cfg.Duration, orDefault(sc.CC, "cubic"), orDefault(cc, kernelCC())))
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// kernelCC is the kernel's default congestion control (namespaces
// inherit the initial namespace's at creation).
func kernelCC() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control")
	if err != nil {
		return "unknown"
	}
	return string(trimNL(b))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
