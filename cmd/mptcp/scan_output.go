package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp/scan"
	"github.com/mptcp-go/mptcp/wire"
	"golang.org/x/term"
)

// scanOutput prints the results of a scan or of path probes, as text or as
// JSON, and a progress line on stderr when stderr is a terminal.
type scanOutput struct {
	mu       sync.Mutex
	stdout   io.Writer
	stderr   io.Writer
	json     bool
	addrW    int // width of the address column
	header   bool
	counts   map[scan.Verdict]int
	done     int
	errors   int
	total    int
	tty      bool
	lastProg time.Time
	progLine bool // a progress line is on screen
}

func newScanOutput(stdout, stderr io.Writer, targets []scan.Target, jsonOut bool) *scanOutput {
	o := &scanOutput{stdout: stdout, stderr: stderr, json: jsonOut, counts: make(map[scan.Verdict]int),
		total: len(targets), tty: isTerminal(stderr), addrW: len("ADDRESS")}
	for _, t := range targets {
		o.addrW = max(o.addrW, len(t.Addr.String()))
	}
	return o
}

// isTerminal reports whether w is a terminal, where a progress line that
// rewrites itself is welcome (and never in a pipe or a file).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// progress implements scan.Config.Progress.
func (o *scanOutput) progress(done, total int, last string) {
	if !o.tty {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if now.Sub(o.lastProg) < 100*time.Millisecond && done < total {
		return
	}
	o.lastProg = now
	line := fmt.Sprintf("scanned %d/%d", done, total)
	if s := o.summary(); s != "" {
		line += ": " + s
	}
	if last != "" && strings.Contains(last, "hop") {
		line += "; probing " + last
	}
	fmt.Fprintf(o.stderr, "\r\x1b[K%s", line)
	o.progLine = true
}

// clearProgress removes the progress line before other output; the caller
// holds o.mu.
func (o *scanOutput) clearProgress() {
	if o.progLine {
		fmt.Fprint(o.stderr, "\r\x1b[K")
		o.progLine = false
	}
}

// summary counts the verdicts so far, for example "2 mptcp-v1, 1 closed".
func (o *scanOutput) summary() string {
	var parts []string
	for _, v := range []scan.Verdict{scan.VerdictMPTCPv1, scan.VerdictMPTCPv0, scan.VerdictTCPOnly, scan.VerdictClosed, scan.VerdictFiltered, scan.VerdictError} {
		if n := o.counts[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	var other []string
	for v, n := range o.counts {
		switch v {
		case scan.VerdictMPTCPv1, scan.VerdictMPTCPv0, scan.VerdictTCPOnly, scan.VerdictClosed, scan.VerdictFiltered, scan.VerdictError:
		default:
			other = append(other, fmt.Sprintf("%d %s", n, v))
		}
	}
	sort.Strings(other)
	return strings.Join(append(parts, other...), ", ")
}

// result prints one scan result.
func (o *scanOutput) result(r scan.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearProgress()
	o.done++
	o.counts[r.Verdict]++
	if r.Verdict == scan.VerdictError {
		o.errors++
	}
	if o.json {
		writeScanJSON(o.stdout, r)
		return
	}
	if !o.header {
		fmt.Fprintf(o.stdout, "%-*s  %5s  %-9s  %-6s  %s\n", o.addrW, "ADDRESS", "PORT", "VERDICT", "FLAGS", "DETAIL")
		o.header = true
	}
	flags, detail := "-", r.Reason
	if r.MPTCP != nil {
		flags = r.MPTCP.Flags.String()
		detail = r.MPTCP.Describe()
	}
	if r.RTT > 0 {
		detail += fmt.Sprintf(" (rtt %s)", fmtRTT(r.RTT))
	}
	fmt.Fprintf(o.stdout, "%-*s  %5d  %-9s  %-6s  %s\n", o.addrW, r.Addr, r.Port, r.Verdict, flags, detail)
}

// path prints one path probe.
func (o *scanOutput) path(r scan.PathResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearProgress()
	o.done++
	if r.Final != nil {
		o.counts[r.Final.Verdict]++
	}
	if o.json {
		writeScanJSON(o.stdout, r)
		return
	}
	w := o.stdout
	if o.header {
		fmt.Fprintln(w)
	}
	o.header = true
	fmt.Fprintf(w, "path to %v port %d\n", r.Addr, r.Port)
	addrW := len("*")
	for _, h := range r.Hops {
		if h.From.IsValid() {
			addrW = max(addrW, len(h.From.String()))
		}
	}
	for _, h := range r.Hops {
		from := "*"
		if h.From.IsValid() {
			from = h.From.String()
		}
		fmt.Fprintf(w, "%4d  %-*s  %s\n", h.TTL, addrW, from, describeHop(h))
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %s\n", r.Describe(f))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if r.Final != nil {
		fmt.Fprintf(w, "  verdict: %s\n", r.Final.Verdict)
	} else {
		fmt.Fprintf(w, "  verdict: destination not reached\n")
	}
}

// describeHop says in one line what came back for a TTL.
func describeHop(h scan.Hop) string {
	switch h.Kind {
	case scan.HopSilent:
		return "no answer"
	case scan.HopDestination:
		s := "destination: " + string(h.Answer.Verdict)
		if h.Answer.MPTCP != nil {
			s += " (" + h.Answer.MPTCP.Describe() + ")"
		} else {
			s += " (" + h.Answer.Reason + ")"
		}
		return s
	}
	q := h.Quote
	s := ""
	if h.Kind == scan.HopUnreachable {
		s = h.ICMP + ", "
	}
	s += fmt.Sprintf("quoted %v (%d bytes of TCP", q.Coverage, q.TCPBytes)
	switch q.Coverage {
	case wire.CoverageFixedHeader:
		s += fmt.Sprintf(", %d of %d option bytes", q.OptionBytes, q.SentOptionBytes)
	case wire.CoverageFullHeader:
	default:
		s += ", too little to see options"
	}
	s += "): "
	if len(q.Changes) == 0 {
		return s + "no change"
	}
	var cs []string
	for _, c := range q.Changes {
		cs = append(cs, c.String())
	}
	return s + strings.Join(cs, "; ")
}

// finish clears the progress line and, for a text scan, prints a summary.
func (o *scanOutput) finish() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearProgress()
	if !o.json && o.done > 1 {
		fmt.Fprintf(o.stdout, "%d of %d targets: %s\n", o.done, o.total, o.summary())
	}
}

func fmtRTT(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
