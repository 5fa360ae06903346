package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/mptcp-go/mptcp/observe"
)

var cmdTraceShow = &Command{
	Name:  "show",
	Usage: "[-n N] [--kind KINDS] FILE",
	Short: "summarise a trace, or print its first records",
	Long: `Without -n, prints a summary of the trace in FILE: the connection, its
records and events by kind, and per subflow the time it was sampled, the
data it carried, its throughput between its first and last samples, the
share of its TCP bytes retransmitted, its largest congestion window and
its smoothed RTT range; then the scheduler's share of the bytes per
subflow. With -n N, prints the first N records as the file holds them
(of the --kind kinds only, comma-separated: trace, event, sched, sample,
conn).`,
	Run: traceShowFlags,
}

func init() { cmdTrace.Add(cmdTraceShow) }

func traceShowFlags(fs *flag.FlagSet) Action {
	n := fs.Int("n", 0, "print the first `N` records as the file holds them instead of the summary")
	kinds := fs.String("kind", "", "with -n: only records of these `kinds` (comma-separated)")
	return func(inv *Invocation) error {
		if len(inv.Args) != 1 {
			return usagef("want one trace FILE, got %d arguments", len(inv.Args))
		}
		if *n < 0 {
			return usagef("-n %d: want a count", *n)
		}
		keep := splitList(*kinds)
		for _, k := range keep {
			if !slices.Contains(traceKinds, k) {
				return usagef("--kind %q: want %s", k, joinWords(traceKinds, "or"))
			}
		}
		if len(keep) > 0 && *n == 0 {
			return usagef("--kind goes with -n")
		}
		recs, err := observe.ReadTraceFile(inv.Args[0])
		if err != nil {
			return err
		}
		if *n > 0 {
			return printTraceLines(inv.Stdout, inv.Args[0], *n, keep)
		}
		printTraceSummary(inv.Stdout, recs)
		return nil
	}
}

var traceKinds = []string{observe.TraceKindTrace, observe.TraceKindEvent, observe.TraceKindSched, observe.TraceKindSample, observe.TraceKindConn}

// printTraceLines prints the first n lines of the (already validated)
// trace file whose kind is in keep (any, if empty), byte for byte.
func printTraceLines(w io.Writer, name string, n int, keep []string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() && n > 0 {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(keep) == 0 || slices.Contains(keep, r.Kind) {
			fmt.Fprintf(w, "%s\n", line)
			n--
		}
	}
	return sc.Err()
}

// subflowSummary is what printTraceSummary says of one subflow.
type subflowSummary struct {
	local, remote          string
	first, last            float64 // seconds of its first and last sample
	firstBytes, bytes      uint64  // data-level, sent and received, at those samples
	tcpSent, tcpRetrans    uint64
	cwndMax                int
	srttMin, srttMax       float64
	mapped                 int64 // bytes the scheduler put on it
	samples, mappingsTotal int
}

func printTraceSummary(w io.Writer, recs []observe.TraceRecord) {
	count := map[string]int{}
	events := map[string]int{}
	var eventOrder []string
	subs := map[int]*subflowSummary{}
	var mappedAll int64
	for _, r := range recs {
		count[r.Kind]++
		switch r.Kind {
		case observe.TraceKindTrace:
			start := ""
			if r.Start != nil {
				start = ", from " + r.Start.UTC().Format("2006-01-02T15:04:05Z07:00")
			}
			fmt.Fprintf(w, "connection %s, %s side%s\n", r.Token, r.Side, start)
		case observe.TraceKindEvent:
			var ev struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(r.Event, &ev)
			if events[ev.Type] == 0 {
				eventOrder = append(eventOrder, ev.Type)
			}
			events[ev.Type]++
		case observe.TraceKindSched, observe.TraceKindSample:
			if r.Subflow == nil {
				continue
			}
			s := subs[*r.Subflow]
			if s == nil {
				s = &subflowSummary{srttMin: -1}
				subs[*r.Subflow] = s
			}
			if r.Kind == observe.TraceKindSched {
				s.mapped += r.Len
				s.mappingsTotal += r.N
				mappedAll += r.Len
				continue
			}
			s.sample(r)
		}
	}
	for _, r := range recs {
		if r.Kind == observe.TraceKindConn {
			fmt.Fprintf(w, "policies   scheduler %s, congestion control %s, path manager %s\n", r.Scheduler, r.CC, r.PM)
			break
		}
	}
	var kinds []string
	for _, k := range traceKinds {
		if count[k] > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", count[k], k))
		}
	}
	fmt.Fprintf(w, "records    %d: %s\n", len(recs), strings.Join(kinds, ", "))
	var evs []string
	for _, e := range eventOrder {
		evs = append(evs, fmt.Sprintf("%s %d", e, events[e]))
	}
	if len(evs) > 0 {
		fmt.Fprintf(w, "events     %s\n", strings.Join(evs, ", "))
	}
	ids := make([]int, 0, len(subs))
	for id := range subs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "[ID]\tlocal\tremote\tsampled (s)\tdata bytes\tMbit/s\tretrans\tcwnd max (kB)\tsrtt min-max (ms)\tscheduled\t")
	for _, id := range ids {
		s := subs[id]
		rate, retrans, share := "-", "-", "-"
		if s.last > s.first {
			rate = fmt.Sprintf("%.2f", float64(s.bytes-min(s.firstBytes, s.bytes))*8/(s.last-s.first)/1e6)
		}
		if s.tcpSent > 0 {
			retrans = fmt.Sprintf("%.1f%%", float64(s.tcpRetrans)*100/float64(s.tcpSent))
		}
		if mappedAll > 0 {
			share = fmt.Sprintf("%.1f%%", float64(s.mapped)*100/float64(mappedAll))
		}
		fmt.Fprintf(tw, "[%d]\t%s\t%s\t%.1f-%.1f\t%d\t%s\t%s\t%.1f\t%.1f-%.1f\t%s\t\n", id, s.local, s.remote, s.first, s.last,
			s.bytes, rate, retrans, float64(s.cwndMax)/1e3, max(s.srttMin, 0), s.srttMax, share)
	}
	tw.Flush()
}

// sample takes one of the subflow's samples into the summary.
func (s *subflowSummary) sample(r observe.TraceRecord) {
	if s.samples == 0 {
		s.first, s.local, s.remote, s.firstBytes = r.T, r.Local, r.Remote, r.BytesSent+r.BytesReceived
	}
	s.samples++
	s.last = r.T
	s.bytes = r.BytesSent + r.BytesReceived
	s.tcpSent, s.tcpRetrans = r.TCPSent, r.TCPRetrans
	s.cwndMax = max(s.cwndMax, r.Cwnd)
	if r.SRTTMs > 0 && (s.srttMin < 0 || r.SRTTMs < s.srttMin) {
		s.srttMin = r.SRTTMs
	}
	s.srttMax = max(s.srttMax, r.SRTTMs)
}
