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

// flight is the probes of one target in flight: their answers arrive on ch.
type flight struct {
	s      *Scanner
	fam    *rawFamily
	target Target
	src    netip.Addr
	ch     chan event
	probes map[uint16]*Probe
	sentAt map[uint16]time.Time
}

func (s *Scanner) newFlight(t Target) (*flight, error) {
	fam, err := s.family(t.Addr)
	if err != nil {
		return nil, err
	}
	src, err := fam.source(t.Addr)
	if err != nil {
		return nil, err
	}
	return &flight{s: s, fam: fam, target: t, src: src, ch: make(chan event, 16),
		probes: make(map[uint16]*Probe), sentAt: make(map[uint16]time.Time)}, nil
}

// send builds and sends one SYN with the given TTL, after waiting for the
// rate limit.
func (fl *flight) send(ctx context.Context, ttl uint8) (*Probe, error) {
	if err := fl.s.pace.wait(ctx); err != nil {
		return nil, err
	}
	lport, err := fl.s.mux.register(fl.target.Addr, fl.target.Port, fl.ch)
	if err != nil {
		return nil, err
	}
	p := &Probe{Src: fl.src, Dst: fl.target.Addr, SrcPort: lport, DstPort: fl.target.Port,
		ISN: rand.Uint32(), TTL: ttl, IPID: uint16(rand.Uint32()) | 1, TSVal: rand.Uint32(), V0: fl.s.cfg.V0, Key: rand.Uint64()}
	fl.probes[lport] = p
	if err := p.Build(); err != nil {
		return nil, err
	}
	fl.sentAt[lport] = time.Now()
	if err := fl.fam.send(p.Packet, fl.target.Addr); err != nil {
		return nil, fmt.Errorf("sending to %v: %w", fl.target, err)
	}
	return p, nil
}

// reset aborts the half-open connection a SYN/ACK opened.
func (fl *flight) reset(p *Probe) { _ = fl.fam.send(p.ResetPacket(), p.Dst) }

// forget stops listening for answers to the probes sent so far.
func (fl *flight) forget() {
	for lport := range fl.probes {
		fl.s.mux.unregister(fl.target.Addr, fl.target.Port, lport)
	}
	clear(fl.probes)
}

// Probe scans one target: it sends up to 1+Retries SYNs, one at a time,
// and returns the verdict of the first answer.
func (s *Scanner) Probe(ctx context.Context, t Target) Result {
	res := Result{Target: t}
	fl, err := s.newFlight(t)
	if err != nil {
		res.Verdict, res.Reason = VerdictError, err.Error()
		return res
	}
	defer fl.forget()
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
				p := fl.probes[ev.lport]
				if p == nil {
					continue
				}
				var a Answer
				if ev.tcp != nil {
					var ok bool
					if a, ok = ClassifyTCP(p, ev.tcp); !ok {
						continue
					}
					if a.Verdict != VerdictClosed {
						fl.reset(p)
					}
					res.From = t.Addr
				} else {
					// An error must quote the SYN's own sequence number, so
					// that a forged one has to guess it; a path that rewrites
					// it ends as filtered all the same, by timeout.
					if seq, ok := ev.quote.TCP().Seq(); ok && seq != p.ISN {
						continue
					}
					a = ClassifyICMP(ev.icmpFrom, ev.icmpV6, ev.icmpType, ev.icmpCode)
					res.From = ev.icmpFrom
				}
				timer.Stop()
				res.Verdict, res.MPTCP, res.Reason = a.Verdict, a.MPTCP, a.Reason
				res.RTT = ev.at.Sub(fl.sentAt[ev.lport])
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
