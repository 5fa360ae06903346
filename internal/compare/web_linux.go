//go:build linux

package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// WebConfig configures the web-shaped benchmark.
type WebConfig struct {
	// Sizes are the response sizes in bytes (default 1 KB, 10 KB, 100 KB,
	// 1 MB); Concurrency the numbers of requests in flight (default 1,
	// 10, 100, 1000); Requests the requests per cell (default 20; a cell
	// makes at least one per concurrent worker).
	Sizes       []int64
	Concurrency []int
	Requests    int
	// MaxBytes skips the cells that would move more (default 32 MB): 1000
	// concurrent 1 MB requests take minutes on these paths.
	MaxBytes int64
	// Budget bounds the whole run (default 10 min): the cells left when
	// it is spent are reported as not measured.
	Budget time.Duration
	// Impls are the implementations measured (default kernel, ours,
	// simulator).
	Impls []string
	// SimSeeds is the number of seeds of each simulator cell (default 5).
	SimSeeds int
	// Emu runs `mptcp emu`.
	Emu EmuCommand
	// EmuSched is the scheduling class of the emulator's threads
	// (`mptcp emu run --sched`; default "normal", the class of the
	// endpoints). The emulator's own default, real-time, lets it preempt
	// a user-space endpoint's threads whenever it wakes, while the
	// kernel's endpoint usually receives inside the emulator's own send:
	// on a small machine that costs ours about a millisecond a request
	// that no real link would (docs/perf.md).
	EmuSched string
	// SplitPackets runs our stack's TUN driver in split mode instead of
	// the super-packet mode `mptcp host` runs by default (see
	// Config.SplitPackets).
	SplitPackets bool
	// Pacing paces our stack's subflows (mptcp.Config.Pacing; default
	// unpaced, as the kernel's CUBIC without the fq qdisc).
	Pacing bool
	// Warmup is the number of 1 KB requests on new connections, warmupConc
	// in flight, that each implementation serves before its cells, not
	// counted (default none). A fresh process's first connections land
	// in heap pages it touches for the first time, a page fault each,
	// until its garbage collector first recycles memory; the kernel's
	// stack is warm from the start.
	Warmup int
	// Procs, when positive, is the GOMAXPROCS of the process for the run
	// (restored after it): the process runs both implementations'
	// applications and our two stacks. Zero leaves the process's own.
	Procs int
	// Log, if set, receives progress lines.
	Log io.Writer
}

func (c *WebConfig) defaults() {
	if len(c.Sizes) == 0 {
		c.Sizes = []int64{1_000, 10_000, 100_000, 1_000_000}
	}
	if len(c.Concurrency) == 0 {
		c.Concurrency = []int{1, 10, 100, 1000}
	}
	if c.Requests <= 0 {
		c.Requests = 20
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 32_000_000
	}
	if c.Budget <= 0 {
		c.Budget = 10 * time.Minute
	}
	if len(c.Impls) == 0 {
		c.Impls = []string{Kernel, Ours, Sim}
	}
	if c.SimSeeds <= 0 {
		c.SimSeeds = 5
	}
	if c.EmuSched == "" {
		c.EmuSched = "normal"
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// RunWeb runs the web-shaped benchmark on the aggregate scenario's
// emulated paths: for each implementation, size, concurrency and kind of
// connection (new, reused), a bounded number of requests, every byte
// verified; the simulator runs the same cells in virtual time. Its error
// means nothing could be measured (no emulator).
func RunWeb(ctx context.Context, cfg WebConfig) (*WebReport, error) {
	cfg.defaults()
	if cfg.Emu == nil {
		return nil, errors.New("compare: no emulator command")
	}
	dir, err := os.MkdirTemp("", "mptcp-web-")
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	defer os.RemoveAll(dir)
	if cfg.Procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cfg.Procs))
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Budget)
	defer cancel()
	c := &comparison{dir: dir, ctx: ctx, cfg: Config{Log: cfg.Log, Emu: cfg.Emu, EmuSched: cfg.EmuSched, SplitPackets: cfg.SplitPackets, Pacing: cfg.Pacing, Duration: 20 * time.Second}}
	file, sc, err := c.scenario("aggregate")
	if err != nil {
		return nil, err
	}
	rep := &WebReport{KernelRelease: kernelRelease(), Paths: DescribePaths(sc)}
	emulated := func(impl string) bool { return impl == Kernel || impl == Ours }
	need := false
	for _, im := range cfg.Impls {
		need = need || emulated(im)
	}
	if need {
		err = c.withEmulator(file, func(e *emulator) error {
			for _, impl := range cfg.Impls {
				if !emulated(impl) {
					continue
				}
				err := c.onSide(e, impl, sc, func(s *side) error {
					rep.Cells = append(rep.Cells, webCells(ctx, cfg, impl, s.dial, c.logf)...)
					return nil
				})
				if err != nil {
					rep.Cells = append(rep.Cells, WebCell{Impl: impl, Error: err.Error()})
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if contains(cfg.Impls, Sim) {
		rep.Cells = append(rep.Cells, SimulateWeb(sc, SimWebConfig{Sizes: cfg.Sizes, Concurrency: cfg.Concurrency,
			Requests: cfg.Requests, Seeds: cfg.SimSeeds, MaxBytes: cfg.MaxBytes, Pacing: cfg.Pacing, Log: c.logf})...)
	}
	rep.Notes = append(rep.Notes,
		fmt.Sprintf("paths: the aggregate scenario on the emulator (%s), its threads in the %s scheduling class; the client has an address on each path, the server one on the first", DescribePaths(sc), cfg.EmuSched),
		fmt.Sprintf("ours: our stack as client and server, each on a TUN device in its namespace (driver in %s mode), %s; kernel: Go's net with SetMultipathTCP on both ends", driverMode(cfg.SplitPackets), PacingMode(cfg.Pacing)),
		warmupNote(cfg.Warmup),
		fmt.Sprintf("this process (the applications of both implementations and our two stacks) ran with GOMAXPROCS %d on %d CPUs", runtime.GOMAXPROCS(0), runtime.NumCPU()),
		fmt.Sprintf("each cell: max(%d, concurrency) requests, as many workers as the concurrency; new: a connection per request, times from the dial; reused: one connection per worker, its first request not counted, times from the request's write", cfg.Requests),
		"req/s: requests completed per second of the cell; with new connections, the connections the server accepted and served per second",
		fmt.Sprintf("simulator: the same requests between two of our stacks (%s, as ours) in virtual time on the scenario's paths, each cell once per seed (%d seeds), its req/s over the seeds' virtual time", PacingMode(cfg.Pacing), cfg.SimSeeds),
		fmt.Sprintf("cells moving more than %d bytes are skipped; the run is bounded to %v", cfg.MaxBytes, cfg.Budget))
	rep.ElapsedS = time.Since(start).Seconds()
	return rep, nil
}

// webCells measures every cell of one implementation.
func webCells(ctx context.Context, cfg WebConfig, impl string, dial dialFunc, logf func(string, ...any)) []WebCell {
	var out []WebCell
	if cfg.Warmup > 0 {
		w := webRequests(ctx, dial, 1_000, min(warmupConc, cfg.Warmup), cfg.Warmup, false)
		logf("web: %s warm-up: %s", impl, webSummary(&w))
		settle(ctx)
	}
	for _, reused := range []bool{false, true} {
		for _, size := range cfg.Sizes {
			for _, conc := range cfg.Concurrency {
				total := max(cfg.Requests, conc)
				cell := WebCell{Size: size, Concurrency: conc, Reused: reused, NA: oversize(total, size, cfg.MaxBytes)}
				switch {
				case cell.NA != "":
				case ctx.Err() != nil:
					cell.NA = "the run's time budget was spent"
				default:
					cell = webRequests(ctx, dial, size, conc, total, reused)
					if ctx.Err() != nil && cell.Error != "" {
						cell = WebCell{Size: size, Concurrency: conc, Reused: reused, NA: "the run's time budget was spent"}
					}
					settle(ctx) // the cell's connections close before the next's
				}
				cell.Impl = impl
				logf("web: %s %s: %s", impl, cell.label(), webSummary(&cell))
				out = append(out, cell)
			}
		}
	}
	return out
}

// warmupConc is how many warm-up requests are in flight at once.
const warmupConc = 100

// settle lets the connections of a cell close before the next starts.
func settle(ctx context.Context) {
	select {
	case <-time.After(500 * time.Millisecond):
	case <-ctx.Done():
	}
}

// driverMode names the mode of our stack's TUN driver for a table's notes.
func driverMode(split bool) string {
	if split {
		return "split"
	}
	return "super-packet"
}

// warmupNote describes the warm-up for a table's notes.
func warmupNote(n int) string {
	if n <= 0 {
		return "no warm-up: each implementation's first cells include its stack's first connections"
	}
	return fmt.Sprintf("warm-up: before its cells, each implementation served %d requests of 1KB on new connections, %d in flight, not counted", n, min(warmupConc, n))
}
