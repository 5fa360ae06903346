package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Dist is a distribution of sizes (bytes) or gaps (seconds): a fixed
// value, or exp(mean), pareto(mean,shape), uniform(lo,hi).
type Dist struct {
	Kind string // "fixed", "exp", "pareto", "uniform"; "" is fixed 0
	A, B float64
}

// ParseDist reads a distribution whose values unit parses ("100KiB",
// "20ms").
func ParseDist(s string, unit func(string) (float64, error)) (Dist, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Dist{}, fmt.Errorf("missing (examples: 100KiB, exp(100KiB), pareto(100KiB,1.5), uniform(10KiB,1MiB))")
	}
	open := strings.IndexByte(s, '(')
	if open < 0 {
		v, err := unit(s)
		return Dist{Kind: "fixed", A: v}, err
	}
	if !strings.HasSuffix(s, ")") {
		return Dist{}, fmt.Errorf("%q: missing ')'", s)
	}
	kind, args := strings.ToLower(s[:open]), strings.Split(s[open+1:len(s)-1], ",")
	d := Dist{Kind: kind}
	var err error
	switch {
	case kind == "exp" && len(args) == 1:
		d.A, err = unit(strings.TrimSpace(args[0]))
	case kind == "pareto" && len(args) == 2:
		if d.A, err = unit(strings.TrimSpace(args[0])); err == nil {
			d.B, err = strconv.ParseFloat(strings.TrimSpace(args[1]), 64)
			if err == nil && !(d.B > 1) {
				err = fmt.Errorf("pareto shape %v: must exceed 1 for a finite mean", d.B)
			}
		}
	case kind == "uniform" && len(args) == 2:
		if d.A, err = unit(strings.TrimSpace(args[0])); err == nil {
			d.B, err = unit(strings.TrimSpace(args[1]))
			if err == nil && d.B < d.A {
				err = fmt.Errorf("uniform(%s): the upper bound is below the lower", s[open+1:len(s)-1])
			}
		}
	default:
		return Dist{}, fmt.Errorf("%q: want exp(mean), pareto(mean,shape) or uniform(lo,hi)", s)
	}
	return d, err
}

// Sample draws a value.
func (d Dist) Sample(r *rand.Rand) float64 {
	switch d.Kind {
	case "exp":
		return r.ExpFloat64() * d.A
	case "pareto":
		// Scale x_m gives mean x_m*shape/(shape-1).
		xm := d.A * (d.B - 1) / d.B
		return xm / math.Pow(1-r.Float64(), 1/d.B)
	case "uniform":
		return d.A + r.Float64()*(d.B-d.A)
	}
	return d.A
}

// Mean is the distribution's mean.
func (d Dist) Mean() float64 {
	if d.Kind == "uniform" {
		return (d.A + d.B) / 2
	}
	return d.A
}
