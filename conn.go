package mptcp

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/tcp"
)

// Conn is an MPTCP connection: a net.Conn whose bytes may travel over
// several paths. It has what *net.TCPConn has that applies to it
// (CloseRead, CloseWrite, keepalive, SetNoDelay, SetLinger,
// MultipathTCP), and Info.
type Conn struct {
	s *shard     // the protocol loop the connection lives in
	c *core.Conn // guarded by s.mu

	// The fields below are guarded by s.mu.
	signal        chan struct{} // closed and replaced when the core notifies
	waiters       int
	readDeadline  time.Time
	writeDeadline time.Time
	closed        bool
	readClosed    bool // CloseRead: reads say EOF, arriving data is dropped
	linger        time.Duration
	lingerSet     bool
	drain         []byte // scratch for data dropped after CloseRead
}

var _ net.Conn = (*Conn)(nil)

// newConn wraps cc; s.mu is held.
func newConn(s *shard, cc *core.Conn) *Conn {
	c := &Conn{s: s, c: cc, signal: make(chan struct{})}
	cc.SetNotify(c.notify)
	return c
}

// notify runs on the driver's goroutine with s.mu held.
func (c *Conn) notify() {
	if c.readClosed && c.discard() {
		// Reading opened the window: tell the peer (Wake only queues).
		if d := c.s.drv; d != nil {
			d.Wake()
		}
	}
	if c.waiters > 0 {
		c.notifyAll()
	}
}

// discard reads and drops what arrived after CloseRead, so the peer is
// not blocked by a full window; s.mu is held. It reports whether it
// dropped anything.
func (c *Conn) discard() bool {
	if c.drain == nil {
		c.drain = make([]byte, 16<<10)
	}
	any := false
	for {
		n, _ := c.c.Read(c.drain)
		if n == 0 {
			return any
		}
		any = true
	}
}

// wait releases s.mu until the core notifies, the deadline passes or ctx
// is done, and takes it again. It reports why it returned.
func (c *Conn) wait(ctx context.Context, deadline time.Time) error {
	ch := c.signal
	c.waiters++
	c.s.mu.Unlock()
	err := waitSignal(ctx, ch, deadline)
	c.s.mu.Lock()
	c.waiters--
	return err
}

// waitSignal blocks until ch is closed (nil error), the deadline passes
// (os.ErrDeadlineExceeded) or ctx is done (its error).
func waitSignal(ctx context.Context, ch <-chan struct{}, deadline time.Time) error {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
		return nil
	case <-timeout:
		return os.ErrDeadlineExceeded
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitEstablished blocks until the handshake completes or fails.
func (c *Conn) waitEstablished(ctx context.Context) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	deadline, _ := ctx.Deadline()
	for {
		switch c.c.State() {
		case core.StateEstablished:
			return nil
		case core.StateClosed:
			if err := c.c.Err(); err != nil {
				return err
			}
			return core.ErrConnectionReset
		}
		if err := c.wait(ctx, deadline); err != nil {
			c.c.Abort()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = context.DeadlineExceeded
			}
			return err
		}
	}
}

func (c *Conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return opError(op, c.LocalAddr(), c.RemoteAddr(), err)
}

// Read reads data from the connection, blocking until some arrives, the
// peer closes its direction (io.EOF), or the read deadline passes.
func (c *Conn) Read(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	for {
		switch {
		case c.closed:
			s.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		case c.readClosed:
			s.mu.Unlock()
			return 0, io.EOF
		case !c.readDeadline.IsZero() && !time.Now().Before(c.readDeadline):
			s.mu.Unlock()
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		case len(p) == 0:
			s.mu.Unlock()
			return 0, nil
		}
		n, err := c.c.Read(p)
		if n > 0 || !errors.Is(err, core.ErrWouldBlock) {
			// Reading may have opened the receive window enough for a
			// window update: the driver is woken only then.
			due := n > 0 && s.core.Pending()
			d := s.drv
			s.mu.Unlock()
			if due && d != nil {
				d.Wake()
			}
			if n > 0 {
				return n, nil
			}
			return 0, c.opError("read", err)
		}
		if c.c.FastOpenPending() {
			// A Fast Open SYN waiting for data the application reads
			// before writing: it goes without.
			c.c.Connect()
			s.mu.Unlock()
			s.wake()
			s.mu.Lock()
			continue
		}
		if err := c.wait(context.Background(), c.readDeadline); err != nil {
			s.mu.Unlock()
			return 0, c.opError("read", err)
		}
	}
}

// Write writes p to the connection, blocking while the send buffer is
// full, until all of p is queued or the write deadline passes.
func (c *Conn) Write(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	written := 0
	for {
		if c.closed {
			s.mu.Unlock()
			return written, c.opError("write", net.ErrClosed)
		}
		if !c.writeDeadline.IsZero() && !time.Now().Before(c.writeDeadline) {
			s.mu.Unlock()
			return written, c.opError("write", os.ErrDeadlineExceeded)
		}
		n, err := c.c.Write(p[written:])
		written += n
		if err != nil {
			s.mu.Unlock()
			return written, c.opError("write", err)
		}
		if n > 0 {
			s.mu.Unlock()
			s.wake()
			if written == len(p) {
				return written, nil
			}
			s.mu.Lock()
			continue
		}
		if written == len(p) {
			s.mu.Unlock()
			return written, nil
		}
		if err := c.wait(context.Background(), c.writeDeadline); err != nil {
			s.mu.Unlock()
			return written, c.opError("write", err)
		}
	}
}

// CloseWrite shuts down the sending side: the peer reads io.EOF after the
// data already written (a DATA_FIN). Writes fail with EPIPE after it.
func (c *Conn) CloseWrite() error {
	c.s.mu.Lock()
	if c.closed {
		c.s.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	err := c.c.CloseWrite()
	c.notifyAll()
	c.s.mu.Unlock()
	c.s.wake()
	return c.opError("close", err)
}

// CloseRead shuts down the reading side: Read returns io.EOF at once, and
// data that arrives is dropped (and acknowledged, so the peer is not
// blocked).
func (c *Conn) CloseRead() error {
	c.s.mu.Lock()
	if c.closed {
		c.s.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.readClosed = true
	dropped := c.discard()
	c.notifyAll()
	c.s.mu.Unlock()
	if dropped {
		c.s.wake()
	}
	return nil
}

// Close closes the connection. Data already written is still delivered
// (unless SetLinger says otherwise); blocked Read and Write calls return
// net.ErrClosed.
func (c *Conn) Close() error {
	s := c.s
	s.mu.Lock()
	if c.closed {
		s.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	c.notifyAll()
	if c.lingerSet && c.linger == 0 {
		c.c.Abort()
		s.mu.Unlock()
		s.wake()
		return nil
	}
	_ = c.c.Close()
	if c.lingerSet {
		s.mu.Unlock()
		s.wake()
		s.mu.Lock()
		c.lingerClose(time.Now().Add(c.linger))
	}
	s.mu.Unlock()
	s.wake()
	return nil
}

// lingerClose waits until everything written is acknowledged or the
// deadline passes, and then resets the connection if data is left; s.mu
// is held.
func (c *Conn) lingerClose(deadline time.Time) {
	for c.c.State() != core.StateClosed && c.c.Info().SendBuffered > 0 {
		if c.wait(context.Background(), deadline) != nil {
			c.c.Abort()
			return
		}
	}
}

// Abort resets the connection at once (MP_FASTCLOSE, or a RST for a
// plain TCP peer); unsent and unacknowledged data is lost. It is Close
// after SetLinger(0).
func (c *Conn) Abort() {
	s := c.s
	s.mu.Lock()
	c.closed = true
	c.c.Abort()
	c.notifyAll()
	s.mu.Unlock()
	s.wake()
}

// notifyAll wakes every waiter, whatever the core said; s.mu is held
// (during a driver's round the waiters wake when it ends: shard.signal).
func (c *Conn) notifyAll() {
	c.s.signal(c.signal)
	c.signal = make(chan struct{})
}

// LocalAddr returns the local address of the initial subflow.
func (c *Conn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.c.LocalAddr()) }

// RemoteAddr returns the remote address of the initial subflow.
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.c.RemoteAddr()) }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.s.mu.Lock()
	c.readDeadline, c.writeDeadline = t, t
	c.notifyAll()
	c.s.mu.Unlock()
	return nil
}

// SetReadDeadline sets the deadline for Read calls, pending ones included.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.s.mu.Lock()
	c.readDeadline = t
	c.notifyAll()
	c.s.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the deadline for Write calls, pending ones included.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.s.mu.Lock()
	c.writeDeadline = t
	c.notifyAll()
	c.s.mu.Unlock()
	return nil
}

// SetKeepAlive turns keepalive probing on every subflow on (with the
// period set by SetKeepAlivePeriod, 15 s by default) or off.
func (c *Conn) SetKeepAlive(keepalive bool) error {
	cfg := net.KeepAliveConfig{Enable: keepalive}
	return c.SetKeepAliveConfig(cfg)
}

// SetKeepAlivePeriod turns keepalive on with the given idle time and
// interval between probes.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: d, Interval: d})
}

// SetKeepAliveConfig configures keepalive probing on every subflow of the
// connection, present and future, as *net.TCPConn's does for its socket:
// zero fields take the defaults (15 s idle, 15 s between probes, 9
// probes).
func (c *Conn) SetKeepAliveConfig(cfg net.KeepAliveConfig) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.closed {
		return c.opError("set", net.ErrClosed)
	}
	c.c.SetKeepAlive(keepAlive(cfg))
	return nil
}

// keepAlive translates a net.KeepAliveConfig, with the net package's
// defaults, to the stack's settings.
func keepAlive(cfg net.KeepAliveConfig) tcp.KeepAlive {
	if !cfg.Enable {
		return tcp.KeepAlive{}
	}
	ka := tcp.KeepAlive{Idle: cfg.Idle, Interval: cfg.Interval, Count: cfg.Count}
	if ka.Idle <= 0 {
		ka.Idle = defaultKeepAlive
	}
	if ka.Interval <= 0 {
		ka.Interval = defaultKeepAlive
	}
	if ka.Count <= 0 {
		ka.Count = defaultKeepAliveCount
	}
	return ka
}

// The net package's keepalive defaults.
const (
	defaultKeepAlive      = 15 * time.Second
	defaultKeepAliveCount = 9
)

// SetNoDelay controls the Nagle algorithm on every subflow: true (the
// default, as in the net package) sends small writes at once; false holds
// them back while data is unacknowledged.
func (c *Conn) SetNoDelay(noDelay bool) error {
	c.s.mu.Lock()
	if c.closed {
		c.s.mu.Unlock()
		return c.opError("set", net.ErrClosed)
	}
	c.c.SetNagle(!noDelay)
	c.s.mu.Unlock()
	c.s.wake() // what Nagle held back may go now
	return nil
}

// SetLinger sets what Close does with data not yet acknowledged, as
// *net.TCPConn's: sec < 0 (the default) sends it in the background;
// sec == 0 discards it and resets the connection; sec > 0 makes Close
// wait up to sec seconds for it to be acknowledged, then reset the
// connection if some is left.
func (c *Conn) SetLinger(sec int) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.closed {
		return c.opError("set", net.ErrClosed)
	}
	c.lingerSet = sec >= 0
	c.linger = time.Duration(sec) * time.Second
	return nil
}

// MultipathTCP reports whether the connection speaks MPTCP: false when the
// peer answered in plain TCP or a middlebox made it fall back, as
// *net.TCPConn's MultipathTCP says for the kernel's.
func (c *Conn) MultipathTCP() (bool, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.closed {
		return false, c.opError("get", net.ErrClosed)
	}
	return !c.c.FellBack(), nil
}

// ConnInfo describes a connection: state, policies, the bytes it sent,
// received and had acknowledged, and each subflow's addresses, RTT,
// window, byte and retransmission counts.
type ConnInfo = core.ConnInfo

// Info returns a snapshot of the connection's state and counters.
func (c *Conn) Info() ConnInfo {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.c.Info()
}
