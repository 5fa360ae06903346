package compare

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/internal/simrun"
	"github.com/mptcp-go/mptcp/scenario"
)

// simInterval is the simulator's reporting interval, fine enough to see
// whether data flowed during a short outage.
const simInterval = 100 * time.Millisecond

func simRun(sc *scenario.Scenario) (*simrun.Result, error) {
	r, err := simrun.Run(sc, simrun.Options{Interval: simInterval})
	if err != nil {
		return nil, err
	}
	if r.Error != "" {
		return nil, fmt.Errorf("simulation: %s", r.Error)
	}
	if !r.IntegrityOK {
		return nil, fmt.Errorf("simulation: bytes received differ from those sent")
	}
	return r, nil
}

// simAggregate is the simulator's goodput over the sum of capacities.
func simAggregate(sc *scenario.Scenario) Value {
	r, err := simRun(sc)
	if err != nil {
		return Value{Error: err.Error()}
	}
	return Value{Number: number(r.Utilisation), Verified: true,
		Detail: map[string]float64{"goodput_bps": r.GoodputBps, "capacity_bps": float64(r.CapacityBps)}}
}

// simHandover is the simulator's longest stall and whether data arrived
// while the primary path was down.
func simHandover(sc *scenario.Scenario, down, up time.Duration) (stall, cont Value) {
	r, err := simRun(sc)
	if err != nil {
		return Value{Error: err.Error()}, Value{Error: err.Error()}
	}
	var during float64
	for _, iv := range r.Intervals {
		t := time.Duration(iv.T * float64(time.Second))
		if t-simInterval >= down && t <= up {
			during += iv.TotalBps * simInterval.Seconds() / 8
		}
	}
	c := during > 0
	return Value{Number: number(r.MaxStallMs), Verified: true},
		Value{Bool: &c, Verified: true, Detail: map[string]float64{"bytes_during_outage": during}}
}

// simFairness is the simulator's MPTCP-to-TCP goodput ratio.
func simFairness(sc *scenario.Scenario) Value {
	r, err := simRun(sc)
	if err != nil {
		return Value{Error: err.Error()}
	}
	if r.MPTCPToTCPRatio == nil || r.TCPGoodputBps == nil {
		return Value{Error: "the simulation reported no competitor"}
	}
	return Value{Number: number(*r.MPTCPToTCPRatio), Verified: true,
		Detail: map[string]float64{"mptcp_bps": r.GoodputBps, "tcp_bps": *r.TCPGoodputBps}}
}

// simWeb predicts a cell of the web-shaped benchmark: the same requests
// (size, concurrency, new or reused connections) between two of our
// stacks on the scenario's paths in virtual time, once per seed, every
// byte verified. Its completions are timed as the emulated cells' are,
// from the dial (new) or the request's write (reused); requests per
// second are those of the seeds' runs together.
func simWeb(sc *scenario.Scenario, size int64, conc, total int, reused bool, cfg SimWebConfig) WebCell {
	cell := WebCell{Impl: Sim, Size: size, Concurrency: conc, Reused: reused}
	var done, ttfb []float64
	var elapsed time.Duration
	for seed := 1; seed <= cfg.Seeds; seed++ {
		o := simrun.WebOptions{Size: size, Concurrency: conc, Requests: total, Reused: reused, Seed: uint64(seed),
			Scheduler: cfg.Scheduler, CC: cfg.CC, PM: cfg.PM, Pacing: cfg.Pacing}
		r, err := simWebRun(sc, o, cfg.PcapDir, cell.pcapName(seed))
		if err != nil {
			cell.Error = err.Error()
			return cell
		}
		if r.Failed > 0 {
			cell.Failed += r.Failed
			if cell.Error == "" {
				cell.Error = fmt.Sprintf("seed %d: %d requests failed, the first: %s", seed, r.Failed, r.FirstError)
			}
		}
		ds, fs := r.Completed()
		for i := range ds {
			done = append(done, millis(ds[i]))
			ttfb = append(ttfb, millis(fs[i]))
		}
		elapsed += r.Elapsed
		if cfg.PerRequest != nil {
			if err := writeRequests(cfg.PerRequest, cell.name(), seed, r.Requests); err != nil {
				cell.Error = fmt.Sprintf("per-request log: %v", err)
				return cell
			}
		}
	}
	cell.Requests = len(done)
	if len(done) == 0 {
		if cell.Error == "" {
			cell.Error = "no request completed"
		}
		return cell
	}
	cell.P50Ms, cell.P99Ms = number(quantile(done, 0.5)), number(quantile(done, 0.99))
	cell.TTFBP50Ms, cell.TTFBP99Ms = number(quantile(ttfb, 0.5)), number(quantile(ttfb, 0.99))
	cell.PerSecond = number(float64(len(done)) / elapsed.Seconds())
	return cell
}

// SimWebConfig selects the cells SimulateWeb runs.
type SimWebConfig struct {
	Sizes       []int64
	Concurrency []int
	// Requests per cell (a cell makes at least one per client), Seeds
	// the runs of each cell.
	Requests, Seeds int
	// MaxBytes skips the cells that would move more.
	MaxBytes int64
	// Scheduler, CC and PM, when non-empty, replace the scenario's.
	Scheduler, CC, PM string
	// Pacing paces the simulated stacks (simrun.WebOptions.Pacing); by
	// default they run unpaced, as ours on TUN does by default.
	Pacing bool
	// PcapDir, if set, receives a capture of the client's packets for
	// each seed of each cell (10KB-x100-new-seed1.pcap).
	PcapDir string
	// PerRequest, if set, receives a JSON line for each request of each
	// seed of each cell (requestLine).
	PerRequest io.Writer
	// Log, if set, is told of each cell as it completes.
	Log func(format string, args ...any)
}

// SimulateWeb runs the web-shaped benchmark's cells in the simulator on
// sc's paths: for new and reused connections, each size and each
// concurrency.
func SimulateWeb(sc *scenario.Scenario, cfg SimWebConfig) []WebCell {
	var out []WebCell
	for _, reused := range []bool{false, true} {
		for _, size := range cfg.Sizes {
			for _, conc := range cfg.Concurrency {
				total := max(cfg.Requests, conc)
				cell := WebCell{Impl: Sim, Size: size, Concurrency: conc, Reused: reused, NA: oversize(total, size, cfg.MaxBytes)}
				if cell.NA == "" {
					cell = simWeb(sc, size, conc, total, reused, cfg)
				}
				if cfg.Log != nil {
					cfg.Log("web: %s %s: %s", Sim, cell.label(), webSummary(&cell))
				}
				out = append(out, cell)
			}
		}
	}
	return out
}

// simWebRun runs one seed of a cell, capturing its packets to
// dir/name when dir is set.
func simWebRun(sc *scenario.Scenario, o simrun.WebOptions, dir, name string) (*simrun.WebResult, error) {
	if dir == "" {
		return simrun.Web(sc, o)
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriter(f)
	o.Pcap = bw
	r, err := simrun.Web(sc, o)
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("%s: %w", f.Name(), ferr)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return r, err
}

// name names a cell in file names and per-request lines: 10KB-x100-new.
func (c *WebCell) name() string {
	conn := "new"
	if c.Reused {
		conn = "reused"
	}
	return fmt.Sprintf("%s-x%d-%s", sizeName(c.Size), c.Concurrency, conn)
}

// pcapName names the capture of one seed of a cell:
// 10KB-x100-new-seed1.pcap.
func (c *WebCell) pcapName(seed int) string {
	return fmt.Sprintf("%s-seed%d.pcap", c.name(), seed)
}

// requestLine is one request of a simulated cell, as SimWebConfig's
// PerRequest receives it: its client, when it started (from the seed's
// first dial), its first byte and completion (from its start; zero if it
// failed), and what each subflow of the answering connection sent of it.
type requestLine struct {
	Cell        string        `json:"cell"`
	Seed        int           `json:"seed"`
	Client      int           `json:"client"`
	StartMs     float64       `json:"start_ms"`
	FirstByteMs float64       `json:"first_byte_ms"`
	DoneMs      float64       `json:"done_ms"`
	Error       string        `json:"error,omitempty"`
	Subflows    []subflowLine `json:"subflows,omitempty"`
}

// subflowLine is what one subflow sent of a request: payload bytes,
// retransmissions included, and segments sent again.
type subflowLine struct {
	Path        string `json:"path"`
	Bytes       uint64 `json:"bytes"`
	Retransmits uint64 `json:"retransmits"`
}

// writeRequests writes one JSON line per request of a cell's seed.
func writeRequests(w io.Writer, cell string, seed int, reqs []simrun.WebRequest) error {
	enc := json.NewEncoder(w)
	for _, q := range reqs {
		line := requestLine{Cell: cell, Seed: seed, Client: q.Client, StartMs: millis(q.Start),
			FirstByteMs: millis(q.FirstByte), DoneMs: millis(q.Done), Error: q.Err}
		for _, sf := range q.Subflows {
			line.Subflows = append(line.Subflows, subflowLine(sf))
		}
		if err := enc.Encode(&line); err != nil {
			return err
		}
	}
	return nil
}

// millis is d in milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// simRequests predicts the median and 99th percentile of sequential
// requests of size bytes, each on a new connection, over several seeds.
func simRequests(sc *scenario.Scenario, size int64, requests, seeds int) (median, p99 Value) {
	cell := simWeb(sc, size, 1, requests, false, SimWebConfig{Seeds: seeds})
	if cell.Error != "" {
		return Value{Error: cell.Error}, Value{Error: "see median"}
	}
	d := map[string]float64{"requests": float64(cell.Requests), "seeds": float64(seeds)}
	return Value{Number: cell.P50Ms, Verified: true, Detail: d}, Value{Number: cell.P99Ms, Verified: true, Detail: d}
}

// DescribePaths summarises a scenario's paths as their rate and one-way
// delay towards the client: "wifi 20 Mbit/s 10ms one-way, ...".
func DescribePaths(sc *scenario.Scenario) string {
	var parts []string
	for _, p := range sc.Paths {
		rate := "unlimited"
		if r := p.Link.Down.Rate; r > 0 {
			rate = strconv.FormatFloat(float64(r)/1e6, 'f', -1, 64) + " Mbit/s"
		}
		parts = append(parts, fmt.Sprintf("%s %s %v one-way", p.Name, rate, p.Link.Down.Delay))
	}
	return strings.Join(parts, ", ")
}

// PacingMode names whether our stack paces, for a table's notes.
func PacingMode(paced bool) string {
	if paced {
		return "paced"
	}
	return "unpaced"
}

// quantile is the nearest-rank q-quantile of xs.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
