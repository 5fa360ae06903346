package mptcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// Dialer holds the options for connecting over a Stack, as net.Dialer does
// for the host's, and the per-connection MPTCP settings. The zero value
// with a Stack dials with the stack's defaults.
type Dialer struct {
	// Stack is the stack to dial from. Required.
	Stack *Stack

	// Timeout bounds the whole dial, name resolution and every address
	// tried; Deadline is an absolute bound. Zero: none but the context's
	// and the stack's SYN retries. Several addresses share the time, as
	// with net.Dialer.
	Timeout  time.Duration
	Deadline time.Time

	// LocalAddr is the address of the initial subflow (a *net.TCPAddr
	// whose port is zero); nil picks one of the stack's addresses of the
	// remote's family. Further subflows are the path manager's choice.
	LocalAddr net.Addr

	// FallbackDelay is how long an attempt of the preferred family (that
	// of the first address resolved) runs before one of the other family
	// starts beside it (RFC 8305 Happy Eyeballs); zero means 300 ms, a
	// negative value turns the race off.
	FallbackDelay time.Duration

	// KeepAlive is the keepalive period of the connection's subflows:
	// zero takes the default (15 s), negative turns keepalive off, unless
	// KeepAliveConfig.Enable is set, which then rules (as net.Dialer).
	KeepAlive       time.Duration
	KeepAliveConfig net.KeepAliveConfig

	// Resolver looks host names up; nil uses net.DefaultResolver.
	Resolver *net.Resolver

	// Scheduler, CongestionControl and PathManager override the stack's
	// policies for this connection (names from packages sched, cc, pm).
	Scheduler, CongestionControl, PathManager string
	// Backup makes the initial subflow a backup path.
	Backup bool
	// Checksum asks for DSS checksums on this connection.
	Checksum bool
	// DisableMPTCP dials plain TCP.
	DisableMPTCP bool
	// FastOpen dials with TCP Fast Open (RFC 7413; with MPTCP as RFC 8684
	// appendix B describes). The first connection to a server asks it for
	// a cookie; once the stack holds one, Dial returns before the
	// handshake, as Linux's TCP_FASTOPEN_CONNECT, and the first Write's
	// data rides the SYN: the server has it a round trip earlier. A Read,
	// CloseWrite or Close before any Write sends the SYN without data.
	// Errors of the handshake then show on the first Read or Write. The
	// server must take SYN data (ListenConfig.FastOpen, or Linux with
	// net.ipv4.tcp_fastopen); if it does not, the data is sent again after
	// the handshake.
	FastOpen bool
}

// Dial connects to address over network, as DialContext with no context.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address ("host:port"; host an IP address or a
// name) over network "tcp", "tcp4" or "tcp6". It tries the addresses a
// name resolves to as net.Dialer does: with "tcp" and addresses of both
// families, those of the other family start FallbackDelay after the
// first (Happy Eyeballs), and serial attempts share what is left of the
// deadline. The connection is MPTCP if the peer agrees and plain TCP
// otherwise; it is a *Conn.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.dial(ctx, network, address)
	if err != nil {
		return nil, err // not a nil *Conn in a non-nil interface
	}
	return c, nil
}

func (d *Dialer) dial(ctx context.Context, network, address string) (*Conn, error) {
	fail := func(err error) (*Conn, error) {
		var op *net.OpError
		if errors.As(err, &op) {
			return nil, err
		}
		return nil, &net.OpError{Op: "dial", Net: network, Source: d.LocalAddr, Addr: tcpAddrString(address), Err: withErrno(err)}
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fail(net.UnknownNetworkError(network))
	}
	if d.Stack == nil {
		return fail(errors.New("mptcp: Dialer has no Stack"))
	}
	local, err := d.localAddr()
	if err != nil {
		return fail(err)
	}
	if dl := d.deadline(time.Now()); !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	addrs, err := d.resolve(ctx, network, address, local)
	if err != nil {
		return fail(err)
	}
	var primary, fallback []netip.AddrPort
	for _, a := range addrs {
		if a.Addr().Is4() == addrs[0].Addr().Is4() {
			primary = append(primary, a)
		} else {
			fallback = append(fallback, a)
		}
	}
	if network != "tcp" || d.FallbackDelay < 0 {
		primary, fallback = addrs, nil
	}
	return d.race(ctx, local, primary, fallback)
}

// localAddr returns the initial subflow's address, if one is asked for.
func (d *Dialer) localAddr() (netip.Addr, error) {
	if d.LocalAddr == nil {
		return netip.Addr{}, nil
	}
	ta, ok := d.LocalAddr.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, &net.AddrError{Err: "mismatched local address type", Addr: d.LocalAddr.String()}
	}
	ap := ta.AddrPort()
	if ap.Port() != 0 {
		return netip.Addr{}, &net.AddrError{Err: "a local port cannot be chosen (the stack picks it)", Addr: ta.String()}
	}
	return ap.Addr().Unmap(), nil
}

// deadline is the earliest of Deadline and now plus Timeout, or zero.
func (d *Dialer) deadline(now time.Time) time.Time {
	dl := d.Deadline
	if d.Timeout > 0 {
		if t := now.Add(d.Timeout); dl.IsZero() || t.Before(dl) {
			dl = t
		}
	}
	return dl
}

// resolve returns the addresses to try: those of the network's family
// that the stack (or the local address) can reach, in the resolver's
// order.
func (d *Dialer) resolve(ctx context.Context, network, address string, local netip.Addr) ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := lookupPort(ctx, d.Resolver, network, portStr)
	if err != nil {
		return nil, err
	}
	if host == "" {
		return nil, &net.AddrError{Err: "missing host (the stack has no loopback)", Addr: address}
	}
	ips, err := resolve(ctx, d.Resolver, network, host)
	if err != nil {
		return nil, err
	}
	s := d.Stack.shards[0] // every shard has the same addresses
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.AddrPort
	for _, ip := range ips {
		if local.IsValid() && local.Is4() != ip.Is4() {
			continue
		}
		if !local.IsValid() && !s.hasFamily(ip) {
			continue
		}
		out = append(out, netip.AddrPortFrom(ip, port))
	}
	if len(out) == 0 {
		return nil, &net.AddrError{Err: "no address the stack can reach (it has none of that family)", Addr: host}
	}
	return out, nil
}

// resolve looks host up (an IP literal needs no lookup) and keeps the
// addresses of network's family.
func resolve(ctx context.Context, r *net.Resolver, network, host string) ([]netip.Addr, error) {
	var ips []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{a.WithZone("").Unmap()}
	} else {
		if r == nil {
			r = net.DefaultResolver
		}
		fam := map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[network]
		found, err := r.LookupNetIP(ctx, fam, host)
		if err != nil {
			return nil, err
		}
		for _, a := range found {
			ips = append(ips, a.Unmap())
		}
	}
	var out []netip.Addr
	for _, a := range ips {
		if (network == "tcp4" && !a.Is4()) || (network == "tcp6" && a.Is4()) {
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, &net.AddrError{Err: "no suitable address found", Addr: host}
	}
	return out, nil
}

// fallbackDelay is the net package's default head start of the preferred
// family (RFC 8305 section 5 suggests 250 ms).
const fallbackDelay = 300 * time.Millisecond

// race dials the primary addresses one after the other and, after
// FallbackDelay, the fallback ones beside them; the first connection
// wins and the other attempt is cancelled.
func (d *Dialer) race(ctx context.Context, local netip.Addr, primary, fallback []netip.AddrPort) (*Conn, error) {
	if len(fallback) == 0 {
		return d.dialSerial(ctx, local, primary)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		c       *Conn
		err     error
		primary bool
	}
	results := make(chan result, 2)
	start := func(primary bool, addrs []netip.AddrPort) {
		c, err := d.dialSerial(ctx, local, addrs)
		results <- result{c, err, primary}
	}
	go start(true, primary)
	delay := d.FallbackDelay
	if delay == 0 {
		delay = fallbackDelay
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var firstErr error
	running, fallbackStarted := 1, false
	for {
		select {
		case <-timer.C:
			if !fallbackStarted {
				fallbackStarted = true
				running++
				go start(false, fallback)
			}
		case r := <-results:
			running--
			if r.err == nil {
				if running > 0 {
					cancel()
					go func() {
						if other := <-results; other.c != nil {
							other.c.Abort()
						}
					}()
				}
				return r.c, nil
			}
			if firstErr == nil || r.primary {
				firstErr = r.err
			}
			if !fallbackStarted {
				// The preferred family failed: start the other at once.
				timer.Stop()
				fallbackStarted = true
				running++
				go start(false, fallback)
			} else if running == 0 {
				return nil, firstErr
			}
		}
	}
}

// dialSerial tries each address in turn, each with its share of the time
// left, and returns the first connection or the first error.
func (d *Dialer) dialSerial(ctx context.Context, local netip.Addr, addrs []netip.AddrPort) (*Conn, error) {
	var firstErr error
	for i, ap := range addrs {
		if err := ctx.Err(); err != nil {
			if firstErr == nil {
				firstErr = d.addrErr(local, ap, err)
			}
			break
		}
		actx := ctx
		if dl, ok := ctx.Deadline(); ok {
			part := partialDeadline(time.Now(), dl, len(addrs)-i)
			var cancel context.CancelFunc
			actx, cancel = context.WithDeadline(ctx, part)
			defer cancel()
		}
		c, err := d.dialOne(actx, local, ap)
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// partialDeadline gives one of n remaining attempts its share of the time
// until deadline, but at least two seconds when there is that much (as
// the net package does), so that a fast failure does not starve the
// attempts after it and a slow one does not take them all.
func partialDeadline(now, deadline time.Time, n int) time.Time {
	left := deadline.Sub(now)
	share := left / time.Duration(n)
	const floor = 2 * time.Second
	if share < floor {
		share = min(left, floor)
	}
	return now.Add(share)
}

func (d *Dialer) addrErr(local netip.Addr, ap netip.AddrPort, err error) error {
	var src net.Addr
	if local.IsValid() {
		src = net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0))
	}
	return &net.OpError{Op: "dial", Net: "tcp", Source: src, Addr: net.TCPAddrFromAddrPort(ap), Err: withErrno(err)}
}

// dialOne opens one connection and waits for its handshake.
func (d *Dialer) dialOne(ctx context.Context, local netip.Addr, remote netip.AddrPort) (*Conn, error) {
	s := d.Stack.pick(remote, d.FastOpen)
	ka := keepAlive(acceptKeepAlive(d.KeepAlive, d.KeepAliveConfig))
	s.mu.Lock()
	if s.drv == nil {
		s.mu.Unlock()
		return nil, d.addrErr(local, remote, ErrNoDriver)
	}
	cc, err := s.core.Dial(s.now(), local, remote, core.ConnOptions{
		Scheduler: d.Scheduler, CongestionControl: d.CongestionControl, PathManager: d.PathManager,
		Backup: d.Backup, Checksum: d.Checksum, DisableMPTCP: d.DisableMPTCP, KeepAlive: &ka,
		FastOpen: d.FastOpen,
	})
	if err != nil {
		s.mu.Unlock()
		return nil, d.addrErr(local, remote, err)
	}
	c := newConn(s, cc)
	pending := cc.FastOpenPending()
	s.mu.Unlock()
	s.wake()
	if pending {
		return c, nil // the SYN waits for the first Write's data
	}
	if err := c.waitEstablished(ctx); err != nil {
		return nil, opError("dial", c.LocalAddr(), net.TCPAddrFromAddrPort(remote), err)
	}
	return c, nil
}
