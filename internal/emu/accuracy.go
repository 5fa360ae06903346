package emu

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// probeHeader is the start of every measurement datagram: a magic number,
// a sequence number and the sender's clock (Unix ns) just before sending.
const probeHeader = 20

const (
	probeMagic = 0x454d5550 // "EMUP"
	loadMagic  = 0x454d554c // "EMUL"
	loadSize   = 1472       // UDP payload of the saturating flow: 1500-byte IP packets
	ipUDPHdr   = 28
)

// AccuracyConfig configures MeasureAccuracy; the zero value measures the
// defaults.
type AccuracyConfig struct {
	// Rates are the link rates measured, in bit/s (default 10, 100 and
	// 1000 Mbit/s).
	Rates []int64
	// Delay is the one-way delay configured on the measured direction
	// (default 10 ms).
	Delay time.Duration
	// Probes is the number of delay probes per row (default 2000), sent
	// ProbeInterval apart (default 500 µs), each ProbeSize bytes of UDP
	// payload (default 64).
	Probes        int
	ProbeInterval time.Duration
	ProbeSize     int
	// Load is how long the saturating flow of each rate runs (default
	// 3 s), offered at Overload times the rate (default 1.2) in
	// 1500-byte packets; the first LoadWarmup of it (default 500 ms) is
	// not measured.
	Load       time.Duration
	Overload   float64
	LoadWarmup time.Duration
	// Options tune the emulator measured.
	Options Options
	// Progress, if set, receives a line as each row starts.
	Progress io.Writer
}

func (c *AccuracyConfig) withDefaults() AccuracyConfig {
	r := *c
	if len(r.Rates) == 0 {
		r.Rates = []int64{10e6, 100e6, 1000e6}
	}
	if r.Delay == 0 {
		r.Delay = 10 * time.Millisecond
	}
	if r.Probes == 0 {
		r.Probes = 2000
	}
	if r.ProbeInterval == 0 {
		r.ProbeInterval = 500 * time.Microsecond
	}
	if r.ProbeSize == 0 {
		r.ProbeSize = 64
	}
	if r.Load == 0 {
		r.Load = 3 * time.Second
	}
	if r.Overload == 0 {
		r.Overload = 1.2
	}
	if r.LoadWarmup == 0 {
		r.LoadWarmup = 500 * time.Millisecond
	}
	return r
}

func (c *AccuracyConfig) validate() error {
	switch {
	case c.Delay < 0, c.ProbeInterval < 0, c.Load < 0, c.LoadWarmup < 0:
		return fmt.Errorf("%w: negative duration in accuracy configuration", ErrInvalidConfig)
	case c.Probes < 0 || c.Probes > 1e6:
		return fmt.Errorf("%w: %d probes, want 1..1000000", ErrInvalidConfig, c.Probes)
	case c.ProbeSize < 0 || (c.ProbeSize != 0 && c.ProbeSize < probeHeader) || c.ProbeSize > 1472:
		return fmt.Errorf("%w: probe size %d, want %d..1472", ErrInvalidConfig, c.ProbeSize, probeHeader)
	case c.Overload < 0 || c.Overload > 10:
		return fmt.Errorf("%w: overload %v, want 1..10", ErrInvalidConfig, c.Overload)
	case c.Load > 0 && c.LoadWarmup >= c.Load:
		return fmt.Errorf("%w: load warm-up %v not shorter than the load %v", ErrInvalidConfig, c.LoadWarmup, c.Load)
	}
	for _, r := range c.Rates {
		if r <= 0 || r > 100e9 {
			return fmt.Errorf("%w: rate %d bit/s, want 1 bit/s..100 Gbit/s", ErrInvalidConfig, r)
		}
	}
	return nil
}

// Distribution summarises a set of durations.
type Distribution struct {
	Count int           `json:"count"`
	Min   time.Duration `json:"min_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
	Mean  time.Duration `json:"mean_ns"`
}

func distribution(v []time.Duration) Distribution {
	if len(v) == 0 {
		return Distribution{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[int(math.Round(p*float64(len(s)-1)))] }
	var sum float64
	for _, x := range s {
		sum += float64(x)
	}
	return Distribution{Count: len(s), Min: s[0], P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: s[len(s)-1], Mean: time.Duration(sum / float64(len(s)))}
}

// AccuracyRow is one measured configuration.
type AccuracyRow struct {
	// Name is "direct" (a veth pair, no emulator: the measurement's own
	// floor), "ideal" (the emulator with an ideal link: its forwarding
	// cost) or the rate.
	Name  string        `json:"name"`
	Rate  int64         `json:"rate_bps"` // bit/s, 0 for none
	Delay time.Duration `json:"delay_ns"` // configured one-way delay
	// Expected is the one-way delay a probe should see: Delay plus its
	// serialisation time at Rate.
	Expected time.Duration `json:"expected_ns"`
	// ProbesSent and OneWay are the probes and their measured one-way
	// delays (kernel receive timestamp minus the sender's clock just
	// before the send); Error is OneWay minus Expected.
	ProbesSent int          `json:"probes_sent"`
	OneWay     Distribution `json:"one_way"`
	Error      Distribution `json:"error"`
	// ProbeLatenessP50 and P99 are how late the emulator wrote the
	// probes (power-of-two upper bounds): its own share of Error.
	ProbeLatenessP50 time.Duration `json:"probe_lateness_p50_ns,omitempty"`
	ProbeLatenessP99 time.Duration `json:"probe_lateness_p99_ns,omitempty"`
	// The saturating flow (rows with a rate): offered and achieved IP
	// rates in bit/s, and RateError = achieved/Rate - 1.
	OfferedBps  float64 `json:"offered_bps,omitempty"`
	AchievedBps float64 `json:"achieved_bps,omitempty"`
	RateError   float64 `json:"rate_error,omitempty"`
	// SenderLimited says the emulator's queue emptied during the
	// measurement: the flow's sender (starved of CPU) left the link idle,
	// and RateError is its shortfall rather than the emulator's.
	SenderLimited bool `json:"sender_limited,omitempty"`
	// The emulator's view of the saturating flow: how late it wrote
	// frames (power-of-two upper bounds), and the frames it lost outside
	// the model.
	LatenessP50       time.Duration `json:"lateness_p50_ns,omitempty"`
	LatenessP99       time.Duration `json:"lateness_p99_ns,omitempty"`
	QueueDrops        uint64        `json:"queue_drops,omitempty"`
	OutsideModelDrops uint64        `json:"outside_model_drops,omitempty"`
}

// AccuracyReport is the result of MeasureAccuracy.
type AccuracyReport struct {
	Kernel  string        `json:"kernel"`
	CPUs    int           `json:"cpus"`
	IO      string        `json:"io"`
	Spin    time.Duration `json:"spin_ns"`
	Started time.Time     `json:"started"`
	Rows    []AccuracyRow `json:"rows"`
}

func us(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64)
}

func rateString(bps float64) string {
	switch {
	case bps >= 1e9:
		return strconv.FormatFloat(bps/1e9, 'f', 3, 64) + " Gbit/s"
	case bps >= 1e6:
		return strconv.FormatFloat(bps/1e6, 'f', 3, 64) + " Mbit/s"
	}
	return strconv.FormatFloat(bps/1e3, 'f', 3, 64) + " kbit/s"
}

// WriteTable prints the report as a table.
func (r *AccuracyReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "emulator accuracy: kernel %s, %d CPUs, I/O %s, spin %v\n", r.Kernel, r.CPUs, r.IO, r.Spin)
	fmt.Fprintf(w, "one-way delay of probes on an idle path (µs); error = measured - (delay + serialisation)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "row\tdelay\texpected\tprobes\tmedian\tp99\tmax\terr median\terr p99\terr max\temu late p99\tachieved rate\trate err\tlate p99 (load)\tdrops*\t")
	for _, x := range r.Rows {
		rate, rerr, late, drops := "-", "-", "-", "-"
		if x.AchievedBps > 0 {
			rate = rateString(x.AchievedBps)
			rerr = strconv.FormatFloat(100*x.RateError, 'f', 3, 64) + " %"
			if x.SenderLimited {
				rerr += " (sender-limited)"
			}
			late = "<" + us(x.LatenessP99)
			drops = strconv.FormatUint(x.OutsideModelDrops, 10)
		}
		plate := "-"
		if x.Name != "direct" {
			plate = "<" + us(x.ProbeLatenessP99)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%d/%d\t%s\t%s\t%s\t%+.1f\t%+.1f\t%+.1f\t%s\t%s\t%s\t%s\t%s\t\n",
			x.Name, x.Delay, us(x.Expected), x.OneWay.Count, x.ProbesSent,
			us(x.OneWay.P50), us(x.OneWay.P99), us(x.OneWay.Max),
			float64(x.Error.P50)/1e3, float64(x.Error.P99)/1e3, float64(x.Error.Max)/1e3,
			plate, rate, rerr, late, drops)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "* frames lost outside the link model (receive ring full, no memory, send errors) during the saturating flow")
	return err
}

// WriteJSON prints the report as indented JSON.
func (r *AccuracyReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
