package main

import (
	"encoding/json"
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
	if fl.plot != "" {
		if plotFormat, err = simrun.PlotFormat(fl.plot); err != nil {
			return usagef("--plot: %v", err)
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
	if fl.plot != "" {
		if err := writeFile(fl.plot, "--plot", func(w io.Writer) error { return simrun.PlotNet(w, res, plotFormat) }); err != nil {
			return err
		}
	}
	if fl.csv != "" {
		for _, t := range []string{simrun.CSVFlows, simrun.CSVLinks, simrun.CSVSeries} {
			if err := writeFile(fl.csv+"-"+t+".csv", "--csv", func(w io.Writer) error { return simrun.WriteCSV(w, res, t) }); err != nil {
				return err
			}
		}
	}
	if fl.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
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

// writeFile creates name and writes it with fill; flag names the option
// in errors.
func writeFile(name, flag string, fill func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", flag, err)
	}
	return f.Close()
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
