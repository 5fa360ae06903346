package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/internal/proxy"
)

var cmdProxy = &Command{
	Name:  "proxy",
	Short: "hybrid-access proxy: plain TCP in, MPTCP (RFC 8803 Convert) between client and server",
}

var (
	cmdProxyServer = &Command{
		Name: "server", Usage: "[flags]", Run: proxyServerFlags,
		Short: "the Transport Converter (on a VPS): MPTCP in, TCP out",
	}
	cmdProxyClient = &Command{
		Name: "client", Usage: "[flags]", Run: proxyClientFlags,
		Short: "the front end (on the router): SOCKS5, HTTP CONNECT, transparent interception; MPTCP to the server",
	}
	cmdProxyBench = &Command{
		Name: "bench", Usage: "[flags]", LinuxOnly: true,
		Short: "measure it on an emulated DSL + LTE network (Linux, root)",
	}
	cmdProxyStatus = &Command{
		Name: "status", Usage: "[--json] ADDR", Run: proxyStatusFlags,
		Short: "a running proxy's counters (its --status address)",
	}
)

func init() {
	root.Add(cmdProxy)
	cmdProxy.Add(cmdProxyServer, cmdProxyClient, cmdProxyStatus, cmdProxyBench)
}

// proxyTransport picks the MPTCP leg's stack, writing a trace of each
// connection into traceDir if set; stop undoes what it set up.
func proxyTransport(name string, uplinks []string, nat bool, traceDir string, log *slog.Logger) (tr proxy.Transport, stop func(), err error) {
	switch name {
	case "", "kernel":
		if len(uplinks) > 0 {
			return tr, nil, usagef("--uplink is for --stack user (the kernel's MPTCP uses its own endpoints: mptcp pm)")
		}
		if traceDir != "" {
			return tr, nil, usagef("--trace is for --stack user: the kernel's MPTCP keeps no per-connection trace (mptcp monitor shows its events, mptcp stat -t -i its subflows)")
		}
		return proxy.Kernel, func() {}, nil
	case "user":
		return userTransport(uplinks, nat, traceDir, log)
	}
	return tr, nil, usagef("--stack %q: kernel or user", name)
}

// proxyLogger logs as text or JSON lines on stderr.
func proxyLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, usagef("--log %q: text or json", format)
}

// proxyCommon holds the flags both ends of the converter take.
type proxyCommon struct {
	config, stack, key, keyFile, status, trace, logFmt *string
	uplinks                                            listFlag
	nat, noTFO                                         *bool
}

// addProxyCommon defines the shared flags on fs; section names the YAML
// section --config reads, and the help of --no-tfo and --key is each
// end's own.
func addProxyCommon(fs *flag.FlagSet, section, noTFOHelp, keyHelp string) *proxyCommon {
	pc := &proxyCommon{}
	pc.config = fs.String("config", "", "YAML `file` (its "+section+": section); flags given override it")
	pc.stack = fs.String("stack", "kernel", "MPTCP stack: kernel, or user (this project's, on --uplink devices; Linux)")
	fs.Var(&pc.uplinks, "uplink", "with --stack user: an uplink `IFACE[:backup]` (repeat per path)")
	pc.nat = fs.Bool("nat", true, "with --stack user: share the uplinks' addresses (NAT) rather than routed stack addresses")
	pc.noTFO = fs.Bool("no-tfo", false, noTFOHelp)
	pc.key = fs.String("key", "", keyHelp)
	pc.keyFile = fs.String("key-file", "", "`file` holding the pre-shared key")
	pc.status = fs.String("status", "", "`host:port` of the status endpoint: counters, clients, paths and limits as JSON at /status, Prometheus /metrics, and with --stack user the stack's debug endpoint")
	pc.trace = fs.String("trace", "", "with --stack user: write a JSON-lines trace of each MPTCP connection into `DIR` (see mptcp trace plot)")
	pc.logFmt = fs.String("log", "text", "log `format`: text or json")
	return pc
}

// apply overrides a section's shared fields with the flags given (the
// stack's default also where the file names none).
func (pc *proxyCommon) apply(set map[string]bool, stack, key, keyFile, status, trace *string, tfo **bool) {
	override(set, "stack", stack, *pc.stack, *stack == "")
	override(set, "key", key, *pc.key, false)
	override(set, "key-file", keyFile, *pc.keyFile, false)
	override(set, "status", status, *pc.status, false)
	override(set, "trace", trace, *pc.trace, false)
	if set["no-tfo"] {
		on := !*pc.noTFO
		*tfo = &on
	}
}

// run sets up the logger and the MPTCP leg's stack (tracing into
// traceDir if set) and runs one end of the converter with them until the
// invocation's context ends.
func (pc *proxyCommon) run(inv *Invocation, stack, traceDir string, end func(context.Context, proxy.Transport, *slog.Logger) error) error {
	log, err := proxyLogger(*pc.logFmt, inv.Stderr)
	if err != nil {
		return err
	}
	tr, undo, err := proxyTransport(stack, splitFlag(pc.uplinks), *pc.nat, traceDir, log)
	if err != nil {
		return err
	}
	defer undo()
	return end(inv.Context(), tr, log)
}

func proxyServerFlags(fs *flag.FlagSet) Action {
	pc := addProxyCommon(fs, "server", "do not accept data in SYNs (TCP Fast Open)", "pre-shared `key` clients must prove (prefer --key-file)")
	listen := fs.String("listen", ":"+strconv.Itoa(proxy.DefaultPort), "`host:port` to accept MPTCP connections on")
	var allow, deny, ports listFlag
	fs.Var(&allow, "allow", "destination `prefixes` allowed (comma-separated; default all)")
	fs.Var(&deny, "deny", "destination `prefixes` refused")
	fs.Var(&ports, "ports", "destination `ports` allowed (default all)")
	allowLocal := fs.Bool("allow-local", false, "allow destinations on the converter's loopback and link-local networks")
	maxPer := fs.Int("max-per-client", 1024, "concurrent connections per client address (0: unbounded)")
	tlsCert := fs.String("tls-cert", "", "mutual TLS: the server's certificate `file` (PEM)")
	tlsKey := fs.String("tls-key", "", "mutual TLS: its key `file`")
	tlsCA := fs.String("tls-client-ca", "", "mutual TLS: `file` of the CA that signs the clients' certificates")
	return func(inv *Invocation) error {
		cfg := &proxy.ServerConfig{}
		if *pc.config != "" {
			fc, err := proxy.LoadConfig(*pc.config)
			if err != nil {
				return err
			}
			if fc.Server == nil {
				return fmt.Errorf("%s: no server: section", *pc.config)
			}
			cfg = fc.Server
		}
		set := visited(fs)
		override(set, "listen", &cfg.Listen, *listen, cfg.Listen == "")
		pc.apply(set, &cfg.Stack, &cfg.Key, &cfg.KeyFile, &cfg.Status, &cfg.Trace, &cfg.TFO)
		if set["allow"] {
			cfg.Allow = splitFlag(allow)
		}
		if set["deny"] {
			cfg.Deny = splitFlag(deny)
		}
		if set["ports"] {
			p, err := parsePorts(splitFlag(ports))
			if err != nil {
				return err
			}
			cfg.Ports = p
		}
		if set["allow-local"] {
			cfg.AllowLocal = *allowLocal
		}
		if set["max-per-client"] || cfg.MaxPerClient == 0 {
			cfg.MaxPerClient = *maxPer
		}
		override(set, "tls-cert", &cfg.TLSCert, *tlsCert, false)
		override(set, "tls-key", &cfg.TLSKey, *tlsKey, false)
		override(set, "tls-client-ca", &cfg.TLSClientCA, *tlsCA, false)
		return pc.run(inv, cfg.Stack, cfg.Trace, func(ctx context.Context, tr proxy.Transport, log *slog.Logger) error {
			return proxy.RunServer(ctx, cfg, tr, log)
		})
	}
}

func proxyClientFlags(fs *flag.FlagSet) Action {
	pc := addProxyCommon(fs, "client", "do not send the Convert message in the SYN (TCP Fast Open)", "pre-shared `key` (prefer --key-file)")
	server := fs.String("server", "", "the converter's `host:port` (required)")
	socks := fs.String("socks", "127.0.0.1:1080", "`host:port` for SOCKS5 and HTTP CONNECT (\"\" off; by default on only when --transparent is not given)")
	transparent := fs.String("transparent", "", "`host:port` for connections redirected by iptables (Linux)")
	tproxy := fs.Bool("tproxy", false, "the transparent listener receives TPROXY'd connections (IP_TRANSPARENT)")
	user := fs.String("user", "", "user name SOCKS5 and HTTP CONNECT clients must give")
	password := fs.String("password", "", "their password")
	strict := fs.Bool("strict", false, "answer SOCKS5 / HTTP CONNECT only once the server has connected (exact error codes, one more round trip)")
	tlsCert := fs.String("tls-cert", "", "mutual TLS: the client's certificate `file` (PEM)")
	tlsKey := fs.String("tls-key", "", "mutual TLS: its key `file`")
	tlsCA := fs.String("tls-ca", "", "mutual TLS: `file` of the CA that signs the server's certificate")
	tlsName := fs.String("tls-server-name", "", "mutual TLS: the `name` the server's certificate must carry (default: --server's host)")
	return func(inv *Invocation) error {
		cfg := &proxy.ClientConfig{}
		if *pc.config != "" {
			fc, err := proxy.LoadConfig(*pc.config)
			if err != nil {
				return err
			}
			if fc.Client == nil {
				return fmt.Errorf("%s: no client: section", *pc.config)
			}
			cfg = fc.Client
		}
		set := visited(fs)
		override(set, "server", &cfg.Server, *server, false)
		// Without --socks the file decides, and proxy.RunClient opens the
		// default SOCKS listener only when neither it nor --transparent
		// asks for a listener.
		override(set, "socks", &cfg.Socks, *socks, false)
		override(set, "transparent", &cfg.Transparent, *transparent, false)
		override(set, "user", &cfg.User, *user, false)
		override(set, "password", &cfg.Password, *password, false)
		pc.apply(set, &cfg.Stack, &cfg.Key, &cfg.KeyFile, &cfg.Status, &cfg.Trace, &cfg.TFO)
		if set["tproxy"] {
			cfg.TProxy = *tproxy
		}
		if set["strict"] {
			cfg.Strict = *strict
		}
		override(set, "tls-cert", &cfg.TLSCert, *tlsCert, false)
		override(set, "tls-key", &cfg.TLSKey, *tlsKey, false)
		override(set, "tls-ca", &cfg.TLSCA, *tlsCA, false)
		override(set, "tls-server-name", &cfg.TLSName, *tlsName, false)
		if cfg.Server == "" {
			return usagef("--server HOST:PORT is required")
		}
		return pc.run(inv, cfg.Stack, cfg.Trace, func(ctx context.Context, tr proxy.Transport, log *slog.Logger) error {
			return proxy.RunClient(ctx, cfg, tr, log)
		})
	}
}

// visited returns the flags given on the command line.
func visited(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// override sets *dst to v when the flag was given, or when the file left
// it empty and dflt says the flag's default applies.
func override(set map[string]bool, name string, dst *string, v string, dflt bool) {
	if set[name] || dflt {
		*dst = v
	}
}

// splitFlag splits each value of a repeatable flag at commas.
func splitFlag(l listFlag) []string {
	var out []string
	for _, v := range l {
		out = append(out, splitList(v)...)
	}
	return out
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePorts(ss []string) ([]uint16, error) {
	var out []uint16
	for _, s := range ss {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			return nil, usagef("--ports: %q is not a port", s)
		}
		out = append(out, uint16(p))
	}
	return out, nil
}

func proxyStatusFlags(fs *flag.FlagSet) Action {
	asJSON := fs.Bool("json", false, "print the JSON as served")
	return func(inv *Invocation) error {
		stdout := inv.Stdout
		if len(inv.Args) != 1 {
			return usagef("want the proxy's status address (HOST:PORT)")
		}
		cl := &http.Client{Timeout: 5 * time.Second}
		resp, err := cl.Get("http://" + inv.Args[0] + "/status")
		if err != nil {
			return fmt.Errorf("reading status: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("reading status: %s", resp.Status)
		}
		var s proxy.Snapshot
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
			return fmt.Errorf("status from %s: %w", inv.Args[0], err)
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(s)
		}
		fmt.Fprintf(stdout, "connections  accepted %d  active %d  relayed %d\n", s.Accepted, s.Active, s.Relayed)
		fmt.Fprintf(stdout, "bytes        up %d  down %d\n", s.BytesUp, s.BytesDown)
		fmt.Fprintf(stdout, "refused      malformed %d  not-authorized %d  forbidden %d  over-limit %d\n", s.Malformed, s.NotAuthorized, s.Forbidden, s.OverLimit)
		fmt.Fprintf(stdout, "failed       destination %d  converter-error %d\n", s.DestFailed, s.ConverterError)
		fmt.Fprintf(stdout, "udp          datagrams %d\n", s.UDPDatagrams)
		printProxyDetail(stdout, &s)
		return nil

	}
}

// printProxyDetail prints the status's clients, the MPTCP leg's paths and
// what limits each of its connections.
func printProxyDetail(w io.Writer, s *proxy.Snapshot) {
	for _, c := range s.Clients {
		fmt.Fprintf(w, "client       %s  accepted %d  active %d  up %d  down %d  refused %d\n", c.Client, c.Accepted, c.Active, c.BytesUp, c.BytesDown, c.Refused)
	}
	for _, p := range s.Paths {
		fmt.Fprintf(w, "path         %s  subflows %d  sent %d  received %d  retransmitted %d\n", p.Local, p.Subflows, p.BytesAcked, p.BytesReceived, p.BytesRetrans)
	}
	if c := s.CPU; c != nil {
		idle := "-"
		if c.MachineIdle >= 0 {
			idle = fmt.Sprintf("%.0f%%", 100*c.MachineIdle)
		}
		limited := ""
		if c.Limited {
			limited = "  limits the transfers"
		}
		fmt.Fprintf(w, "cpu          process %.2f cores  machine idle %s  over %.1f s%s\n", c.ProcessCores, idle, c.IntervalS, limited)
	}
	for _, l := range s.Limits {
		limit := l.Limit
		if limit == "" {
			limit = "-"
		}
		fmt.Fprintf(w, "connection   %s %s -> %s  limited by: %s\n", l.Token, l.Local, l.Peer, limit)
		for _, sf := range l.Subflows {
			lim := sf.Limit
			if lim == "" {
				lim = "nothing seen"
			}
			fmt.Fprintf(w, "  subflow    %s -> %s  rtt %v  cwnd %d  %s\n", sf.Local, sf.Peer, sf.RTT, sf.Cwnd, lim)
		}
	}
}
