package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/mptcp-go/mptcp/internal/convert"
)

// Front is the proxy's client side: it accepts plain TCP from applications
// (SOCKS5 and HTTP CONNECT on one port, or transparently intercepted) and
// carries each connection to the converter through Client.
type Front struct {
	Client *Client
	// Creds, when set, are required from SOCKS5 (RFC 1929) and HTTP
	// CONNECT (Basic Proxy-Authorization) clients.
	Creds Credentials
	// HandshakeTimeout bounds an application's SOCKS5 or HTTP request and
	// the converter's reply (10 s when zero).
	HandshakeTimeout time.Duration
	// Strict makes SOCKS5 and HTTP CONNECT wait for the converter's reply
	// before answering the application, so a refusal reaches it as a
	// SOCKS or HTTP error code. It costs a round trip: over MPTCP the
	// converter cannot send before the handshake's third ACK. By default
	// the front end answers at once and sends the application's first
	// bytes with the Convert message in the SYN (0-RTT); a refusal then
	// resets the application's connection.
	Strict bool
	// EarlyWait is how long the front end waits for an application's
	// first bytes, to send them in the SYN, before dialling without them
	// (for protocols where the server speaks first). Default 10 ms.
	EarlyWait time.Duration
	Log       *slog.Logger
	Stats     Stats
}

func (f *Front) timeout() time.Duration {
	if f.HandshakeTimeout > 0 {
		return f.HandshakeTimeout
	}
	return 10 * time.Second
}

func (f *Front) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}

// ServeProxy accepts SOCKS5 and HTTP CONNECT requests on l (told apart by
// their first byte) until l fails.
func (f *Front) ServeProxy(l net.Listener) error {
	return f.serve(l, f.handleProxy)
}

// ServeTransparent accepts connections redirected by the firewall (iptables
// REDIRECT, or TPROXY on a listener made by ListenTransparent) and relays
// each to its original destination.
func (f *Front) ServeTransparent(l net.Listener) error {
	return f.serve(l, f.handleTransparent)
}

func (f *Front) serve(l net.Listener, h func(net.Conn)) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		f.Stats.accept(c.RemoteAddr())
		go h(c)
	}
}

func (f *Front) handleProxy(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(f.timeout()))
	r := bufio.NewReader(c)
	first, err := r.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	if first[0] == socksVersion {
		f.handleSOCKS(c, r)
		return
	}
	f.handleHTTP(c, r)
}

// handleSOCKS serves one SOCKS5 client: at once (optimistic), or in Strict
// mode after the converter's reply, so that a refusal reaches the
// application as the SOCKS reply code that says why.
func (f *Front) handleSOCKS(c net.Conn, r *bufio.Reader) {
	req, err := socksHandshake(r, c, f.Creds)
	if err != nil {
		f.Stats.Malformed.Add(1)
		if errors.Is(err, errNotAuthorized) {
			f.Stats.NotAuthorized.Add(1)
		}
		f.log().Info("socks5 request refused", "client", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	if req.cmd == socksCmdUDP {
		f.serveUDPAssociate(c, r)
		return
	}
	if !f.Strict {
		writeSocksReply(c, socksSucceeded, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
		f.optimistic(c, r, req.target)
		return
	}
	up, err := f.connectStrict(req.target)
	if err != nil {
		writeSocksReply(c, socksReplyFor(err), netip.AddrPort{})
		c.Close()
		return
	}
	writeSocksReply(c, socksSucceeded, addrOf(up.LocalAddr()))
	f.relay(withReader(c, r), up, req.target)
}

// handleHTTP serves one HTTP CONNECT request; other methods get 405.
func (f *Front) handleHTTP(c net.Conn, r *bufio.Reader) {
	req, err := http.ReadRequest(r)
	if err != nil {
		f.Stats.Malformed.Add(1)
		fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
		c.Close()
		return
	}
	if req.Method != http.MethodConnect {
		f.Stats.Malformed.Add(1)
		fmt.Fprint(c, "HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nConnection: close\r\n\r\n")
		c.Close()
		return
	}
	if f.Creds.User != "" && !checkBasic(req, f.Creds) {
		f.Stats.NotAuthorized.Add(1)
		fmt.Fprint(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"mptcp proxy\"\r\nConnection: close\r\n\r\n")
		c.Close()
		return
	}
	t, err := parseHostPort(req.Host)
	if err != nil {
		f.Stats.Malformed.Add(1)
		fmt.Fprintf(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
		c.Close()
		return
	}
	if !f.Strict {
		fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		f.optimistic(c, r, t)
		return
	}
	up, err := f.connectStrict(t)
	if err != nil {
		fmt.Fprintf(c, "HTTP/1.1 %s\r\nConnection: close\r\n\r\n", httpStatusFor(err))
		c.Close()
		return
	}
	fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	f.relay(withReader(c, r), up, t)
}

// connectStrict connects to t through the converter and waits (bounded by
// the handshake timeout) for its reply; on a failure, counted and logged,
// nothing is left open.
func (f *Front) connectStrict(t Target) (*Upstream, error) {
	up, err := f.Client.Connect(context.Background(), t, nil)
	if err == nil {
		_ = up.SetReadDeadline(time.Now().Add(f.timeout()))
		_, err = up.Reply()
	}
	if err != nil {
		f.converterFailed(t, err)
		if up != nil {
			up.Close()
		}
		return nil, err
	}
	_ = up.SetReadDeadline(time.Time{})
	return up, nil
}

// handleTransparent relays an intercepted connection. It does not wait for
// the converter's reply: the application's bytes follow the Convert
// message at once; a refusal resets the application's connection.
func (f *Front) handleTransparent(c net.Conn) {
	dest, err := originalDst(c)
	if err != nil {
		f.Stats.Malformed.Add(1)
		f.log().Info("transparent: no original destination", "client", c.RemoteAddr().String(), "err", err)
		reset(c)
		return
	}
	f.optimistic(c, bufio.NewReader(c), targetOf(dest))
}

// optimistic relays an application connection that was already told it is
// connected: it waits up to EarlyWait for the application's first bytes,
// sends them with the Convert message, and relays. A refusal by the
// converter resets the application's connection.
func (f *Front) optimistic(c net.Conn, r *bufio.Reader, t Target) {
	wait := f.EarlyWait
	if wait <= 0 {
		wait = 10 * time.Millisecond
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, _ = r.Peek(1) // a timeout leaves nothing buffered: dial without early data
	_ = c.SetReadDeadline(time.Time{})
	early, _ := r.Peek(r.Buffered())
	up, err := f.Client.Connect(context.Background(), t, early)
	if err != nil {
		f.converterFailed(t, err)
		reset(c)
		return
	}
	_, _ = r.Discard(len(early))
	f.relay(withReader(c, r), up, t)
}

// relay relays app and up to the end; a refusal the converter sent after
// an optimistic answer is counted and logged then.
func (f *Front) relay(app net.Conn, up *Upstream, t Target) {
	_ = app.SetDeadline(time.Time{})
	f.Stats.relay(app, up)
	if _, err := up.Reply(); err != nil {
		f.converterFailed(t, err)
	}
}

func (f *Front) converterFailed(t Target, err error) {
	var ce *convert.Error
	if errors.As(err, &ce) {
		f.Stats.ConverterError.Add(1)
	} else {
		f.Stats.DestFailed.Add(1)
	}
	f.log().Info("connection failed", "target", t.String(), "err", err)
}

// socksReplyFor maps a converter error to the SOCKS5 reply code an
// application expects (RFC 1928 section 6).
func socksReplyFor(err error) byte {
	var ce *convert.Error
	if !errors.As(err, &ce) {
		return socksGeneralFailure
	}
	switch ce.Code {
	case convert.ErrNotAuthorized:
		return socksNotAllowed
	case convert.ErrConnectionReset:
		return socksConnRefused
	case convert.ErrDestinationUnreachable:
		if len(ce.Value) > 0 && ce.Value[0] == 0 {
			return socksNetUnreachable
		}
		return socksHostUnreachable
	}
	return socksGeneralFailure
}

// httpStatusFor maps a converter error to an HTTP status line.
func httpStatusFor(err error) string {
	var ce *convert.Error
	if errors.As(err, &ce) {
		switch ce.Code {
		case convert.ErrNotAuthorized:
			return "403 Forbidden"
		case convert.ErrNetworkFailure:
			return "504 Gateway Timeout"
		}
	}
	return "502 Bad Gateway"
}

func checkBasic(req *http.Request, creds Credentials) bool {
	r := &http.Request{Header: http.Header{"Authorization": req.Header.Values("Proxy-Authorization")}}
	u, p, ok := r.BasicAuth()
	return ok && u == creds.User && p == creds.Password
}

// parseHostPort parses an HTTP CONNECT authority: an address literal or a
// host name for the converter to resolve.
func parseHostPort(s string) (Target, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Target{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return Target{}, fmt.Errorf("bad port %q", port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return Target{Addr: netip.AddrPortFrom(a.Unmap(), uint16(p))}, nil
	}
	if host == "" || len(host) > 253 {
		return Target{}, fmt.Errorf("bad host %q", host)
	}
	return Target{Addr: netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(p)), Host: host}, nil
}

// bufferedConn is a conn whose first bytes were read into a bufio.Reader.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// CloseWrite half-closes the underlying connection.
func (b *bufferedConn) CloseWrite() error { return closeWrite(b.Conn) }

// SetLinger passes through so that resets propagate.
func (b *bufferedConn) SetLinger(sec int) error {
	if l, ok := b.Conn.(interface{ SetLinger(int) error }); ok {
		return l.SetLinger(sec)
	}
	return nil
}

func withReader(c net.Conn, r *bufio.Reader) net.Conn {
	if r.Buffered() == 0 {
		return c
	}
	return &bufferedConn{Conn: c, r: r}
}
