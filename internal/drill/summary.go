package drill

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
)

// DirSummary counts the outcomes of the scripts of one directory.
type DirSummary struct {
	Dir         string `json:"dir"`
	Scripts     int    `json:"scripts"`
	Pass        int    `json:"pass"`
	Fail        int    `json:"fail"`
	Unsupported int    `json:"unsupported"`
	Error       int    `json:"error"`
}

// Summarize counts results per directory, in directory order, with a
// total last.
func Summarize(rs []*Result) []DirSummary {
	by := map[string]*DirSummary{}
	total := DirSummary{Dir: "total"}
	for _, r := range rs {
		d := filepath.Base(filepath.Dir(r.Script))
		s := by[d]
		if s == nil {
			s = &DirSummary{Dir: d}
			by[d] = s
		}
		for _, x := range []*DirSummary{s, &total} {
			x.Scripts++
			switch r.Status {
			case Pass:
				x.Pass++
			case Fail:
				x.Fail++
			case Unsupported:
				x.Unsupported++
			default:
				x.Error++
			}
		}
	}
	out := make([]DirSummary, 0, len(by)+1)
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return append(out, total)
}

// WriteTable prints the per-directory pass rates.
func WriteTable(w io.Writer, sum []DirSummary) {
	fmt.Fprintf(w, "%-14s %7s %5s %5s %11s %5s %6s\n", "directory", "scripts", "pass", "fail", "unsupported", "error", "rate")
	for _, s := range sum {
		rate := 0.0
		if s.Scripts > 0 {
			rate = 100 * float64(s.Pass) / float64(s.Scripts)
		}
		fmt.Fprintf(w, "%-14s %7d %5d %5d %11d %5d %5.0f%%\n", s.Dir, s.Scripts, s.Pass, s.Fail, s.Unsupported, s.Error, rate)
	}
}
