//go:build linux

package perfbench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the result as a table, one row per case.
func (r *Result) WriteTable(w io.Writer) error {
	pacing := "unpaced"
	if r.Pacing {
		pacing = "paced"
	}
	fmt.Fprintf(w, "Linux %s, %d CPUs, %v per transfer, %d connection(s) at once, median of %d, TUN driver %s, ours %s; load before %s, after %s\n\n",
		r.Kernel, r.CPUs, r.Duration, max(r.Streams, 1), r.Repeat, r.Driver, pacing, short(r.LoadBefore), short(r.LoadAfter))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sender -> receiver\tsubflows\tloops\tGbit/s\tvs kernel\tvs TCP\tcarrying\tCPU\tGbit/s per CPU s\t")
	for _, row := range r.Rows {
		if row.Error != "" {
			fmt.Fprintf(tw, "%s\t%d\t%s\tfailed\t\t\t\t\t\t %s\n", row.Name, row.Subflows, loops(row.Loops), row.Error)
			continue
		}
		ratio, tcpRatio := "-", "-"
		if row.Ratio > 0 {
			ratio = fmt.Sprintf("%.0f%%", row.Ratio*100)
		}
		if row.TCPRatio > 0 {
			tcpRatio = fmt.Sprintf("%.0f%%", row.TCPRatio*100)
		}
		cpu, eff := "-", "-"
		if row.CPU > 0 {
			cpu = fmt.Sprintf("%.2f", row.CPU)
			eff = fmt.Sprintf("%.2f", row.GbpsPerCPU)
		}
		note := ""
		if row.Failures > 0 {
			note = fmt.Sprintf(" (%d run(s) failed)", row.Failures)
		}
		carrying := fmt.Sprint(row.Carrying)
		if row.Iperf3 {
			carrying = "-" // iperf3 does not say
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Name, row.Subflows, loops(row.Loops), row.Gbps, ratio, tcpRatio, carrying, cpu, eff, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nGbit/s: receiver goodput; vs kernel: against the faster kernel -> kernel MPTCP row (Go perf or iperf3) with as many subflows;")
	fmt.Fprintln(w, "vs TCP: against kernel -> kernel (TCP), one plain TCP flow over the same veth;")
	fmt.Fprintln(w, "loops: our stack's protocol loops, each on its own queue of a multi-queue TUN device;")
	fmt.Fprintln(w, "carrying: subflows with at least 5% of the bytes (of the connection with the fewest);")
	fmt.Fprintln(w, "CPU: this process's CPU seconds per second (both ends, user and system time, which includes the kernel's")
	fmt.Fprintln(w, "work in the process's system calls).")
	return nil
}

// loops prints a row's loop count, "-" for rows without our stack.
func loops(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// short keeps the three load averages of /proc/loadavg.
func short(load string) string {
	f := strings.Fields(load)
	if len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return load
}
