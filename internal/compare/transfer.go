package compare

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// The transfer protocol: the client sends an 8-byte big-endian size, the
// server answers with that many bytes of the pattern and closes (size 0:
// the pattern until the client goes away). Each byte is checked by the
// client against the pattern at its offset. With keepOpen set in the
// header the server answers and waits for the next request on the same
// connection instead of closing (a reused connection, as HTTP keep-alive).
const headerLen = 8

// keepOpen is the header bit that asks the server to keep the connection.
const keepOpen = 1 << 63

// server answers transfer requests on a listener until it is closed.
type server struct {
	ln net.Listener
	// setup, if set, is applied to each accepted connection (the
	// competitor's congestion control).
	setup func(net.Conn) error
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func serve(ln net.Listener, setup func(net.Conn) error) *server {
	s := &server{ln: ln, setup: setup, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

func (s *server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *server) handle(c net.Conn) {
	defer c.Close()
	if s.setup != nil {
		if err := s.setup(c); err != nil {
			return
		}
	}
	for {
		var hdr [headerLen]byte
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		c.SetReadDeadline(time.Time{})
		h := binary.BigEndian.Uint64(hdr[:])
		size := int64(h &^ keepOpen)
		if !answer(c, size) || h&keepOpen == 0 || size == 0 {
			return
		}
	}
}

// answer writes size bytes of the pattern (size 0: until the client goes
// away) and reports whether they were all written.
func answer(c net.Conn, size int64) bool {
	var off int64
	const chunk = 32 << 10
	for size == 0 || off < size {
		n := chunk
		if size > 0 {
			n = int(min(int64(n), size-off))
		}
		w, err := c.Write(patternAt(off, n))
		off += int64(w)
		if err != nil {
			return false // the client went away (an unlimited transfer ends so)
		}
	}
	return true
}

// close stops accepting, closes the connections still being served and
// waits for their goroutines.
func (s *server) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// dialFunc opens a connection to the server of one side.
type dialFunc func(ctx context.Context) (net.Conn, error)

// bucket is the resolution of a bulk transfer's delivery timeline.
const bucket = 10 * time.Millisecond

// bulk is what an unlimited download measured.
type bulk struct {
	Bytes   int64
	Elapsed time.Duration // from the dial to the end
	// MaxStall is the longest time the application waited for data
	// between the first byte and the end.
	MaxStall time.Duration
	// Timeline holds the bytes delivered in each bucket since Start.
	Timeline []int64
	Start    time.Time
}

// bytesBetween sums the timeline over [from, to) after Start.
func (b *bulk) bytesBetween(from, to time.Duration) int64 {
	var n int64
	for i, v := range b.Timeline {
		t := time.Duration(i) * bucket
		if t >= from && t+bucket <= to {
			n += v
		}
	}
	return n
}

// goodput is the download's rate in bit/s.
func (b *bulk) goodput() float64 {
	if b.Elapsed <= 0 {
		return 0
	}
	return float64(b.Bytes) * 8 / b.Elapsed.Seconds()
}

// runBulk downloads for d, verifying every byte. started, if set, is
// called once the connection is up (to start the emulator's schedule).
func runBulk(ctx context.Context, dial dialFunc, d time.Duration, started func()) (*bulk, error) {
	start := time.Now()
	c, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	var hdr [headerLen]byte
	if _, err := c.Write(hdr[:]); err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	if started != nil {
		started()
	}
	end := start.Add(d)
	c.SetReadDeadline(end)
	b := &bulk{Start: start, Timeline: make([]int64, int(d/bucket)+1)}
	buf := make([]byte, 64<<10)
	var last time.Time
	for {
		n, err := c.Read(buf)
		now := time.Now()
		if n > 0 {
			if verr := verify(b.Bytes, buf[:n]); verr != nil {
				return nil, verr
			}
			if !last.IsZero() {
				b.MaxStall = max(b.MaxStall, now.Sub(last))
			}
			last = now
			b.Bytes += int64(n)
			if i := int(now.Sub(start) / bucket); i >= 0 && i < len(b.Timeline) {
				b.Timeline[i] += int64(n)
			}
		}
		if err != nil {
			if errors.Is(err, ctx.Err()) && ctx.Err() != nil {
				return nil, err
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return nil, fmt.Errorf("after %d bytes: %w", b.Bytes, err)
		}
	}
	b.Elapsed = time.Since(start)
	if last.IsZero() {
		return nil, fmt.Errorf("no data in %v", d)
	}
	b.MaxStall = max(b.MaxStall, end.Sub(last))
	return b, nil
}

// request fetches size bytes on a new connection, verifies them and
// returns the time from the dial to the last byte.
func request(ctx context.Context, dial dialFunc, size int64) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	c, err := dial(ctx)
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	var hdr [headerLen]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(size))
	if _, err := c.Write(hdr[:]); err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	buf := make([]byte, 64<<10)
	var got int64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if got+int64(n) > size {
				return 0, fmt.Errorf("%d bytes past the %d requested", got+int64(n)-size, size)
			}
			if verr := verify(got, buf[:n]); verr != nil {
				return 0, verr
			}
			got += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("after %d of %d bytes: %w", got, size, err)
		}
	}
	if got != size {
		return 0, fmt.Errorf("got %d of %d bytes", got, size)
	}
	return time.Since(start), nil
}
