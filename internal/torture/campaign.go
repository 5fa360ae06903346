package torture

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"sync"
)

// Record is one run, as a worker reports it.
type Record struct {
	Case    string  `json:"case"`
	Seed    uint64  `json:"seed"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
	// RSS is the peak resident set of the live case's server process
	// (our stack) in the round, in bytes.
	RSS uint64 `json:"server_rss_bytes,omitempty"`
	// Counters are what the live case's servers counted in the round
	// (Attack.Counters) and what the attacker sent.
	Counters map[string]uint64 `json:"counters,omitempty"`
}

// Result sums up one case over its seeds.
type Result struct {
	Case      string `json:"case"`
	MayEnd    bool   `json:"may_end"` // RFC 8684 lets the connection end
	Seeds     int    `json:"seeds"`
	Completed int    `json:"completed"`
	Corrupted int    `json:"corrupted"`
	Ended     int    `json:"ended"`
	Stuck     int    `json:"stuck"`
	// PeakRSS is the largest resident set of the worker processes that
	// ran the case, in bytes (0 when unknown: in-process runs, or a
	// system that does not report it); for a live case, of the server
	// processes of our stack.
	PeakRSS uint64 `json:"peak_rss_bytes"`
	// Attacker and Counters, for a live case: what the attacker knew,
	// and the sums over the rounds of what the servers counted.
	Attacker string            `json:"attacker,omitempty"`
	Counters map[string]uint64 `json:"counters,omitempty"`
	Failures []Record          `json:"failures,omitempty"` // runs that were not a pass
}

// OK reports whether the case passed: nothing corrupted or stuck, and
// no early end unless the RFC allows it.
func (r *Result) OK() bool {
	return r.Corrupted == 0 && r.Stuck == 0 && (r.MayEnd || r.Ended == 0) && r.Completed+r.Ended == r.Seeds
}

// Select returns the simulator cases whose name matches pattern (all for
// "").
func Select(pattern string) ([]Case, error) { return selectFrom(Cases(), pattern) }

// SelectLive returns the live cases whose name matches pattern (all for
// ""); it fails where they cannot run (see LiveAvailable).
func SelectLive(pattern string) ([]Case, error) {
	if err := LiveAvailable(); err != nil {
		return nil, err
	}
	return selectFrom(LiveCases(), pattern)
}

func selectFrom(cases []Case, pattern string) ([]Case, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("torture: case pattern: %w", err)
	}
	var out []Case
	for _, c := range cases {
		if re.MatchString(c.Name) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("torture: no case matches %q", pattern)
	}
	return out, nil
}

// Worker runs the seeds of the named case in this process and writes one
// JSON Record per line to w; server starts the server processes of a
// live case.
func Worker(w io.Writer, name string, seeds []uint64, server ServerLauncher) error {
	var c *Case
	for _, k := range append(Cases(), LiveCases()...) {
		if k.Name == name {
			c = &k
			break
		}
	}
	if c == nil {
		return fmt.Errorf("torture: no case %q", name)
	}
	enc := json.NewEncoder(w)
	return runSeeds(c, seeds, server, func(r Record) error { return enc.Encode(r) })
}

// runSeeds runs case c over seeds in this process and hands each run's
// record to emit.
func runSeeds(c *Case, seeds []uint64, server ServerLauncher, emit func(Record) error) error {
	if c.Live != nil {
		return runLive(c, seeds, server, emit)
	}
	for _, s := range seeds {
		// A fresh case per seed: the closures of a case (a forging tap)
		// keep state from one run, and a tap that learnt the first run's
		// ports forged nothing in the next ones.
		fc, err := selectFrom(Cases(), "^"+regexp.QuoteMeta(c.Name)+"$")
		if err != nil {
			return err
		}
		o, d := Run(&fc[0], s)
		if err := emit(Record{Case: c.Name, Seed: s, Outcome: o, Detail: d}); err != nil {
			return err
		}
	}
	return nil
}

// Campaign runs cases over seeds, in parallel worker processes.
type Campaign struct {
	Cases     []Case
	Seeds     int    // seeds per case
	FirstSeed uint64 // seeds are FirstSeed, FirstSeed+1, ...
	Parallel  int    // worker processes at once (at least 1)
	Chunk     int    // seeds per worker process (default 10)
	// Command returns the command that runs Worker for a case and its
	// seeds (the tool re-executing itself). Nil runs everything in this
	// process, one case at a time (no memory figure).
	Command func(name string, seeds []uint64) *exec.Cmd
	// Progress, if set, is called after each worker finishes.
	Progress func(done, total int)
	// Server starts the server processes of live cases run in this
	// process (Command nil).
	Server ServerLauncher
}

type job struct {
	c     *Case
	seeds []uint64
}

// Run runs the campaign and returns one Result per case, in case order.
func (k *Campaign) Run() ([]Result, error) {
	chunk := k.Chunk
	if chunk <= 0 {
		chunk = 10
	}
	var jobs []job
	res := make(map[string]*Result)
	for i := range k.Cases {
		c := &k.Cases[i]
		res[c.Name] = &Result{Case: c.Name, MayEnd: c.MayEnd, Seeds: k.Seeds}
		if c.Live != nil {
			res[c.Name].Attacker = c.Live.Knowledge
		}
		for s := 0; s < k.Seeds; s += chunk {
			var seeds []uint64
			for j := s; j < min(s+chunk, k.Seeds); j++ {
				seeds = append(seeds, k.FirstSeed+uint64(j))
			}
			jobs = append(jobs, job{c, seeds})
		}
	}
	var mu sync.Mutex
	var firstErr error
	done := 0
	add := func(recs []Record, rss uint64, err error, c *Case) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		r := res[c.Name]
		if c.Live == nil {
			r.PeakRSS = max(r.PeakRSS, rss)
		}
		for _, rec := range recs {
			r.PeakRSS = max(r.PeakRSS, rec.RSS)
			for k, v := range rec.Counters {
				if r.Counters == nil {
					r.Counters = make(map[string]uint64)
				}
				r.Counters[k] += v
			}
			switch rec.Outcome {
			case Completed:
				r.Completed++
			case Corrupted:
				r.Corrupted++
			case Ended:
				r.Ended++
			default:
				r.Stuck++
			}
			if rec.Outcome != Completed && !(rec.Outcome == Ended && c.MayEnd) {
				r.Failures = append(r.Failures, rec)
			}
		}
		done++
		if k.Progress != nil {
			k.Progress(done, len(jobs))
		}
	}
	par := max(1, k.Parallel)
	if k.Command == nil {
		par = 1
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			recs, rss, err := k.runJob(j)
			add(recs, rss, err, j.c)
		}()
	}
	wg.Wait()
	out := make([]Result, 0, len(k.Cases))
	for _, c := range k.Cases {
		r := res[c.Name]
		sort.Slice(r.Failures, func(a, b int) bool { return r.Failures[a].Seed < r.Failures[b].Seed })
		out = append(out, *r)
	}
	return out, firstErr
}

// runJob runs one worker, in a process of its own when the campaign has
// a Command.
func (k *Campaign) runJob(j job) ([]Record, uint64, error) {
	if k.Command == nil {
		var recs []Record
		err := runSeeds(j.c, j.seeds, k.Server, func(r Record) error {
			recs = append(recs, r)
			return nil
		})
		return recs, 0, err
	}
	cmd := k.Command(j.c.Name, j.seeds)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("torture: starting a worker: %w", err)
	}
	var recs []Record
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			recs = append(recs, r)
		}
	}
	werr := cmd.Wait()
	rss := peakRSS(cmd.ProcessState)
	// A worker that died (a panic) leaves its remaining seeds without a
	// record: they count as stuck, with the reason.
	for _, s := range j.seeds[len(recs):] {
		recs = append(recs, Record{Case: j.c.Name, Seed: s, Outcome: Stuck, Detail: fmt.Sprintf("worker failed: %v", werr)})
	}
	return recs, rss, nil
}
