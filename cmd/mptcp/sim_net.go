package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/mptcp-go/mptcp/internal/simrun"
	"github.com/mptcp-go/mptcp/scenario"
)

// netSimFlags are `mptcp sim`'s flags as a version 2 run takes them.
type netSimFlags struct {
	opts     simrun.NetOptions
	interval time.Duration
	pcap     string
	json     bool
	plot     string
	csv      string
}

// runNetSim runs a version 2 scenario file.
func runNetSim(name string, src []byte, fl netSimFlags, stdout io.Writer) error {
	n, err := scenario.ParseNet(src)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if fl.interval > 0 {
		n.Interval = fl.interval
		d := n.Duration
		if fl.opts.Duration > 0 {
			d = fl.opts.Duration
		}
		if err := simrun.CheckInterval(d, n.Interval); err != nil {
			return usagef("--interval: %v", err)
		}
	}
	var plotFormat string
	var plot *output
	if fl.plot != "" {
		if plotFormat, err = simrun.PlotFormat(fl.plot); err != nil {
			return usagef("--plot: %v", err)
		}
		if plot, err = openOutput(fl.plot, "--plot"); err != nil {
			return err
		}
		defer plot.abandon()
	}
	var csvs []*output
	if fl.csv != "" {
		for _, t := range []string{simrun.CSVFlows, simrun.CSVLinks, simrun.CSVSeries} {
			o, err := openOutput(fl.csv+"-"+t+".csv", "--csv")
			if err != nil {
				return err
			}
			defer o.abandon()
			csvs = append(csvs, o)
		}
	}
	if fl.pcap != "" {
		f, err := os.Create(fl.pcap)
		if err != nil {
			return fmt.Errorf("--pcap: %w", err)
		}
		defer f.Close()
		fl.opts.Pcap = f
	}
	res, err := simrun.RunNet(n, fl.opts)
	if err != nil {
		return err
	}
	if plot != nil {
		if err := plot.write(func(w io.Writer) error { return simrun.PlotNet(w, res, plotFormat) }); err != nil {
			return err
		}
	}
	for i, t := range []string{simrun.CSVFlows, simrun.CSVLinks, simrun.CSVSeries}[:len(csvs)] {
		if err := csvs[i].write(func(w io.Writer) error { return simrun.WriteCSV(w, res, t) }); err != nil {
			return err
		}
	}
	if fl.json {
		if err := writeIndentedJSON(stdout, res); err != nil {
			return err
		}
	} else {
		printNetSim(stdout, res)
	}
	if !res.IntegrityOK {
		return fmt.Errorf("data integrity check failed")
	}
	if res.Error != "" {
		return fmt.Errorf("%s", res.Error)
	}
	return nil
}

// output is a file a run writes when it ends (--plot, --csv). It is
// opened before the run, so that a path that cannot be written fails at
// once instead of after minutes of simulation; an existing file is only
// truncated when the run has something to put in it.
type output struct {
	f       *os.File
	flag    string
	created bool // the file did not exist before: abandon removes it
}

// openOutput opens name for writing when the run ends; flag names the
// option in errors.
func openOutput(name, flag string) (*output, error) {
	_, statErr := os.Stat(name)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return &output{f: f, flag: flag, created: statErr != nil}, nil
}

// write replaces the file's contents with what fill writes and closes it.
func (o *output) write(fill func(io.Writer) error) error {
	err := o.f.Truncate(0)
	if err == nil {
		err = fill(o.f)
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.flag, err)
	}
	return nil
}

// abandon closes a file the run did not write, removing it if the run
// created it. It does nothing after write, and on nil.
func (o *output) abandon() {
	if o == nil || o.f.Close() != nil { // closed already: written
		return
	}
	if o.created {
		os.Remove(o.f.Name())
	}
}

// printNetSim prints a version 2 run: one line per flow, the totals, and
// the busiest links.
func printNetSim(w io.Writer, res *simrun.NetResult) {
	fmt.Fprintf(w, "scenario %s, seed %d, %gs simulated, %d flows\n", res.Scenario, res.Seed, res.DurationS, len(res.Flows))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "flow\tserver>client\tproto\tcc\tsubflows\tgoodput Mbit/s\tdone (s)\tobjects\tp50 (s)\tretrans\tooo mean/max kB\t")
	for _, f := range res.Flows {
		done := "-"
		if f.Completed {
			done = fmt.Sprintf("%.3f", f.CompletionS)
		}
		p50 := "-"
		if f.Objects > 0 {
			p50 = fmt.Sprintf("%.3f", f.ObjectP50S)
		}
		fmt.Fprintf(tw, "%s\t%s>%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%d\t%.1f/%.1f\t\n", f.Name, f.To, f.From, f.Protocol, f.CC, f.Subflows,
			mbps(f.GoodputBps), done, f.Objects, p50, f.Retransmits, f.OutOfOrderMeanBytes/1e3, float64(f.OutOfOrderMaxBytes)/1e3)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntotal goodput    %s Mbit/s, mean %s Mbit/s per flow, Jain index %.3f\n", mbps(res.TotalGoodputBps), mbps(res.MeanGoodputBps), res.JainIndex)
	links := append([]simrun.LinkResult(nil), res.Links...)
	sort.SliceStable(links, func(i, j int) bool { return links[i].Utilisation > links[j].Utilisation })
	if len(links) > 0 {
		var mean float64
		for _, l := range links {
			mean += l.Utilisation
		}
		fmt.Fprintf(w, "links            %d directions, mean utilisation %.1f %%; busiest:", len(links), 100*mean/float64(len(links)))
		for _, l := range links[:min(3, len(links))] {
			fmt.Fprintf(w, " %s>%s %.1f %%", l.From, l.To, 100*l.Utilisation)
		}
		fmt.Fprintln(w)
	}
	integrity := "verified: every byte delivered once, in order, unaltered"
	if !res.IntegrityOK {
		integrity = "FAILED"
	}
	fmt.Fprintf(w, "data integrity   %s\n", integrity)
}
