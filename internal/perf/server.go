package perf

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Server answers the tests of clients, one test at a time, as iperf3
// does; a client that comes while a test runs is told the server is busy.
type Server struct {
	// Interval is the reporting interval; 0 reports only the summary.
	Interval time.Duration
	// Timeout bounds each setup step and the wait for the client's
	// results (default DefaultTimeout; see Client.Timeout).
	Timeout time.Duration
	// StallTimeout abandons a transfer that moves no byte for this long
	// (default DefaultStallTimeout).
	StallTimeout time.Duration
	// Out, if set, receives iperf3-like text as each test runs.
	Out io.Writer
	// OnReport, if set, is called with the report of every test that
	// started, and the error that ended it, if any.
	OnReport func(*Report, error)

	mu       sync.Mutex
	sessions map[cookie]*session
	busy     bool
}

// session is the server's side of one test.
type session struct {
	ck      cookie
	streams chan dataConn
}

type dataConn struct {
	c      net.Conn
	stream int
}

func (s *Server) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

// Serve accepts connections on ln and runs the tests they ask for until
// ctx is done, then closes ln. It returns nil when ctx ended it, else the
// error that stopped Accept.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	_, err := s.serve(ctx, ln, false)
	return err
}

// ServeOne accepts connections on ln until one test has run, closes ln
// and returns the test's report and error.
func (s *Server) ServeOne(ctx context.Context, ln net.Listener) (*Report, error) {
	return s.serve(ctx, ln, true)
}

func (s *Server) serve(parent context.Context, ln net.Listener, once bool) (*Report, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var (
		mu     sync.Mutex
		ran    bool
		rep    *Report
		repErr error
		wg     sync.WaitGroup
	)
	defer wg.Wait()
	finished := func(r *Report, err error) {
		if !once {
			return
		}
		mu.Lock()
		if !ran {
			ran, rep, repErr = true, r, err
		}
		mu.Unlock()
		cancel()
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case ran:
				return rep, repErr
			case parent.Err() != nil && once:
				return nil, parent.Err()
			case parent.Err() != nil:
				return nil, nil
			}
			return nil, fmt.Errorf("perf: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, c, finished)
		}()
	}
}

// handle reads a connection's hello and runs the test of a control
// connection or hands a data connection to its test.
func (s *Server) handle(ctx context.Context, c net.Conn, done func(*Report, error)) {
	c.SetReadDeadline(time.Now().Add(s.timeout()))
	h, err := readHello(c)
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	if h.kind == kindData {
		s.mu.Lock()
		ss := s.sessions[h.cookie]
		s.mu.Unlock()
		if ss == nil {
			c.Close()
			return
		}
		select {
		case ss.streams <- dataConn{c, int(h.stream)}:
		default: // more streams than announced
			c.Close()
		}
		return
	}
	ctl := newControlConn(c, "client")
	s.mu.Lock()
	if s.busy {
		s.mu.Unlock()
		// The client's parameters are read first, so that a client
		// writing them is not blocked on a connection that buffers
		// nothing.
		c.SetDeadline(time.Now().Add(s.timeout()))
		ctl.recv()
		ctl.send(message{Type: msgError, Error: "the server is busy running a test; try again later"})
		c.Close()
		return
	}
	s.busy = true
	s.mu.Unlock()
	rep, err := s.run(ctx, c, ctl, h.cookie)
	s.mu.Lock()
	s.busy = false
	s.mu.Unlock()
	if rep != nil && s.OnReport != nil {
		s.OnReport(rep, err)
	}
	if rep != nil || err != nil {
		done(rep, err)
	}
}

// run is the server's side of one test, on its control connection.
func (s *Server) run(ctx context.Context, c net.Conn, ctl *controlConn, ck cookie) (*Report, error) {
	timeout := s.timeout()
	stall := s.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	conns := []net.Conn{c}
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	defer func() { closeAll() }()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	refuse := func(err error) error {
		c.SetWriteDeadline(time.Now().Add(timeout))
		ctl.send(message{Type: msgError, Error: err.Error()})
		return err
	}

	c.SetDeadline(time.Now().Add(timeout))
	m, err := ctl.expect(msgParams)
	if err != nil {
		return nil, fmt.Errorf("perf: reading the test parameters from %v: %w", c.RemoteAddr(), err)
	}
	if m.Params == nil {
		return nil, refuse(fmt.Errorf("%w: no parameters", ErrProtocol))
	}
	p, err := m.Params.withDefaults()
	if err != nil {
		return nil, refuse(err)
	}
	ss := &session{ck: ck, streams: make(chan dataConn, p.Streams)}
	s.mu.Lock()
	if s.sessions == nil {
		s.sessions = make(map[cookie]*session)
	}
	s.sessions[ck] = ss
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, ck)
		s.mu.Unlock()
		// Streams that came too late are closed.
		for {
			select {
			case dc := <-ss.streams:
				dc.c.Close()
			default:
				return
			}
		}
	}()
	if err := ctl.send(message{Type: msgAccept}); err != nil {
		return nil, err
	}

	data := make([]net.Conn, p.Streams)
	wait := time.NewTimer(timeout)
	defer wait.Stop()
	for got := 0; got < p.Streams; {
		select {
		case dc := <-ss.streams:
			conns = append(conns, dc.c)
			if dc.stream >= p.Streams || data[dc.stream] != nil {
				return nil, refuse(fmt.Errorf("%w: unexpected stream %d", ErrProtocol, dc.stream))
			}
			data[dc.stream] = dc.c
			got++
		case <-wait.C:
			return nil, refuse(fmt.Errorf("only %d of %d streams connected within %v", got, p.Streams, timeout))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := ctl.send(message{Type: msgStart}); err != nil {
		return nil, err
	}
	c.SetDeadline(time.Time{})

	rep := &Report{Role: "server", Params: p, Sender: p.Reverse, Streams: streamInfos(data)}
	pr := newPrinter(s.Out, rep)
	pr.header(c.RemoteAddr().String())
	tr := newTransfer(p, p.Reverse, data)
	tr.interval, tr.stall = s.Interval, stall
	tr.onIv = func(iv Interval) {
		rep.Intervals = append(rep.Intervals, iv)
		pr.interval(iv)
	}
	// The client says nothing on the control connection until its
	// result; watch it meanwhile, so that a client that went away (its
	// process killed: its system closes the connection) ends the test at
	// once instead of after the stall timeout.
	watch := watchControl(ctx, ctl)
	rep.Local = tr.run(watch.stop)
	rep.Start = tr.start

	// The client's result first, then ours (see Client.Run).
	if rep.Sender && !watch.ended() {
		awaitAcked(ctx, data, stall)
	}
	c.SetDeadline(time.Now().Add(timeout + stall))
	if m, err = watch.result(); err == nil {
		rep.Remote = m.Result
		// The client is done: every byte is acknowledged, and the
		// subflows' final figures are complete.
		refreshFinal(rep.Local, data)
		err = ctl.send(message{Type: msgResult, Result: rep.Local})
	}
	return finish(ctx, rep, pr, err)
}

// controlWatch reads the one message a client sends on its control
// connection while the data flows: its result, or the end of the
// connection.
type controlWatch struct {
	stop chan struct{} // closed when the connection ended or ctx is done
	got  chan controlRead
	once sync.Once
}

type controlRead struct {
	m   message
	err error
}

func watchControl(ctx context.Context, ctl *controlConn) *controlWatch {
	w := &controlWatch{stop: make(chan struct{}), got: make(chan controlRead, 1)}
	end := func() { w.once.Do(func() { close(w.stop) }) }
	stopCtx := context.AfterFunc(ctx, end)
	go func() {
		m, err := ctl.recv()
		if err == nil && m.Type != msgResult {
			err = fmt.Errorf("%w: got a %q message, want %q", ErrProtocol, m.Type, msgResult)
		}
		w.got <- controlRead{m, err}
		if err != nil {
			end()
		}
		stopCtx()
	}()
	return w
}

// ended reports whether the control connection ended (or ctx is done).
func (w *controlWatch) ended() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// result waits for the client's result message, once (the read is
// bounded by the connection's deadline).
func (w *controlWatch) result() (message, error) {
	r := <-w.got
	return r.m, r.err
}
