package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/mptcp-go/mptcp/internal/convert"
)

// Server is a Transport Converter (RFC 8803): it accepts MPTCP connections
// that start with a Convert message, connects onward with the host's TCP
// and relays both directions.
type Server struct {
	// Dialer connects to destinations (a zero net.Dialer when nil).
	Dialer *net.Dialer
	// Resolver resolves host names sent by clients (net.DefaultResolver
	// when nil).
	Resolver *net.Resolver
	// Key, when set, must be proven by every client (wrong or missing:
	// Error TLV "Not Authorized", counted, nothing relayed).
	Key []byte
	// Policy restricts destinations.
	Policy Policy
	// MaxPerClient bounds each client address's concurrent connections
	// (0: no bound); beyond it, Error TLV "Resource Exceeded".
	MaxPerClient int
	// HandshakeTimeout bounds the wait for the Convert message and the
	// onward connection (10 s when zero).
	HandshakeTimeout time.Duration
	// Log receives one line per refused or failed connection.
	Log *slog.Logger
	// Stats counts what the server did.
	Stats Stats

	guard   *replayGuard
	limiter limiter
}

// Serve accepts connections on l until it fails (for example, closed).
func (s *Server) Serve(l net.Listener) error {
	if len(s.Key) > 0 {
		s.guard = newReplayGuard(s.Key, 1<<20)
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		s.Stats.accept(c.RemoteAddr())
		go s.handle(c)
	}
}

func (s *Server) timeout() time.Duration {
	if s.HandshakeTimeout > 0 {
		return s.HandshakeTimeout
	}
	return 10 * time.Second
}

// refusal is a request the server answers with an Error TLV.
type refusal struct {
	code  convert.ErrorCode
	value []byte
	err   error
}

func (r *refusal) Error() string { return r.code.String() + ": " + r.err.Error() }

func (s *Server) handle(c net.Conn) {
	client := addrOf(c.RemoteAddr()).Addr()
	if !s.limiter.acquire(client, s.MaxPerClient) {
		s.Stats.OverLimit.Add(1)
		s.refuse(c, &refusal{code: convert.ErrResourceExceeded, value: []byte{0}, err: fmt.Errorf("client %v at its limit of %d connections", client, s.MaxPerClient)})
		return
	}
	defer s.limiter.release(client)
	if err := s.tlsHandshake(c); err != nil {
		// Mutual TLS refused the client: nothing is relayed, and there
		// is no channel to answer on but the TLS alert already sent.
		s.Stats.NotAuthorized.Add(1)
		s.Stats.client(c.RemoteAddr()).Refused.Add(1)
		s.Log.Info("refused", "client", c.RemoteAddr().String(), "reason", "TLS: "+err.Error())
		closeAfterAlert(c)
		return
	}
	_ = c.SetDeadline(time.Now().Add(s.timeout()))
	m, raw, err := convert.ReadMessage(c)
	if err != nil {
		s.Stats.Malformed.Add(1)
		s.refuse(c, &refusal{code: convert.Code(err), value: raw, err: err})
		return
	}
	if m.Connect == nil {
		s.answerInfo(c, m)
		return
	}
	dest, r := s.admit(m)
	if r != nil {
		s.refuse(c, r)
		return
	}
	if _, udp := m.Private(tlvUDP); udp {
		s.relayUDP(c)
		return
	}
	s.connect(c, dest)
}

// answerInfo replies to a message without a Connect TLV: an Info TLV gets
// the Supported TCP Extensions TLV (MPTCP, kind 30); anything else is
// unsupported.
func (s *Server) answerInfo(c net.Conn, m convert.Message) {
	defer c.Close()
	if !m.Info {
		s.Stats.Malformed.Add(1)
		s.refuse(c, &refusal{code: convert.ErrUnsupportedMessage, value: []byte{0}, err: errors.New("no Connect or Info TLV")})
		return
	}
	b, _ := (&convert.Message{SupportedTCPExt: []uint8{30}}).Append(nil)
	_, _ = c.Write(b)
}

// admit checks the key, the policy and resolves a host name, returning
// the destination or the refusal to answer.
func (s *Server) admit(m convert.Message) (netip.AddrPort, *refusal) {
	t := Target{Addr: m.Connect.Dest}
	if h, ok := m.Private(tlvHost); ok {
		t.Host = strings.TrimRight(string(h), "\x00")
	}
	_, udp := m.Private(tlvUDP)
	if s.guard != nil {
		v, _ := m.Private(tlvAuth)
		if err := s.guard.check(v, authDest(t, udp), time.Now()); err != nil {
			s.Stats.NotAuthorized.Add(1)
			return t.Addr, &refusal{code: convert.ErrNotAuthorized, value: []byte{0}, err: err}
		}
	}
	if udp {
		return t.Addr, nil
	}
	if t.Host != "" {
		a, err := s.resolve(t.Host)
		if err != nil {
			s.Stats.DestFailed.Add(1)
			return t.Addr, &refusal{code: convert.ErrDestinationUnreachable, value: []byte{1}, err: err}
		}
		t.Addr = netip.AddrPortFrom(a, t.Addr.Port())
	}
	if err := s.Policy.Check(t.Addr); err != nil {
		s.Stats.Forbidden.Add(1)
		return t.Addr, &refusal{code: convert.ErrNotAuthorized, value: []byte{0}, err: err}
	}
	return t.Addr, nil
}

func (s *Server) resolve(host string) (netip.Addr, error) {
	r := s.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
	defer cancel()
	as, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(as) == 0 {
		return netip.Addr{}, fmt.Errorf("resolving %q: %v", host, err)
	}
	return as[0].Unmap(), nil
}

// connect dials dest, answers the client and relays.
func (s *Server) connect(c net.Conn, dest netip.AddrPort) {
	d := s.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
	out, err := d.DialContext(ctx, "tcp", dest.String())
	cancel()
	if err != nil {
		s.Stats.DestFailed.Add(1)
		code, v := dialErrorCode(err)
		s.refuse(c, &refusal{code: code, value: []byte{v}, err: err})
		return
	}
	reply := convert.Message{ExtendedTCPHeader: synAckOptions(out)}
	b, _ := reply.Append(nil)
	if _, err := c.Write(b); err != nil {
		out.Close()
		c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	s.Stats.relay(c, out)
}

// dialErrorCode maps an onward dial error to the Error TLV code and value
// RFC 8803 section 4.2.8 gives: a RST is Connection Reset, an ICMP
// unreachable is Destination Unreachable with the ICMP code (net 0, host 1),
// anything else (a timeout included) a Network Failure.
func dialErrorCode(err error) (convert.ErrorCode, byte) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return convert.ErrConnectionReset, 0
	case errors.Is(err, syscall.ENETUNREACH):
		return convert.ErrDestinationUnreachable, 0
	case errors.Is(err, syscall.EHOSTUNREACH):
		return convert.ErrDestinationUnreachable, 1
	}
	return convert.ErrNetworkFailure, 0
}

// refuse answers with an Error TLV and resets the connection (RFC 8803:
// the Error TLV of a fatal error travels with a RST).
func (s *Server) refuse(c net.Conn, r *refusal) {
	s.Log.Info("refused", "client", c.RemoteAddr().String(), "code", uint8(r.code), "reason", r.Error())
	s.Stats.client(c.RemoteAddr()).Refused.Add(1)
	m := convert.Message{Error: &convert.Error{Code: r.code, Value: r.value}}
	b, err := m.Append(nil)
	if err != nil { // an echo too long to fit: drop the echo
		m.Error.Value = []byte{0}
		b, _ = m.Append(nil)
	}
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(b)
	// Let the reply leave before the reset: a RST would discard it in the
	// client's receive queue on some stacks. Closing the write half sends
	// the reply and a FIN; the reset follows.
	if cw, ok := c.(closeWriter); ok {
		_ = cw.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		var buf [512]byte
		for {
			if _, err := c.Read(buf[:]); err != nil {
				break
			}
		}
	}
	reset(c)
}

// addrOf returns a net.Addr's address and port.
func addrOf(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
