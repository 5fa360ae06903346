package scan

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Config says how a Scanner probes.
type Config struct {
	// Timeout is how long to wait for an answer to each SYN; 1s when zero.
	Timeout time.Duration
	// Retries is how many more SYNs to send when one goes unanswered.
	Retries int
	// Concurrency bounds how many targets are probed at once; 64 when zero.
	Concurrency int
	// Rate bounds the SYNs sent per second over the whole scan; zero means
	// no limit.
	Rate float64
	// V0 sends a version 0 (RFC 6824) MP_CAPABLE, with a key, instead of
	// version 1.
	V0 bool
	// MaxTTL is the largest TTL a path probe tries; 30 when zero.
	MaxTTL int
	// IPv4 and IPv6 say which families to open sockets for.
	IPv4, IPv6 bool
	// Progress, if set, is called after each result (and, for paths,
	// each hop) with the number of targets done, the total, and what
	// just happened. Calls are serialised.
	Progress func(done, total int, last string)
}

func (c *Config) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.MaxTTL <= 0 {
		c.MaxTTL = 30
	}
	if c.MaxTTL > 255 {
		c.MaxTTL = 255
	}
}

// Scanner owns the raw sockets of a scan. Open it, run Scan or Paths, and
// Close it. Its methods may be called from several goroutines.
type Scanner struct {
	cfg    Config
	fams   [2]*rawFamily // IPv4, IPv6
	famErr [2]error      // why a family asked for could not be opened
	mux    *mux
	pace   *pacer
	wg     sync.WaitGroup
	progMu sync.Mutex
}

// Open opens the raw sockets of the families cfg names. Without the
// privilege for raw sockets it returns an error wrapping ErrPermission.
// The sockets belong to the network namespace of the calling thread.
func Open(cfg Config) (*Scanner, error) {
	cfg.defaults()
	if !cfg.IPv4 && !cfg.IPv6 {
		return nil, fmt.Errorf("scan: no address family to open")
	}
	s := &Scanner{cfg: cfg, mux: newMux(uint16(rand.Uint32())), pace: newPacer(cfg.Rate)}
	opened := 0
	for i, want := range []bool{cfg.IPv4, cfg.IPv6} {
		if !want {
			continue
		}
		f, err := openFamily(i == 1)
		if errors.Is(err, ErrPermission) {
			s.Close()
			return nil, err
		}
		if err != nil {
			// A host without IPv6 can still scan IPv4 targets: the
			// other family's targets get this error as their verdict.
			s.famErr[i] = err
			continue
		}
		opened++
		s.fams[i] = f
		v6 := i == 1
		s.wg.Add(2)
		go func() { defer s.wg.Done(); f.readTCP(s.mux.onTCP) }()
		go func() {
			defer s.wg.Done()
			f.readICMP(func(from netip.Addr, b []byte) { s.mux.onICMP(from, v6, b) })
		}()
	}
	if opened == 0 {
		s.Close()
		return nil, errors.Join(s.famErr[0], s.famErr[1])
	}
	return s, nil
}

// Close closes the sockets and waits for the receivers to stop.
func (s *Scanner) Close() error {
	for _, f := range s.fams {
		if f != nil {
			f.close()
		}
	}
	s.wg.Wait()
	return nil
}

func (s *Scanner) family(a netip.Addr) (*rawFamily, error) {
	i := 0
	if a.Is6() {
		i = 1
	}
	if s.fams[i] == nil {
		if s.famErr[i] != nil {
			return nil, s.famErr[i]
		}
		return nil, fmt.Errorf("scan: no socket open for %v's family", a)
	}
	return s.fams[i], nil
}

// progress reports to the Progress callback, one call at a time.
func (s *Scanner) progress(done, total int, last string) {
	if s.cfg.Progress == nil {
		return
	}
	s.progMu.Lock()
	s.cfg.Progress(done, total, last)
	s.progMu.Unlock()
}

// Probe scans one target: it sends up to 1+Retries SYNs, one at a time,
// and returns the verdict of the first answer.
func (s *Scanner) Probe(ctx context.Context, t Target) Result {
	res := Result{Target: t}
	fl, err := s.newFlight(t, false)
	if err != nil {
		res.Verdict, res.Reason = VerdictError, err.Error()
		return res
	}
	defer fl.close()
	for attempt := 0; attempt <= s.cfg.Retries; attempt++ {
		if _, err := fl.send(ctx, DefaultTTL); err != nil {
			res.Verdict, res.Reason = VerdictError, err.Error()
			return res
		}
		res.Attempts++
		timer := time.NewTimer(s.cfg.Timeout)
	wait:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				res.Verdict, res.Reason = VerdictError, ctx.Err().Error()
				return res
			case <-timer.C:
				break wait
			case ev := <-fl.ch:
				var a Answer
				var sp *sentProbe
				if ev.tcp != nil {
					if sp, a = fl.matchTCP(ev); sp == nil {
						continue
					}
					if a.Verdict != VerdictClosed {
						fl.reset(sp.Probe)
					}
					res.From = t.Addr
				} else {
					// An error must quote the SYN's own sequence number, so
					// that a forged one has to guess it; a path that rewrites
					// it ends as filtered all the same, by timeout.
					if sp = fl.matchICMP(ev, false); sp == nil {
						continue
					}
					a = ClassifyICMP(ev.icmpFrom, ev.icmpV6, ev.icmpType, ev.icmpCode)
					res.From = ev.icmpFrom
				}
				timer.Stop()
				res.Verdict, res.MPTCP, res.Reason = a.Verdict, a.MPTCP, a.Reason
				res.RTT = ev.at.Sub(sp.at)
				return res
			}
		}
	}
	res.Verdict = VerdictFiltered
	res.Reason = fmt.Sprintf("no answer to %d SYNs", res.Attempts)
	return res
}

// Scan probes every target, at most Concurrency at a time, and calls emit
// with each result in the order of targets, as soon as it and all before
// it are done. It returns the context's error if the scan was cut short.
func (s *Scanner) Scan(ctx context.Context, targets []Target, emit func(Result)) error {
	return runOrdered(ctx, len(targets), s.cfg.Concurrency,
		func(i int) Result { return s.Probe(ctx, targets[i]) },
		func(i int, r Result) {
			emit(r)
			s.progress(i+1, len(targets), string(r.Verdict))
		})
}

// Paths runs a path probe to every target, at most Concurrency at a
// time, and calls emit with each result in the order of targets.
func (s *Scanner) Paths(ctx context.Context, targets []Target, emit func(PathResult)) error {
	var mu sync.Mutex
	done := 0
	return runOrdered(ctx, len(targets), s.cfg.Concurrency,
		func(i int) PathResult {
			return s.Path(ctx, targets[i], func(h Hop) {
				mu.Lock()
				d := done
				mu.Unlock()
				s.progress(d, len(targets), fmt.Sprintf("%v hop %d", targets[i], h.TTL))
			})
		},
		func(i int, r PathResult) {
			mu.Lock()
			done = i + 1
			mu.Unlock()
			emit(r)
			s.progress(i+1, len(targets), "")
		})
}

// runOrdered runs do(0..n-1) on at most workers goroutines and calls emit
// in index order from one goroutine at a time.
func runOrdered[T any](ctx context.Context, n, workers int, do func(int) T, emit func(int, T)) error {
	results := make([]T, n)
	ready := make([]bool, n)
	var mu sync.Mutex
	nextEmit := 0
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := do(i)
				mu.Lock()
				results[i], ready[i] = r, true
				for nextEmit < n && ready[nextEmit] {
					emit(nextEmit, results[nextEmit])
					var zero T
					results[nextEmit] = zero
					nextEmit++
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return ctx.Err()
}
