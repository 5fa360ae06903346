package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mptcp-go/mptcp/scan"
)

var cmdScan = &Command{
	Name:      "scan",
	LinuxOnly: true,
	Usage:     "[flags] TARGET...",
	Short:     "probe hosts (and, with --path, the path to them) for Multipath TCP support",
	Long: `Send a SYN carrying MP_CAPABLE from a raw socket to each target and report
what answers: mptcp-v1, mptcp-v0, tcp-only (SYN/ACK without MP_CAPABLE),
closed (RST) or filtered (no answer, or an ICMP unreachable), with the
SYN/ACK's MP_CAPABLE flags (A checksum required, C no join to this address,
H HMAC). Half-open connections are reset. Needs root or CAP_NET_RAW.

With --path, probe the path instead, as tracebox does: the same SYN with
TTL 1, 2, 3 ...; each router's ICMP time-exceeded quotes the SYN as it
arrived there, and the differences show at which hop MP_CAPABLE, the option
space, the MSS or the sequence number was removed or rewritten.

A TARGET is an address or host name, with an optional port (10.0.0.1:443,
[2001:db8::1]:443, example.net:443), or a CIDR range (192.0.2.0/24,
192.0.2.0/24:443, [2001:db8::/120]:443). Targets without a port are probed
on --ports. Nothing outside the named targets is ever probed.`,
	Run: scanFlagSet,
}

func init() { root.Add(cmdScan) }

// scanFlags are the parsed command line of "mptcp scan".
type scanFlags struct {
	ports       string
	path        bool
	v0          bool
	json        bool
	timeout     time.Duration
	retries     int
	concurrency int
	rate        float64
	maxTTL      int
	maxTargets  int
	only4       bool
	only6       bool
}

func scanFlagSet(fs *flag.FlagSet) Action {
	var f scanFlags
	fs.StringVar(&f.ports, "ports", "80,443", "ports to probe on targets that name none (list and ranges: 80,443,8000-8010)")
	fs.BoolVar(&f.path, "path", false, "probe the path to each target with increasing TTL (tracebox style)")
	fs.BoolVar(&f.v0, "v0", false, "send a version 0 (RFC 6824) MP_CAPABLE, with a key, instead of version 1")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per result")
	fs.DurationVar(&f.timeout, "timeout", time.Second, "how long to wait for an answer to each SYN")
	fs.IntVar(&f.retries, "retries", 2, "SYNs to send again when one goes unanswered")
	fs.IntVar(&f.concurrency, "concurrency", 64, "targets probed at once")
	fs.Float64Var(&f.rate, "rate", 100, "SYNs per second at most, over the whole scan (0: no limit)")
	fs.IntVar(&f.maxTTL, "max-ttl", 30, "largest TTL a path probe tries")
	fs.IntVar(&f.maxTargets, "max-targets", scan.DefaultMaxAddrs, "most addresses the targets may expand to")
	fs.BoolVar(&f.only4, "4", false, "probe IPv4 addresses only")
	fs.BoolVar(&f.only6, "6", false, "probe IPv6 addresses only")
	return func(inv *Invocation) error { return runScan(inv, &f) }
}

func runScan(inv *Invocation, f *scanFlags) error {
	stdout, stderr, specs := inv.Stdout, inv.Stderr, inv.Args
	if err := f.check(); err != nil {
		return usagef("%v", err)
	}
	if len(specs) == 0 {
		return usagef("no target given (run \"mptcp scan --help\")")
	}
	ports, err := scan.ParsePorts(f.ports)
	if err != nil {
		return usagef("--ports: %v", err)
	}
	ctx := inv.Context()
	family := scan.AnyFamily
	if f.only4 {
		family = scan.IPv4Only
	} else if f.only6 {
		family = scan.IPv6Only
	}
	targets, err := scan.Expand(ctx, specs, scan.ExpandConfig{Ports: ports, MaxAddrs: f.maxTargets, Family: family})
	switch {
	case errors.Is(err, scan.ErrTooManyTargets):
		return usagef("%v (raise --max-targets to allow more)", err)
	case err != nil:
		return usagef("%v", err)
	}

	cfg := scan.Config{Timeout: f.timeout, Retries: f.retries, Concurrency: f.concurrency, Rate: f.rate, V0: f.v0, MaxTTL: f.maxTTL}
	for _, t := range targets {
		cfg.IPv4 = cfg.IPv4 || t.Addr.Is4()
		cfg.IPv6 = cfg.IPv6 || t.Addr.Is6()
	}
	out := newScanOutput(stdout, stderr, targets, f.json)
	cfg.Progress = out.progress
	s, err := scan.Open(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if f.path {
		err = s.Paths(ctx, targets, out.path)
	} else {
		err = s.Scan(ctx, targets, out.result)
	}
	out.finish()
	if err != nil {
		return fmt.Errorf("interrupted after %d of %d targets", out.done, len(targets))
	}
	if out.errors > 0 {
		return fmt.Errorf("%d of %d probes could not be sent (see their reasons above)", out.errors, len(targets))
	}
	return nil
}

func (f *scanFlags) check() error {
	switch {
	case f.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, not %v", f.timeout)
	case f.retries < 0 || f.retries > 10:
		return fmt.Errorf("--retries must be 0 to 10, not %d", f.retries)
	case f.concurrency < 1 || f.concurrency > 4096:
		return fmt.Errorf("--concurrency must be 1 to 4096, not %d", f.concurrency)
	case f.rate < 0:
		return fmt.Errorf("--rate must not be negative, not %v", f.rate)
	case f.maxTTL < 1 || f.maxTTL > 255:
		return fmt.Errorf("--max-ttl must be 1 to 255, not %d", f.maxTTL)
	case f.maxTargets < 1:
		return fmt.Errorf("--max-targets must be at least 1, not %d", f.maxTargets)
	case f.only4 && f.only6:
		return fmt.Errorf("-4 and -6 exclude each other")
	}
	return nil
}

// writeScanJSON writes v as one line of JSON.
func writeScanJSON(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(w, "{\"error\":%q}\n", err.Error())
		return
	}
	w.Write(append(b, '\n'))
}
