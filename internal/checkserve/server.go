package checkserve

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// PathJSON is where the site answers in JSON, with CORS open so that its
// page, loaded from one port, can ask the others.
const PathJSON = "/json"

//go:embed page.html
var pageHTML string

// Site is the check site's HTTP handler.
type Site struct {
	// Inspect describes a visitor's connection (Kernel or User).
	Inspect Inspector
	// Ports and TLSPorts are the ports the site serves HTTP and HTTPS
	// on, which its page probes.
	Ports, TLSPorts []int
	// Limit, if set, limits requests per client address.
	Limit *Limiter

	limited atomic.Uint64
}

// Limited returns how many requests were refused by the rate limit.
func (s *Site) Limited() uint64 { return s.limited.Load() }

// ServeHTTP implements http.Handler: "/" answers in plain text to curl
// and other non-browsers and in HTML to browsers, PathJSON in JSON.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := connFrom(r.Context())
	if c == nil {
		http.Error(w, "checkserve: no connection in the request context (use ConnContext)", http.StatusInternalServerError)
		return
	}
	if !s.Limit.Allow(addrOf(c.RemoteAddr()).Addr().Unmap()) {
		s.limited.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many requests from your address", http.StatusTooManyRequests)
		return
	}
	res := s.Inspect(c)
	res.TLS = r.TLS != nil
	switch {
	case r.URL.Path == PathJSON:
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(res)
	case r.URL.Path != "/":
		http.NotFound(w, r)
	case browser(r.UserAgent()):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		b, _ := json.Marshal(res)
		ports, _ := json.Marshal(s.probes())
		page := strings.NewReplacer("{{RESULT}}", string(b), "{{PORTS}}", string(ports)).Replace(pageHTML)
		_, _ = io.WriteString(w, page)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, Text(res))
	}
}

// probe is a port the page asks, and whether over HTTPS.
type probe struct {
	Port int  `json:"port"`
	TLS  bool `json:"tls"`
}

func (s *Site) probes() []probe {
	var ps []probe
	for _, p := range s.Ports {
		ps = append(ps, probe{Port: p})
	}
	for _, p := range s.TLSPorts {
		ps = append(ps, probe{Port: p, TLS: true})
	}
	return ps
}

// browser tells browsers from curl and other tools by their User-Agent.
func browser(ua string) bool {
	return strings.HasPrefix(ua, "Mozilla/") && !strings.Contains(ua, "curl")
}

// Text is the plain-text answer.
func Text(r Result) string {
	var b strings.Builder
	if r.MPTCP {
		fmt.Fprintf(&b, "Yes: your connection uses Multipath TCP (version %d).\n", r.Version)
	} else {
		b.WriteString("No: your connection does not use Multipath TCP.\n")
	}
	https := ""
	if r.TLS {
		https = ", HTTPS"
	}
	fmt.Fprintf(&b, "client %s, server %s (port %d%s), %s stack\n", r.Client, r.Server, r.Port, https, r.Stack)
	if r.MPTCP {
		fmt.Fprintf(&b, "subflows: %d", len(r.Subflows))
		if r.Join {
			b.WriteString(" (a subflow joined)")
		}
		b.WriteString("\n")
		for _, s := range r.Subflows {
			kind := "initial"
			if s.Join {
				kind = "join"
			}
			fmt.Fprintf(&b, "  %s -> %s (%s)\n", s.Client, s.Server, kind)
		}
		fmt.Fprintf(&b, "checksums: %v\n", r.Checksum)
	}
	if r.Fallback {
		fmt.Fprintf(&b, "fallback to TCP")
		if r.FallbackReason != "" {
			fmt.Fprintf(&b, ": %s", r.FallbackReason)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "JSON: %s\n", PathJSON)
	return b.String()
}

// Echo serves the echo protocol (RFC 862) on ln until it closes: every
// byte a client sends comes back. Each connection ends after idle of
// timeout; clients over the limit are closed at once.
func Echo(ln net.Listener, limit *Limiter, idle time.Duration) error {
	return serveStream(ln, limit, idle, func(c net.Conn) { copyIdle(c, c, idle) })
}

// Discard serves the discard protocol (RFC 863): what clients send is
// thrown away.
func Discard(ln net.Listener, limit *Limiter, idle time.Duration) error {
	return serveStream(ln, limit, idle, func(c net.Conn) { copyIdle(io.Discard, c, idle) })
}

func serveStream(ln net.Listener, limit *Limiter, idle time.Duration, fn func(net.Conn)) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		if !limit.Allow(addrOf(c.RemoteAddr()).Addr().Unmap()) {
			c.Close()
			continue
		}
		go func() {
			defer c.Close()
			fn(c)
		}()
	}
}

// copyIdle copies src to dst until EOF, an error, or idle without data.
func copyIdle(dst io.Writer, src net.Conn, idle time.Duration) {
	buf := make([]byte, 32<<10)
	for {
		_ = src.SetReadDeadline(time.Now().Add(idle))
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
