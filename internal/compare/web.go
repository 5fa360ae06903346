package compare

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WebCell is one cell of the web-shaped benchmark: requests of one size
// at one concurrency, on new or reused connections, for one
// implementation.
type WebCell struct {
	Impl        string `json:"impl"`
	Size        int64  `json:"size"`
	Concurrency int    `json:"concurrency"`
	Reused      bool   `json:"reused"`
	// Requests completed, and failed.
	Requests int `json:"requests"`
	Failed   int `json:"failed,omitempty"`
	// Completion and time to first byte, in milliseconds: from the dial
	// on a new connection, from the request's write on a reused one.
	P50Ms     *float64 `json:"p50_ms,omitempty"`
	P99Ms     *float64 `json:"p99_ms,omitempty"`
	TTFBP50Ms *float64 `json:"ttfb_p50_ms,omitempty"`
	TTFBP99Ms *float64 `json:"ttfb_p99_ms,omitempty"`
	// PerSecond is requests completed per second of the cell's wall time:
	// on new connections, the connections the server accepted and served
	// per second.
	PerSecond *float64 `json:"per_second,omitempty"`
	// NA says why the cell was not measured; Error why it failed.
	NA    string `json:"na,omitempty"`
	Error string `json:"error,omitempty"`
}

// WebReport is the web-shaped benchmark's result.
type WebReport struct {
	KernelRelease string    `json:"kernel_release,omitempty"`
	Paths         string    `json:"paths"`
	Cells         []WebCell `json:"cells"`
	Notes         []string  `json:"notes"`
	ElapsedS      float64   `json:"elapsed_s"`
}

// Errors lists the failed cells, one line each.
func (r *WebReport) Errors() []string {
	var out []string
	for _, c := range r.Cells {
		if c.Error != "" {
			out = append(out, fmt.Sprintf("%s %s: %s", c.Impl, c.label(), c.Error))
		}
	}
	return out
}

func (c *WebCell) label() string {
	conn := "new"
	if c.Reused {
		conn = "reused"
	}
	return fmt.Sprintf("%s x%d %s", sizeName(c.Size), c.Concurrency, conn)
}

// sizeName is 1KB, 100KB, 1MB.
func sizeName(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.FormatInt(n/1_000_000, 10) + "MB"
	case n >= 1000 && n%1000 == 0:
		return strconv.FormatInt(n/1000, 10) + "KB"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// WriteTable prints one line per size, concurrency and connection kind,
// with each implementation's p50/p99 completion, TTFB p50 and rate.
func (r *WebReport) WriteTable(w io.Writer) error {
	type key struct {
		size   int64
		conc   int
		reused bool
	}
	cells := map[key]map[string]*WebCell{}
	var keys []key
	var impls []string
	for i := range r.Cells {
		c := &r.Cells[i]
		k := key{c.Size, c.Concurrency, c.Reused}
		if cells[k] == nil {
			cells[k] = map[string]*WebCell{}
			keys = append(keys, k)
		}
		cells[k][c.Impl] = c
		if !contains(impls, c.Impl) {
			impls = append(impls, c.Impl)
		}
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.reused != b.reused {
			return !a.reused
		}
		if a.size != b.size {
			return a.size < b.size
		}
		return a.conc < b.conc
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if r.KernelRelease != "" {
		fmt.Fprintf(tw, "kernel %s; ", r.KernelRelease)
	}
	fmt.Fprintf(tw, "paths: %s\n", r.Paths)
	hdr := []string{"size", "conc", "conn"}
	for _, im := range impls {
		hdr = append(hdr, im+" p50/p99 ms", im+" ttfb p50", im+" req/s")
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	for _, k := range keys {
		conn := "new"
		if k.reused {
			conn = "reused"
		}
		line := []string{sizeName(k.size), strconv.Itoa(k.conc), conn}
		for _, im := range impls {
			c := cells[k][im]
			switch {
			case c == nil:
				line = append(line, "-", "-", "-")
			case c.Error != "":
				line = append(line, "failed", "-", "-")
			case c.NA != "":
				line = append(line, "n/a", "-", "-")
			default:
				line = append(line, ms(c.P50Ms)+"/"+ms(c.P99Ms), ms(c.TTFBP50Ms), ms(c.PerSecond))
			}
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintf(w, "- %s\n", n); err != nil {
			return err
		}
	}
	if r.ElapsedS == 0 {
		return nil // virtual time only
	}
	_, err := fmt.Fprintf(w, "elapsed %.0f s\n", r.ElapsedS)
	return err
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func ms(v *float64) string {
	if v == nil {
		return "-"
	}
	if *v >= 100 {
		return strconv.FormatFloat(*v, 'f', 0, 64)
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}

// oversize says why a cell of total requests of size bytes is not
// measured when they would move more than maxBytes, and is empty when
// it is measured.
func oversize(total int, size, maxBytes int64) string {
	if int64(total)*size <= maxBytes {
		return ""
	}
	return fmt.Sprintf("%d requests of %s move more than %d bytes", total, sizeName(size), maxBytes)
}

// webSummary is a cell's figures in a progress line.
func webSummary(c *WebCell) string {
	switch {
	case c.Error != "":
		return "failed: " + c.Error
	case c.NA != "":
		return "n/a: " + c.NA
	}
	return fmt.Sprintf("p50 %s ms, p99 %s ms, %d requests", ms(c.P50Ms), ms(c.P99Ms), c.Requests)
}

// timing is one request's completion and time to first byte.
type timing struct{ done, ttfb time.Duration }

// fetch sends one request for size bytes on c and reads the answer,
// verifying every byte: until EOF on a connection the server closes,
// exactly size bytes on one it keeps (keep). Times are from start.
func fetch(c net.Conn, size int64, keep bool, start time.Time) (timing, error) {
	var hdr [headerLen]byte
	h := uint64(size)
	if keep {
		h |= keepOpen
	}
	binary.BigEndian.PutUint64(hdr[:], h)
	if _, err := c.Write(hdr[:]); err != nil {
		return timing{}, fmt.Errorf("request: %w", err)
	}
	var t timing
	buf := make([]byte, min(size, 64<<10)+1)
	var got int64
	for !keep || got < size {
		n, err := c.Read(buf)
		if n > 0 {
			if t.ttfb == 0 {
				t.ttfb = time.Since(start)
			}
			if got+int64(n) > size {
				return timing{}, fmt.Errorf("%d bytes past the %d requested", got+int64(n)-size, size)
			}
			if verr := verify(got, buf[:n]); verr != nil {
				return timing{}, verr
			}
			got += int64(n)
		}
		if err == io.EOF && !keep {
			break
		}
		if err != nil {
			return timing{}, fmt.Errorf("after %d of %d bytes: %w", got, size, err)
		}
	}
	if got != size {
		return timing{}, fmt.Errorf("got %d of %d bytes", got, size)
	}
	t.done = time.Since(start)
	return t, nil
}

// webRequests runs total requests of size bytes over conc workers, each
// on a new connection or on one connection per worker reused for all its
// requests, and returns the cell (Impl unset).
func webRequests(ctx context.Context, dial dialFunc, size int64, conc, total int, reused bool) WebCell {
	cell := WebCell{Size: size, Concurrency: conc, Reused: reused}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	type result struct {
		ts  []timing
		err error
		n   int // failed
	}
	results := make(chan result, conc)
	per := (total + conc - 1) / conc
	start := time.Now()
	for range conc {
		go func() {
			var r result
			fail := func(err error) {
				r.n++
				if r.err == nil {
					r.err = err
				}
			}
			var c net.Conn
			for range per {
				if ctx.Err() != nil {
					fail(ctx.Err())
					continue
				}
				t0 := time.Now()
				if c == nil {
					var err error
					if c, err = dial(ctx); err != nil {
						fail(fmt.Errorf("dial: %w", err))
						continue
					}
					if dl, ok := ctx.Deadline(); ok {
						c.SetDeadline(dl)
					}
					if reused {
						// The first request pays the dial; the figure
						// of a reused connection starts at its write.
						if _, err := fetch(c, size, true, t0); err != nil {
							fail(err)
							c.Close()
							c = nil
							continue
						}
						t0 = time.Now()
					}
				}
				t, err := fetch(c, size, reused, t0)
				if err != nil {
					fail(err)
				} else {
					r.ts = append(r.ts, t)
				}
				if !reused || err != nil {
					c.Close()
					c = nil
				}
			}
			if c != nil {
				c.Close()
			}
			results <- r
		}()
	}
	var done, ttfb []float64
	var first error
	for range conc {
		r := <-results
		for _, t := range r.ts {
			done = append(done, millis(t.done))
			ttfb = append(ttfb, millis(t.ttfb))
		}
		cell.Failed += r.n
		if first == nil {
			first = r.err
		}
	}
	el := time.Since(start)
	cell.Requests = len(done)
	if len(done) == 0 {
		cell.Error = "no request completed"
		if first != nil {
			cell.Error += ": " + first.Error()
		}
		return cell
	}
	cell.P50Ms, cell.P99Ms = number(quantile(done, 0.5)), number(quantile(done, 0.99))
	cell.TTFBP50Ms, cell.TTFBP99Ms = number(quantile(ttfb, 0.5)), number(quantile(ttfb, 0.99))
	cell.PerSecond = number(float64(len(done)) / el.Seconds())
	if first != nil && cell.Failed > 0 {
		cell.Error = fmt.Sprintf("%d of %d requests failed, the first: %v", cell.Failed, cell.Failed+cell.Requests, first)
	}
	return cell
}
