// Package sweep runs a scenario over a grid of parameters and seeds and
// merges the results: the engine behind `mptcp sim sweep` and `mptcp sim
// collect`. A sweep is a list of runs, each one `mptcp sim` command line
// writing one JSON result; the runs go to local processes or, emitted one
// command per line, to GNU parallel, a Slurm job array or a Kubernetes
// indexed Job, and collect merges what they wrote.
package sweep

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Param is one swept parameter and its values.
type Param struct {
	Name   string
	Values []string
}

// ParseParam reads name=v1,v2,...
func ParseParam(s string) (Param, error) {
	name, vals, ok := strings.Cut(s, "=")
	if !ok || name == "" || vals == "" {
		return Param{}, fmt.Errorf("%q: want name=value1,value2 (one value or more)", s)
	}
	return Param{Name: name, Values: strings.Split(vals, ",")}, nil
}

// Run is one run of a sweep: a point of the grid and a seed.
type Run struct {
	Index  int               `json:"index"`
	Point  map[string]string `json:"point"`
	Seed   uint64            `json:"seed"`
	Output string            `json:"output"` // the result file, relative to the sweep's directory
	Args   []string          `json:"args"`   // the `mptcp sim` arguments
}

// Manifest describes a sweep, written beside its results so that collect
// knows which run is which.
type Manifest struct {
	Scenario string   `json:"scenario"`
	Params   []string `json:"params"`
	Runs     []Run    `json:"runs"`
}

// ManifestName is the manifest's file name in a sweep's directory.
const ManifestName = "sweep.json"

// Flags maps the parameters that are `mptcp sim` flags to the flag; any
// other parameter fills the scenario's ${name} placeholder.
var Flags = map[string]string{"scheduler": "--scheduler", "cc": "--cc", "pm": "--pm", "duration": "--duration"}

// Plan expands the grid: every combination of the parameters' values,
// for every seed, in a fixed order (the first parameter varies slowest).
func Plan(scenario string, params []Param, seeds []uint64) *Manifest {
	m := &Manifest{Scenario: scenario}
	for _, p := range params {
		m.Params = append(m.Params, p.Name)
	}
	points := []map[string]string{{}}
	for _, p := range params {
		var next []map[string]string
		for _, pt := range points {
			for _, v := range p.Values {
				q := map[string]string{p.Name: v}
				for k, w := range pt {
					q[k] = w
				}
				next = append(next, q)
			}
		}
		points = next
	}
	for _, pt := range points {
		for _, seed := range seeds {
			i := len(m.Runs)
			out := fmt.Sprintf("run-%05d.json", i)
			args := []string{"sim", scenario, "--json", "--seed", fmt.Sprint(seed)}
			for _, p := range params {
				if f, ok := Flags[p.Name]; ok {
					args = append(args, f, pt[p.Name])
				} else {
					args = append(args, "--var", p.Name+"="+pt[p.Name])
				}
			}
			m.Runs = append(m.Runs, Run{Index: i, Point: pt, Seed: seed, Output: out, Args: args})
		}
	}
	return m
}

// Write saves the manifest in dir.
func (m *Manifest) Write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestName), append(b, '\n'), 0o644)
}

// ReadManifest loads the manifest of the sweep in dir.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("sweep: %w (is %s a sweep's output directory?)", err, dir)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", ManifestName, err)
	}
	return &m, nil
}

// Summary is one grid point's merged metrics.
type Summary struct {
	Point   map[string]string `json:"point"`
	Runs    int               `json:"runs"`    // results found
	Missing int               `json:"missing"` // runs with no result (failed or not run yet)
	Metrics map[string]Stat   `json:"metrics"`
}

// Stat is one metric over a point's seeds: the median and a
// distribution-free confidence interval for it.
type Stat struct {
	Median float64 `json:"median"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	// Level is the interval's confidence: 0.95 or more where the number
	// of seeds allows, less with fewer than six.
	Level float64 `json:"level"`
	N     int     `json:"n"`
}

// Collect merges the results in dir by grid point. Every top-level
// numeric field of a result's JSON is a metric (goodput_bps,
// completion_s, jain_index, ...).
func Collect(dir string) (*Manifest, []Summary, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	type acc struct {
		s    Summary
		vals map[string][]float64
	}
	var order []string
	byKey := map[string]*acc{}
	for _, r := range m.Runs {
		key := pointKey(m.Params, r.Point)
		a := byKey[key]
		if a == nil {
			a = &acc{s: Summary{Point: r.Point}, vals: map[string][]float64{}}
			byKey[key] = a
			order = append(order, key)
		}
		b, err := os.ReadFile(filepath.Join(dir, r.Output))
		var fields map[string]any
		if err != nil || json.Unmarshal(b, &fields) != nil {
			a.s.Missing++
			continue
		}
		a.s.Runs++
		for k, v := range fields {
			switch x := v.(type) {
			case float64:
				a.vals[k] = append(a.vals[k], x)
			case bool:
				a.vals[k] = append(a.vals[k], map[bool]float64{false: 0, true: 1}[x])
			}
		}
	}
	out := make([]Summary, 0, len(order))
	for _, k := range order {
		a := byKey[k]
		a.s.Metrics = map[string]Stat{}
		for name, xs := range a.vals {
			a.s.Metrics[name] = MedianCI(xs)
		}
		out = append(out, a.s)
	}
	return m, out, nil
}

func pointKey(params []string, pt map[string]string) string {
	var b strings.Builder
	for _, p := range params {
		b.WriteString(p + "=" + pt[p] + "\x00")
	}
	return b.String()
}

// MedianCI returns the median of xs and the distribution-free confidence
// interval for it from order statistics: the widest k for which
// [x(k), x(n+1-k)] (1-based, sorted) covers the median with probability
// at least 95% under the binomial(n, 1/2) law; with fewer than six
// values that is the whole range, at the level it reaches.
func MedianCI(xs []float64) Stat {
	n := len(xs)
	if n == 0 {
		return Stat{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	// P(B < k) for B ~ Bin(n, 1/2); the interval [x(k), x(n+1-k)] has
	// coverage 1 - 2 P(B < k).
	cdf := func(k int) float64 {
		var p float64
		for i := 0; i < k; i++ {
			p += binom(n, i)
		}
		return p / math.Pow(2, float64(n))
	}
	k := 1
	for k+1 <= n/2 && 1-2*cdf(k+1) >= 0.95 {
		k++
	}
	return Stat{Median: med, Lo: s[k-1], Hi: s[n-k], Level: 1 - 2*cdf(k), N: n}
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}
