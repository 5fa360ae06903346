package compare

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// The implementations compared.
const (
	Kernel = "kernel"
	Ours   = "ours"
	Sim    = "simulator"
)

// Value is one cell of the table: a number, a yes/no, or why there is
// none.
type Value struct {
	// Number is the figure (a ratio, or milliseconds), if measured.
	Number *float64 `json:"value,omitempty"`
	// Bool is a yes/no figure (handover: did the transfer continue).
	Bool *bool `json:"bool,omitempty"`
	// NA says why the figure cannot be measured for this implementation.
	NA string `json:"na,omitempty"`
	// Error says why the measurement failed.
	Error string `json:"error,omitempty"`
	// Verified says every byte the emulated run received was checked
	// against the bytes sent (the simulator checks its own).
	Verified bool `json:"verified"`
	// Failed counts failed requests of a short-flow measurement whose
	// figure comes from the others.
	Failed int `json:"failed,omitempty"`
	// Detail holds the raw quantities behind the figure.
	Detail map[string]float64 `json:"detail,omitempty"`
}

func number(v float64) *float64 { return &v }

// Row is one figure measured three ways.
type Row struct {
	Case   string `json:"case"`
	Metric string `json:"metric"`
	Unit   string `json:"unit"` // "ratio", "ms" or "yes/no"
	Kernel Value  `json:"kernel"`
	Ours   Value  `json:"ours"`
	Sim    Value  `json:"simulator"`
}

// Report is the comparison: the table and how it was made.
type Report struct {
	KernelRelease string   `json:"kernel_release"`
	DurationS     float64  `json:"duration_s"`
	Requests      int      `json:"requests"`
	RequestBytes  int64    `json:"request_bytes"`
	Ours          string   `json:"ours"`
	Rows          []Row    `json:"rows"`
	Notes         []string `json:"notes"`
	ElapsedS      float64  `json:"elapsed_s"`
}

// Errors lists the failed measurements, one line each.
func (r *Report) Errors() []string {
	var out []string
	for _, row := range r.Rows {
		for _, c := range []struct {
			name string
			v    Value
		}{{Kernel, row.Kernel}, {Ours, row.Ours}, {Sim, row.Sim}} {
			if c.v.Error != "" {
				out = append(out, fmt.Sprintf("%s %s, %s: %s", row.Case, row.Metric, c.name, c.v.Error))
			}
		}
	}
	return out
}

// format renders a cell.
func (v Value) format(unit string) string {
	var s string
	switch {
	case v.Error != "":
		return "error*"
	case v.NA != "":
		return "n/a*"
	case v.Bool != nil && *v.Bool:
		s = "yes"
	case v.Bool != nil:
		s = "no"
	case v.Number == nil:
		return "-"
	case unit == "ms":
		s = fmt.Sprintf("%.0f ms", *v.Number)
	default:
		s = fmt.Sprintf("%.2f", *v.Number)
	}
	if v.Failed > 0 {
		s += fmt.Sprintf(" (%d failed)", v.Failed)
	}
	return s
}

// WriteTable prints the report as one table, then what the starred cells
// mean and the notes.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "kernel MPTCP vs mptcp-go on emulated paths, and the simulator's prediction (kernel %s)\n", r.KernelRelease)
	fmt.Fprintf(w, "bulk transfers %s each; %d requests of %d bytes; ours: %s\n\n", time.Duration(r.DurationS*float64(time.Second)), r.Requests, r.RequestBytes, r.Ours)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tmetric\tkernel\tours\tsimulator\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", row.Case, row.Metric, row.Kernel.format(row.Unit), row.Ours.format(row.Unit), row.Sim.format(row.Unit))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var stars []string
	for _, row := range r.Rows {
		for _, c := range []struct {
			name string
			v    Value
		}{{Kernel, row.Kernel}, {Ours, row.Ours}, {Sim, row.Sim}} {
			switch {
			case c.v.Error != "":
				stars = append(stars, fmt.Sprintf("%s %s, %s: failed: %s", row.Case, row.Metric, c.name, c.v.Error))
			case c.v.NA != "":
				stars = append(stars, fmt.Sprintf("%s %s, %s: n/a: %s", row.Case, row.Metric, c.name, c.v.NA))
			}
		}
	}
	if len(stars) > 0 {
		fmt.Fprintln(w)
		for _, s := range stars {
			fmt.Fprintf(w, "* %s\n", s)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", wrap(n))
		}
	}
	_, err := fmt.Fprintf(w, "\ncompleted in %.0f s\n", r.ElapsedS)
	return err
}

// wrap indents the continuation lines of a long note.
func wrap(s string) string {
	var b strings.Builder
	col := 2
	for i, word := range strings.Fields(s) {
		if i > 0 {
			if col+1+len(word) > 78 {
				b.WriteString("\n  ")
				col = 2
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(word)
		col += len(word)
	}
	return b.String()
}
