package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mptcp-go/mptcp/internal/compare"
	"github.com/mptcp-go/mptcp/scenario"
)

var cmdSimWeb = &Command{
	Name:  "web",
	Usage: "[flags] [SCENARIO]",
	Short: "web-shaped requests in the simulator: completion, first byte, requests per second (no root needed)",
	Long: `Runs the requests of "mptcp perf web" between two of our stacks on a
scenario's paths in virtual time (default: aggregate): requests of each
size at each concurrency, on new connections (timed from the dial) and on
reused ones (one connection per client, timed from the request's write),
every byte verified. The client dials from its first path's address; the
path manager opens the others. Prints completion p50/p99, time to first
byte and requests per second (over virtual time) as a table, or JSON.
The scenario's events (outages, rate changes) happen at their times from
the first dial, and its competitors (single-path TCP flows) download
from the first dial to the end of each run. The stacks run
unpaced, as our stack on a TUN device does by default (--pacing paces
them; mptcp sim's bulk runs pace). Deterministic: the same scenario and
seeds give the same figures. Version 1 scenarios only (one
client, one server).`,
}

func init() {
	cmdSim.Add(cmdSimWeb)
	cmdSimWeb.Run = simWebFlags
}

func simWebFlags(fs *flag.FlagSet) Action {
	sizes := fs.String("sizes", "1KB,10KB,100KB,1MB", "comma-separated response `sizes` (bytes, or KB/MB: powers of 1000)")
	concs := fs.String("concurrency", "1,10,100,1000", "comma-separated numbers of requests in flight")
	requests := fs.Int("requests", 20, "requests per cell (at least one per request in flight)")
	seeds := fs.Int("seeds", 5, "runs of each cell, with seeds 1..N")
	maxBytes := fs.Int64("max-bytes", 32_000_000, "skip the cells that would move more bytes than this")
	schedName := fs.String("scheduler", "", "packet scheduler `name` (default: the scenario's)")
	ccName := fs.String("cc", "", "congestion control `name` (default: the scenario's)")
	pmName := fs.String("pm", "", "path manager `name` (default: the scenario's)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	pacing := fs.Bool("pacing", false, "pace both stacks' subflows (mptcp.Config.Pacing; default unpaced, as our stack on TUN)")
	pcapDir := fs.String("pcap-dir", "", "write a capture of the client's packets for each seed of each cell into this existing `directory` (10KB-x100-new-seed1.pcap)")
	perRequest := fs.String("per-request", "", "write one JSON line per request of each cell and seed to `file`: its client, start, first byte, completion or error, and what each subflow of the answering connection sent of it")
	return func(inv *Invocation) error {
		if len(inv.Args) > 1 {
			return usagef("one scenario at a time, got %d", len(inv.Args))
		}
		cfg := compare.SimWebConfig{Requests: *requests, Seeds: *seeds, MaxBytes: *maxBytes,
			Scheduler: *schedName, CC: *ccName, PM: *pmName, Pacing: *pacing, PcapDir: *pcapDir}
		if *pcapDir != "" {
			if st, err := os.Stat(*pcapDir); err != nil || !st.IsDir() {
				return usagef("--pcap-dir %q: not an existing directory", *pcapDir)
			}
		}
		var err error
		if cfg.Sizes, err = parseWebSizes(*sizes); err != nil {
			return err
		}
		if cfg.Concurrency, err = parseWebConcurrency(*concs); err != nil {
			return err
		}
		switch {
		case *requests < 1 || *requests > 100000:
			return usagef("--requests %d: want 1..100000", *requests)
		case *seeds < 1 || *seeds > 1000:
			return usagef("--seeds %d: want 1..1000", *seeds)
		case *maxBytes < 1:
			return usagef("--max-bytes %d: want a positive count", *maxBytes)
		}
		if err := checkPolicyFlags(*schedName, *ccName, *pmName); err != nil {
			return err
		}
		name := "aggregate"
		if len(inv.Args) == 1 {
			name = inv.Args[0]
		}
		sc, _, err := loadScenario(name, nil)
		if err != nil {
			return err
		}
		if sc == nil {
			return fmt.Errorf("%s: version 1 scenarios only (one client and one server); for version 2 runs use mptcp sim", name)
		}
		if err := sc.Simulable(); err != nil {
			return err
		}
		var perReq *bufio.Writer
		var perReqFile *os.File
		if *perRequest != "" {
			if perReqFile, err = os.Create(*perRequest); err != nil {
				return err
			}
			perReq = bufio.NewWriter(perReqFile)
			cfg.PerRequest = perReq
		}
		rep := &compare.WebReport{Paths: compare.DescribePaths(sc), Cells: compare.SimulateWeb(sc, cfg)}
		if perReq != nil {
			if err := errors.Join(perReq.Flush(), perReqFile.Close()); err != nil {
				return fmt.Errorf("--per-request: %w", err)
			}
		}
		rep.Notes = append(rep.Notes,
			fmt.Sprintf("scenario %s in the simulator: our stack at both ends (%s), the client on every path, %d seed(s) per cell", sc.Name, compare.PacingMode(*pacing), *seeds),
			fmt.Sprintf("each cell: max(%d, concurrency) requests, as many clients as the concurrency; new: a connection per request, times from the dial; reused: one connection per client, its first request not counted, times from the request's write", *requests),
			"req/s: requests completed per second of virtual time")
		if names := competitorNames(sc); names != "" {
			rep.Notes = append(rep.Notes, "competitors downloading beside the requests, from each run's first dial: "+names)
		}
		return writeReport(inv.Stdout, rep, *asJSON, "cells")
	}
}

// competitorNames lists the scenario's competitors with their
// congestion controls, or "".
func competitorNames(sc *scenario.Scenario) string {
	var names []string
	for _, c := range sc.Competitors {
		if c.CC == "" {
			names = append(names, c.Name)
			continue
		}
		names = append(names, fmt.Sprintf("%s (%s)", c.Name, c.CC))
	}
	return strings.Join(names, ", ")
}

// report is a comparison's result: a table, JSON, and what failed.
type report interface {
	WriteTable(io.Writer) error
	Errors() []string
}

// writeReport prints rep as a table or as JSON, and fails naming the
// parts (cells, measurements) that failed.
func writeReport(w io.Writer, rep report, asJSON bool, parts string) error {
	if asJSON {
		if err := writeIndentedJSON(w, rep); err != nil {
			return err
		}
	} else if err := rep.WriteTable(w); err != nil {
		return err
	}
	if errs := rep.Errors(); len(errs) > 0 {
		return fmt.Errorf("%d %s failed: %s", len(errs), parts, strings.Join(errs, "; "))
	}
	return nil
}

// parseWebSizes parses "1KB,10KB,1MB" (powers of 1000, as the sizes of
// web objects are usually quoted) or plain byte counts.
func parseWebSizes(s string) ([]int64, error) {
	var out []int64
	for _, v := range splitList(s) {
		t, mult := strings.ToUpper(v), int64(1)
		switch {
		case strings.HasSuffix(t, "KB"):
			t, mult = t[:len(t)-2], 1000
		case strings.HasSuffix(t, "MB"):
			t, mult = t[:len(t)-2], 1000_000
		}
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n < 1 || n*mult > 1<<30 {
			return nil, usagef("--sizes: %q is not a size of 1 byte to 1 GiB", v)
		}
		out = append(out, n*mult)
	}
	if len(out) == 0 {
		return nil, usagef("--sizes needs at least one size")
	}
	return out, nil
}

// parseWebConcurrency parses "1,10,100".
func parseWebConcurrency(s string) ([]int, error) {
	var out []int
	for _, v := range splitList(s) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, usagef("--concurrency: %q is not a number in 1..10000", v)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, usagef("--concurrency needs at least one number")
	}
	return out, nil
}
