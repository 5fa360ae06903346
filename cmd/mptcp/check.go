package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/mptcp-go/mptcp/internal/checkserve"
)

var cmdCheck = &Command{
	Name:  "check",
	Short: "the \"am I using MPTCP\" site: mptcp check serve",
}

var cmdCheckServe = &Command{
	Name:  "serve",
	Usage: "[flags]",
	Short: "serve the \"am I using MPTCP\" site",
	Long: `Serve the "am I using MPTCP" site: each visitor learns whether its
connection is Multipath TCP, its version, the subflows seen and their
addresses, whether a subflow joined, whether checksums are on, and the
fallback reason. curl and other tools get plain text, browsers an HTML page
that also asks every --ports and --tls-ports port from the browser (a port
where a middlebox strips MPTCP shows as "stripped"), and /json answers in
JSON.

HTTPS runs on --tls-ports with the certificate in --tls-cert and --tls-key
(PEM files, read again when they change), or with a certificate generated
at start by --tls-self-signed (for tests and demos: clients accept it with
curl --insecure, or check the public key pin it prints with curl
--pinnedpubkey).
Echo (RFC 862) and discard (RFC 863) services run beside it for tests.
Requests and connections are rate-limited per client address.

The site runs on the kernel's MPTCP (--stack kernel, the default) or on the
user-space stack on a TUN device (--stack user --tun NAME --addr ADDR, as
mptcp perf; Linux, root).`,
	Run: checkServeFlags,
}

func init() {
	root.Add(cmdCheck)
	cmdCheck.Add(cmdCheckServe)
}

type checkFlags struct {
	perfFlags
	ports   string
	tls     checkTLSFlags
	bind    string
	echo    int
	discard int
	rate    float64
	burst   int
	timeout time.Duration
}

func checkServeFlags(fs *flag.FlagSet) Action {
	var f checkFlags
	f.perfFlags.fs = fs
	fs.StringVar(&f.stack, "stack", "kernel", "`stack`: kernel (Go's net, kernel MPTCP) or user (the user-space stack on TUN devices)")
	fs.Var(&f.tuns, "tun", "user stack: create TUN device `NAME[=ADDR,...]` (repeatable)")
	fs.Var(&f.addrs, "addr", "user stack: the stack's `addresses` on the one --tun device")
	fs.IntVar(&f.mtu, "mtu", 1500, "user stack: MTU of the TUN devices")
	fs.BoolVar(&f.noRoute, "no-route", false, "user stack: do not add host routes for the addresses into the devices")
	fs.StringVar(&f.debug, "debug", "", "user stack: serve its debug endpoint (connections, MIB, events, /metrics) on `ADDR`")
	fs.StringVar(&f.traceDir, "trace", "", "user stack: write a JSON-lines trace of each connection into `DIR`")
	fs.StringVar(&f.ports, "ports", "80,8080", "HTTP `ports`, comma-separated; the page probes each")
	f.tls.define(fs)
	fs.StringVar(&f.bind, "bind", "", "listen on this `address` only (default: every address)")
	fs.IntVar(&f.echo, "echo", 7, "echo service (RFC 862) `port`, 0 for none")
	fs.IntVar(&f.discard, "discard", 9, "discard service (RFC 863) `port`, 0 for none")
	fs.Float64Var(&f.rate, "rate", 10, "requests and connections per second per client address (0: no limit)")
	fs.IntVar(&f.burst, "burst", 20, "bursts allowed above --rate")
	fs.DurationVar(&f.timeout, "duration", 0, "stop after `D` (0: run until interrupted)")
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		if len(inv.Args) != 0 {
			return usagef("check serve takes no arguments, got %q", inv.Args[0])
		}
		ports, err := checkPorts("--ports", f.ports)
		if err != nil {
			return err
		}
		tlsConf, tlsPorts, tlsDesc, err := f.tls.config(fs, ports, append(splitFlag(f.addrs), f.bind))
		if err != nil {
			return err
		}
		if f.echo < 0 || f.echo > 65535 || f.discard < 0 || f.discard > 65535 || f.rate < 0 || f.burst < 0 {
			return usagef("--echo, --discard, --rate and --burst take ports and non-negative numbers")
		}
		if f.stack != "kernel" && f.stack != "user" {
			return usagef("--stack %q: want kernel or user", f.stack)
		}
		st, err := f.perfFlags.openStack(stderr)
		if err != nil {
			return err
		}
		defer st.close()
		inspect := checkserve.Kernel
		if f.stack == "user" {
			inspect = checkserve.User
		}
		limit := &checkserve.Limiter{Rate: f.rate, Burst: f.burst}
		site := &checkserve.Site{Inspect: inspect, Ports: ports, TLSPorts: tlsPorts, Limit: limit}
		ctx := inv.Context()
		if f.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, f.timeout)
			defer cancel()
		}
		addr := func(port int) string { return net.JoinHostPort(f.bind, strconv.Itoa(port)) }
		errc := make(chan error, len(ports)+len(tlsPorts)+2)
		var closers []io.Closer
		defer func() {
			for _, c := range closers {
				c.Close()
			}
		}()
		for i, p := range slices.Concat(ports, tlsPorts) {
			ln, err := st.listen(addr(p))
			if err != nil {
				return fmt.Errorf("listening on %s: %w", addr(p), err)
			}
			srv := &http.Server{Handler: site, ConnContext: checkserve.ConnContext, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
			closers = append(closers, srv)
			if i < len(ports) {
				go func() { errc <- srv.Serve(ln) }()
				continue
			}
			srv.TLSConfig = tlsConf
			go func() { errc <- srv.ServeTLS(ln, "", "") }() // HTTP/2 too, by ALPN
		}
		for _, svc := range []struct {
			port  int
			serve func(net.Listener, *checkserve.Limiter, time.Duration) error
		}{{f.echo, checkserve.Echo}, {f.discard, checkserve.Discard}} {
			if svc.port == 0 {
				continue
			}
			ln, err := st.listen(addr(svc.port))
			if err != nil {
				return fmt.Errorf("listening on %s: %w", addr(svc.port), err)
			}
			closers = append(closers, ln)
			go func() { errc <- svc.serve(ln, limit, time.Minute) }()
		}
		fmt.Fprintf(stdout, "mptcp check serve: %s, HTTP on ports %s (JSON at %s), echo %d, discard %d%s\n",
			st.describe(), joinInts(ports), checkserve.PathJSON, f.echo, f.discard, tlsDesc)
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}

	}
}
