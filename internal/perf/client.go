package perf

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultTimeout bounds each step of a test's setup and the exchange of
// results.
const DefaultTimeout = 10 * time.Second

// Client runs a test against a server.
type Client struct {
	// Dial opens a connection to the server. It is called for the
	// control connection, then once per stream.
	Dial func(ctx context.Context) (net.Conn, error)
	// Params is the test.
	Params Params
	// Interval is the reporting interval; 0 reports only the summary.
	Interval time.Duration
	// Timeout bounds each setup step and the wait for the server's
	// results, which starts when this side is done (plus the stall
	// timeout, the longest the server may still be busy). Default
	// DefaultTimeout.
	Timeout time.Duration
	// StallTimeout abandons a transfer that moves no byte for this long
	// (default DefaultStallTimeout).
	StallTimeout time.Duration
	// Out, if set, receives iperf3-like text as the test runs: the
	// streams, one line per interval (and per subflow), the summary.
	Out io.Writer
}

// Run runs the test and returns its report. A report is returned with
// the error when the test started but failed.
func (cl *Client) Run(ctx context.Context) (*Report, error) {
	if cl.Dial == nil {
		return nil, errors.New("perf: Client without Dial")
	}
	p, err := cl.Params.withDefaults()
	if err != nil {
		return nil, err
	}
	timeout := cl.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	stall := cl.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	var ck cookie
	_, _ = rand.Read(ck[:]) // never fails on Linux (crypto/rand documents it)

	// Everything the test opens is closed when it ends, or at once when
	// ctx is cancelled.
	var conns []net.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	defer closeAll()
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()
	ctxErr := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}

	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctlConn, err := cl.Dial(dctx)
	if err != nil {
		return nil, ctxErr(fmt.Errorf("perf: connecting: %w", err))
	}
	conns = append(conns, ctlConn)
	ctl := newControlConn(ctlConn, "server")
	ctlConn.SetDeadline(time.Now().Add(timeout))
	if _, err := ctlConn.Write(hello{kind: kindControl, cookie: ck}.marshal()); err != nil {
		return nil, ctxErr(fmt.Errorf("perf: sending the hello: %w", err))
	}
	err = ctl.send(message{Type: msgParams, Params: &p})
	if err == nil {
		_, err = ctl.expect(msgAccept)
	}
	var np *notPerfError
	if errors.As(err, &np) {
		return nil, ctxErr(fmt.Errorf("perf: %w", err))
	}
	if err != nil {
		return nil, ctxErr(fmt.Errorf("perf: server did not accept the test: %w", err))
	}
	data := make([]net.Conn, p.Streams)
	for i := range data {
		c, err := cl.Dial(dctx)
		if err != nil {
			return nil, ctxErr(fmt.Errorf("perf: opening stream %d: %w", i, err))
		}
		conns = append(conns, c)
		data[i] = c
		if _, err := c.Write(hello{kind: kindData, cookie: ck, stream: uint16(i)}.marshal()); err != nil {
			return nil, ctxErr(fmt.Errorf("perf: stream %d: sending the hello: %w", i, err))
		}
	}
	ctlConn.SetDeadline(time.Now().Add(timeout))
	if _, err := ctl.expect(msgStart); err != nil {
		return nil, ctxErr(fmt.Errorf("perf: waiting for the server to start: %w", err))
	}
	ctlConn.SetDeadline(time.Time{})

	rep := &Report{Role: "client", Params: p, Sender: !p.Reverse, Streams: streamInfos(data)}
	pr := newPrinter(cl.Out, rep)
	pr.header(ctlConn.RemoteAddr().String())
	tr := newTransfer(p, !p.Reverse, data)
	tr.interval, tr.stall = cl.Interval, stall
	tr.onIv = func(iv Interval) {
		rep.Intervals = append(rep.Intervals, iv)
		pr.interval(iv)
	}
	rep.Local = tr.run(ctx.Done())
	rep.Start = tr.start

	// Results: the client's first, then the server's, so that neither
	// side relies on the connection buffering a message. A sender first
	// waits for its bytes to be acknowledged: the server answers once it
	// has read them all.
	if rep.Sender {
		awaitAcked(ctx, data, stall)
	}
	ctlConn.SetDeadline(time.Now().Add(timeout + stall))
	err = ctl.send(message{Type: msgResult, Result: rep.Local})
	if err == nil {
		var m message
		if m, err = ctl.expect(msgResult); err == nil {
			rep.Remote = m.Result
			// Every byte is acknowledged now: the subflows' final
			// figures are complete.
			refreshFinal(rep.Local, data)
		}
	}
	return finish(ctx, rep, pr, err)
}

// finish completes a test once the results were exchanged (or that
// failed with err): it sums both sides up, prints the summary and
// returns the report with the error that best explains a failure.
func finish(ctx context.Context, rep *Report, pr *printer, err error) (*Report, error) {
	if err != nil {
		err = fmt.Errorf("perf: exchanging results: %w", err)
	}
	rep.summarize()
	pr.summary()
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	return rep, firstErr(rep, err)
}

// firstErr returns the error that best explains a failed test.
func firstErr(rep *Report, err error) error {
	var local error
	remote := ""
	if rep.Local != nil {
		local = rep.Local.err
	}
	if rep.Remote != nil {
		remote = rep.Remote.Error
	}
	switch {
	case local != nil && remote != "":
		// Often one caused the other (a receiver that finds corrupt
		// data closes its streams, and the sender's writes fail).
		return fmt.Errorf("perf: %w (peer: %s)", local, remote)
	case local != nil:
		return fmt.Errorf("perf: %w", local)
	case remote != "":
		return fmt.Errorf("perf: peer: %s", remote)
	}
	if err != nil {
		return err
	}
	if !rep.Summary.Complete {
		return fmt.Errorf("perf: %w: sent %d bytes, received %d", ErrShort, rep.Summary.Sent.Bytes, rep.Summary.Received.Bytes)
	}
	return nil
}

func streamInfos(conns []net.Conn) []StreamInfo {
	out := make([]StreamInfo, len(conns))
	for i, c := range conns {
		out[i] = StreamInfo{Stream: i, Local: c.LocalAddr().String(), Remote: c.RemoteAddr().String(), Conn: Inspect(c)}
	}
	return out
}
