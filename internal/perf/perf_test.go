package perf

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func runPair(t *testing.T, n *pipeNet, srv *Server, cl *Client) (*Report, serverResult, error) {
	t.Helper()
	res := serveOne(t, srv, n)
	cl.Dial = n.Dial
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := cl.Run(ctx)
	sr := <-res
	return rep, sr, err
}

func TestForwardDurationVerified(t *testing.T) {
	var out bytes.Buffer
	rep, sr, err := runPair(t, newPipeNet(), &Server{},
		&Client{Params: Params{Duration: 300 * time.Millisecond, Verify: true}, Interval: 100 * time.Millisecond, Out: &out})
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out.String())
	}
	if sr.err != nil {
		t.Fatalf("server: %v", sr.err)
	}
	if !rep.Sender || rep.Local == nil || rep.Remote == nil {
		t.Fatalf("client report: sender %v, local %v, remote %v", rep.Sender, rep.Local, rep.Remote)
	}
	if !rep.Summary.Complete || !rep.Summary.Verified {
		t.Errorf("summary %+v, want complete and verified", rep.Summary)
	}
	if rep.Summary.Sent.Bytes == 0 || rep.Summary.Sent.Bytes != rep.Summary.Received.Bytes {
		t.Errorf("sent %d, received %d", rep.Summary.Sent.Bytes, rep.Summary.Received.Bytes)
	}
	// The server saw the same: it received what the client sent.
	if sr.rep.Sender || sr.rep.Local.Bytes != rep.Local.Bytes || !sr.rep.Summary.Verified {
		t.Errorf("server: sender %v, received %d of %d, verified %v", sr.rep.Sender, sr.rep.Local.Bytes, rep.Local.Bytes, sr.rep.Summary.Verified)
	}
	// The sender stops at the duration (with slack for a loaded machine).
	if rep.Local.Seconds < 0.3 {
		t.Errorf("sender stopped after %.3f s, want at least the 0.3 s asked", rep.Local.Seconds)
	}
	if len(rep.Intervals) < 2 {
		t.Errorf("%d intervals, want several", len(rep.Intervals))
	}
	var sum int64
	for _, iv := range rep.Intervals {
		sum += iv.Bytes
	}
	// The intervals cover the transfer but a final sliver shorter than a
	// tenth of the interval.
	if sum > rep.Local.Bytes || sum < rep.Local.Bytes/2 {
		t.Errorf("intervals add up to %d bytes, the total is %d", sum, rep.Local.Bytes)
	}
	for _, want := range []string{"Connecting to pipe: sending for 300ms, 1 stream(s), verified", "sender", "receiver  (every byte verified)", "Complete: every byte sent was received and verified."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReverseBytesStreams(t *testing.T) {
	const total = 3<<20 + 7 // not a multiple of the streams or the block
	rep, sr, err := runPair(t, newPipeNet(), &Server{},
		&Client{Params: Params{Reverse: true, Bytes: total, Streams: 3, Verify: true, BlockSize: 50000}})
	if err != nil {
		t.Fatal(err)
	}
	if sr.err != nil {
		t.Fatal(sr.err)
	}
	if rep.Sender || !sr.rep.Sender {
		t.Errorf("reverse: client sender %v, server sender %v", rep.Sender, sr.rep.Sender)
	}
	if rep.Local.Bytes != total || sr.rep.Local.Bytes != total {
		t.Errorf("client received %d, server sent %d, want %d", rep.Local.Bytes, sr.rep.Local.Bytes, total)
	}
	if len(rep.Local.Streams) != 3 {
		t.Fatalf("%d streams", len(rep.Local.Streams))
	}
	for i, s := range rep.Local.Streams {
		if want := streamBytes(total, i, 3); s.Bytes != want {
			t.Errorf("stream %d: %d bytes, want %d", i, s.Bytes, want)
		}
	}
	if !rep.Summary.Verified || !rep.Summary.Complete {
		t.Errorf("summary %+v", rep.Summary)
	}
	if len(rep.Intervals) != 0 {
		t.Errorf("%d intervals with Interval 0, want none", len(rep.Intervals))
	}
}

func TestCorruptionDetected(t *testing.T) {
	n := newPipeNet()
	n.server = func(c net.Conn) net.Conn { return &corruptConn{Conn: c, at: int64(helloLen) + 123457} }
	rep, sr, err := runPair(t, n, &Server{}, &Client{Params: Params{Bytes: 1 << 20, Verify: true}})
	if !errors.Is(sr.err, ErrCorrupt) || !strings.Contains(sr.err.Error(), "byte 123457") {
		t.Errorf("server error %v, want corruption at byte 123457", sr.err)
	}
	if err == nil || !strings.Contains(err.Error(), "data corrupted: stream 0: byte 123457") {
		t.Errorf("client error %v, want the server's corruption report", err)
	}
	if rep == nil || rep.Summary.Verified || rep.Summary.Complete {
		t.Errorf("client summary %+v, want neither verified nor complete", rep)
	}
}

func TestCorruptionUnnoticedWithoutVerify(t *testing.T) {
	n := newPipeNet()
	n.server = func(c net.Conn) net.Conn { return &corruptConn{Conn: c, at: int64(helloLen) + 1000} }
	rep, _, err := runPair(t, n, &Server{}, &Client{Params: Params{Bytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Summary.Complete || rep.Summary.Verified {
		t.Errorf("summary %+v: want complete, not verified", rep.Summary)
	}
}

func TestStallAbandoned(t *testing.T) {
	n := newPipeNet()
	n.server = newDeafConn
	srv := &Server{StallTimeout: 300 * time.Millisecond, Timeout: time.Second}
	_, sr, err := runPair(t, n, srv, &Client{Params: Params{Duration: time.Minute}, StallTimeout: 300 * time.Millisecond, Timeout: time.Second})
	// Whichever side notices first closes its streams; the other reports
	// that, and the stall.
	if err == nil || !strings.Contains(err.Error(), "transfer stalled: no data for 300ms") {
		t.Errorf("client: %v, want a stall", err)
	}
	if sr.err == nil {
		t.Error("server: no error after a stalled test")
	}
}

func TestServerBusy(t *testing.T) {
	n := newPipeNet()
	srv := &Server{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var served sync.WaitGroup
	served.Add(1)
	go func() { defer served.Done(); srv.Serve(ctx, n) }()
	first := make(chan error, 1)
	go func() {
		_, err := (&Client{Dial: n.Dial, Params: Params{Duration: time.Second}}).Run(ctx)
		first <- err
	}()
	// Wait until the first test runs.
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.mu.Lock()
		busy := srv.busy
		srv.mu.Unlock()
		if busy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first test never started")
		}
		time.Sleep(time.Millisecond)
	}
	_, err := (&Client{Dial: n.Dial, Params: Params{Duration: time.Second}}).Run(ctx)
	var pe *PeerError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "busy") {
		t.Errorf("second client: %v, want the server busy", err)
	}
	if err := <-first; err != nil {
		t.Errorf("first client: %v", err)
	}
	cancel()
	served.Wait()
}

func TestServerRefusesBadParams(t *testing.T) {
	n := newPipeNet()
	res := serveOne(t, &Server{}, n)
	// A client that skips its own validation.
	c, err := n.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(hello{kind: kindControl}.marshal())
	ctl := newControlConn(c, "server")
	ctl.send(message{Type: msgParams, Params: &Params{Streams: 1000}})
	_, err = ctl.recv()
	var pe *PeerError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "1000 streams") {
		t.Errorf("got %v, want a refusal naming the streams", err)
	}
	if sr := <-res; !errors.Is(sr.err, ErrParams) {
		t.Errorf("server: %v, want ErrParams", sr.err)
	}
}

func TestNotAPerfServer(t *testing.T) {
	// A server that answers with something else, then closes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("SSH-2.0-OpenSSH\r\n"))
			c.Close()
		}
	}()
	cl := &Client{Dial: func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}, Params: Params{Duration: time.Second}, Timeout: 5 * time.Second}
	_, err = cl.Run(context.Background())
	// Which the client meets first depends on timing: the banner (read
	// before the server's close reaches the client's write) or the
	// failed write of its parameters; either is a clear answer.
	if err == nil || !strings.Contains(err.Error(), "server did not accept the test") &&
		err.Error() != "perf: the peer is not an mptcp perf server (it speaks SSH?)" {
		t.Errorf("got %v", err)
	}
}

// TestNotAPerfServerSaysWhat: a client that reaches an HTTP server (or
// any other) says so, rather than reading "HTTP" as the length of a
// message of 1213486160 bytes (issue 19).
func TestNotAPerfServerSaysWhat(t *testing.T) {
	for answer, want := range map[string]string{
		"HTTP/1.1 400 Bad Request\r\n\r\n": "perf: the peer is not an mptcp perf server (it speaks HTTP?)",
		"SSH-2.0-OpenSSH_9.6\r\n":          "perf: the peer is not an mptcp perf server (it speaks SSH?)",
		"\x16\x03\x01\x00\x05hello":        "perf: the peer is not an mptcp perf server (it speaks TLS?)",
		"\xff\xff\xff\xff":                 "perf: the peer is not an mptcp perf server (it sent the bytes ff ff ff ff)",
		"ZZZZ":                             `perf: the peer is not an mptcp perf server (it sent "ZZZZ")`,
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// As such servers do: read the request, answer, and close
			// when the client does.
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Read(make([]byte, 64))
			c.Write([]byte(answer))
			io.Copy(io.Discard, c)
			c.Close()
		}()
		cl := &Client{Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", ln.Addr().String())
		}, Params: Params{Duration: time.Second}, Timeout: 5 * time.Second}
		_, err = cl.Run(context.Background())
		ln.Close()
		if err == nil || err.Error() != want || !errors.Is(err, ErrProtocol) {
			t.Errorf("answer %q: got %v, want %q", answer, err, want)
		}
	}
}

func TestServerIgnoresGarbage(t *testing.T) {
	n := newPipeNet()
	res := serveOne(t, &Server{Timeout: time.Second}, n)
	for _, junk := range []string{"GET / HTTP/1.1\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", magic + "\x09\x01" + strings.Repeat("x", 30), magic + "\x01\x07" + strings.Repeat("x", 30)} {
		c, err := n.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(junk))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var b [1]byte
		if _, err := c.Read(b[:]); err == nil {
			t.Errorf("server answered %q", junk)
		}
		c.Close()
	}
	// It still serves a real test afterwards.
	rep, err := (&Client{Dial: n.Dial, Params: Params{Bytes: 1 << 16, Verify: true}}).Run(context.Background())
	if err != nil || !rep.Summary.Verified {
		t.Errorf("after garbage: %v, %+v", err, rep)
	}
	if sr := <-res; sr.err != nil {
		t.Error(sr.err)
	}
}

func TestParams(t *testing.T) {
	for _, tc := range []struct {
		p    Params
		want string
	}{
		{Params{Streams: -1}, "streams"},
		{Params{Streams: MaxStreams + 1}, "streams"},
		{Params{BlockSize: -5}, "block size"},
		{Params{BlockSize: MaxBlockSize + 1}, "block size"},
		{Params{Bytes: -1}, "byte count"},
		{Params{Duration: -time.Second}, "duration"},
	} {
		_, err := tc.p.withDefaults()
		if !errors.Is(err, ErrParams) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", tc.p, err, tc.want)
		}
	}
	p, err := Params{}.withDefaults()
	if err != nil || p.Streams != 1 || p.BlockSize != DefaultBlockSize || p.Duration != DefaultDuration {
		t.Errorf("defaults: %+v, %v", p, err)
	}
	p, _ = Params{Bytes: 10, Duration: time.Second}.withDefaults()
	if p.Duration != 0 {
		t.Errorf("Bytes and Duration: duration %v kept, want Bytes to win", p.Duration)
	}
}

func TestStreamBytes(t *testing.T) {
	for _, tc := range []struct {
		total int64
		n     int
	}{{10, 3}, {2, 3}, {0, 1}, {1 << 40, 7}} {
		var sum int64
		for i := range tc.n {
			b := streamBytes(tc.total, i, tc.n)
			if b < tc.total/int64(tc.n) || b > tc.total/int64(tc.n)+1 {
				t.Errorf("%d over %d: stream %d gets %d", tc.total, tc.n, i, b)
			}
			sum += b
		}
		if sum != tc.total {
			t.Errorf("%d over %d: shares add up to %d", tc.total, tc.n, sum)
		}
	}
}

func TestPattern(t *testing.T) {
	p := newPattern(4096)
	a := p.at(0, 1000, 4096)
	if err := p.check(0, 1000, a); err != nil {
		t.Fatal(err)
	}
	// The same bytes elsewhere in the stream, or in another stream, are
	// wrong: misplaced data is caught.
	for _, tc := range []struct {
		s   int
		off int64
	}{{0, 1001}, {0, 1000 + 65536}, {0, 1000 + 4096}, {1, 1000}} {
		if err := p.check(tc.s, tc.off, a); !errors.Is(err, ErrCorrupt) {
			t.Errorf("stream 0 at 1000 checked as stream %d at %d: %v", tc.s, tc.off, err)
		}
	}
	// The pattern repeats with its period only.
	if err := p.check(0, 1000+patternPeriod, a); err != nil {
		t.Errorf("one period later: %v", err)
	}
	b := bytes.Clone(a)
	b[77] ^= 1
	if err := p.check(0, 1000, b); err == nil || !strings.Contains(err.Error(), "byte 1077") {
		t.Errorf("flipped byte: %v", err)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{FormatBytes(0), "0 Bytes"},
		{FormatBytes(1023), "1023 Bytes"},
		{FormatBytes(1536), "1.50 KBytes"},
		{FormatBytes(1 << 30), "1.00 GBytes"},
		{FormatBytes(520 << 20), "520 MBytes"},
		{strings.TrimSpace(FormatBits(9.41e9)), "9.41 Gbits/sec"},
		{strings.TrimSpace(FormatBits(3e9)), "3.00 Gbits/sec"},
		{strings.TrimSpace(FormatBits(512)), "512 bits/sec"},
		{strings.TrimSpace(FormatBits(45.2e6)), "45.2 Mbits/sec"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestServerFreeWhenClientGoes closes a client's control connection in
// the middle of a long test while its streams keep sending (issue 21
// finding 9: the server stayed busy until its stall timeout): the server
// must end the test at once, without waiting for a stall it never sees.
func TestServerFreeWhenClientGoes(t *testing.T) {
	n := newPipeNet()
	srv := &Server{StallTimeout: time.Hour, Timeout: time.Hour}
	sr := serveOne(t, srv, n)
	var mu sync.Mutex
	var conns []net.Conn
	dial := func(ctx context.Context) (net.Conn, error) {
		c, err := n.Dial(ctx)
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		return c, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go (&Client{Dial: dial, Params: Params{Duration: time.Hour}, Timeout: time.Hour, StallTimeout: time.Hour}).Run(ctx)
	for {
		srv.mu.Lock()
		busy := srv.busy
		srv.mu.Unlock()
		mu.Lock()
		k := len(conns)
		mu.Unlock()
		if busy && k >= 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the transfer runs
	mu.Lock()
	conns[0].Close() // the control connection only
	mu.Unlock()
	select {
	case r := <-sr:
		if r.err == nil {
			t.Error("server: no error after its client went away")
		}
	case <-time.After(time.Minute):
		t.Fatal("server still busy a minute after its client went away")
	}
}
