//go:build linux

package tun_test

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/link/tun"
	"github.com/mptcp-go/mptcp/pcap"
	"github.com/mptcp-go/mptcp/tcp"
)

// host is our TCP stack on TUN devices, with blocking connections for the
// test's goroutines: the way the public API will wrap a stack. The driver
// holds mu while it runs the stack; application calls hold it too and
// wake the driver after changing the stack.
type host struct {
	mu   sync.Mutex
	cond *sync.Cond // broadcast on every stack event, and by a ticker
	st   *tcp.Stack
	drv  *tun.Driver
	errs []error // driver errors, under mu
	stop chan struct{}
}

type hostConfig struct {
	addrs   []netip.Addr
	ifs     []tun.Interface
	tcp     tcp.Config
	capture *pcap.Writer
	super   bool
	trust   bool // TrustKernelChecksums: the driver tells the stack it verified what it delivers
}

func newHost(t testing.TB, hc hostConfig) *host {
	t.Helper()
	var seed [16]byte
	if _, err := crand.Read(seed[:]); err != nil {
		t.Fatal(err)
	}
	cfg := hc.tcp
	cfg.Rand = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	st, err := tcp.NewStack(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range hc.addrs {
		st.AddAddress(a)
	}
	h := &host{st: st, stop: make(chan struct{})}
	h.cond = sync.NewCond(&h.mu)
	h.drv, err = tun.New(st, tun.Config{
		Interfaces:           hc.ifs,
		Locker:               &h.mu,
		Capture:              hc.capture,
		SuperPackets:         hc.super,
		TrustKernelChecksums: hc.trust,
		OnError: func(err error) {
			t.Logf("driver: %v", err)
			go func() { // OnError must not take the lock
				h.mu.Lock()
				h.errs = append(h.errs, err)
				h.mu.Unlock()
			}()
		},
	})
	if err != nil {
		for _, ifc := range hc.ifs {
			ifc.Device.Close()
		}
		t.Fatal(err)
	}
	// Waiters check their deadlines at least this often.
	go func() {
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				h.cond.Broadcast()
			case <-h.stop:
				return
			}
		}
	}()
	t.Cleanup(h.close)
	return h
}

func (h *host) close() {
	select {
	case <-h.stop:
		return
	default:
	}
	close(h.stop)
	h.drv.Close()
}

// hooks wake the host's waiters on every connection event.
type hooks struct {
	tcp.NopHooks
	h *host
}

func (k hooks) Notify(*tcp.Conn, time.Time, tcp.Event) { k.h.cond.Broadcast() }

// conn is a blocking view of a tcp.Conn.
type conn struct {
	h        *host
	c        *tcp.Conn
	deadline time.Time
}

var errDeadline = errors.New("deadline exceeded")

// wait blocks until the next stack event; h.mu is held.
func (c *conn) wait() error {
	if !c.deadline.IsZero() && time.Now().After(c.deadline) {
		return fmt.Errorf("%v -> %v in %v: %w", c.c.LocalAddr(), c.c.RemoteAddr(), c.c.State(), errDeadline)
	}
	c.h.cond.Wait()
	return nil
}

func (c *conn) Write(p []byte) (int, error) {
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	total := 0
	for total < len(p) {
		n, err := c.c.Write(p[total:])
		total += n
		if n > 0 {
			h.drv.Wake()
		}
		if err != nil {
			return total, err
		}
		if total < len(p) {
			if err := c.wait(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

func (c *conn) Read(p []byte) (int, error) {
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		n, err := c.c.Read(p)
		if n > 0 {
			h.drv.Wake() // the window may have opened
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if err := c.wait(); err != nil {
			return 0, err
		}
	}
}

func (c *conn) CloseWrite() error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	defer c.h.drv.Wake()
	return c.c.CloseWrite()
}

func (c *conn) Close() error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	defer c.h.drv.Wake()
	return c.c.Close()
}

// waitState waits until the connection is in one of the states.
func (c *conn) waitState(states ...tcp.State) error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	for {
		s := c.c.State()
		for _, w := range states {
			if s == w {
				return nil
			}
		}
		if err := c.wait(); err != nil {
			return err
		}
	}
}

// dial opens a connection and waits until it is established.
func (h *host) dial(local, remote netip.AddrPort, deadline time.Time) (*conn, error) {
	h.mu.Lock()
	c, err := h.st.Dial(time.Now(), remote, &tcp.DialConfig{Local: local})
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	c.SetHooks(hooks{h: h})
	h.mu.Unlock()
	h.drv.Wake()
	cc := &conn{h: h, c: c, deadline: deadline}
	if err := cc.waitState(tcp.StateEstablished, tcp.StateClosed); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.State() == tcp.StateClosed {
		return nil, fmt.Errorf("dial %v: %w", remote, c.Err())
	}
	return cc, nil
}

// listener is a blocking view of a tcp.Listener.
type listener struct {
	h *host
	l *tcp.Listener
}

func (h *host) listen(addr netip.AddrPort) (*listener, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, err := h.st.Listen(addr, &tcp.ListenConfig{Notify: func(*tcp.Listener, time.Time) { h.cond.Broadcast() }})
	if err != nil {
		return nil, err
	}
	return &listener{h: h, l: l}, nil
}

func (l *listener) accept(deadline time.Time) (*conn, error) {
	h := l.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		c, err := l.l.Accept()
		if err == nil {
			c.SetHooks(hooks{h: h})
			return &conn{h: h, c: c, deadline: deadline}, nil
		}
		if !errors.Is(err, tcp.ErrWouldBlock) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("accept on %v: %w", l.l.Addr(), errDeadline)
		}
		h.cond.Wait()
	}
}

func (h *host) stats() tcp.StackStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st.Stats()
}

// stream is the deterministic byte stream a test sends and the receiver
// checks, byte for byte.
type stream struct{ r *rand.ChaCha8 }

func newStream(seed byte) *stream {
	var s [32]byte
	s[0] = seed
	return &stream{rand.NewChaCha8(s)}
}

// send writes n bytes of the stream to w.
func send(w io.Writer, seed byte, n int64) error {
	s := newStream(seed)
	buf := make([]byte, 256<<10)
	for n > 0 {
		k := int(min(n, int64(len(buf))))
		s.r.Read(buf[:k])
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= int64(k)
	}
	return nil
}

// receive reads the stream from r until n bytes and checks every byte;
// with eof it then expects the end of the stream.
func receive(r io.Reader, seed byte, n int64, eof bool) error {
	s := newStream(seed)
	buf := make([]byte, 256<<10)
	want := make([]byte, len(buf))
	var off int64
	for off < n {
		k, err := r.Read(buf[:min(int64(len(buf)), n-off)])
		if k > 0 {
			s.r.Read(want[:k])
			for i := range k {
				if buf[i] != want[i] {
					return fmt.Errorf("byte %d is %#x, want %#x", off+int64(i), buf[i], want[i])
				}
			}
			off += int64(k)
		}
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", off, n, err)
		}
	}
	if eof {
		var one [1]byte
		for {
			k, err := r.Read(one[:])
			if k > 0 {
				return fmt.Errorf("data after the %d bytes expected", n)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("waiting for the end of the stream: %w", err)
			}
		}
	}
	return nil
}

// tempPcap opens a capture file in the test's directory.
func tempPcap(t testing.TB, name string) (*pcap.Writer, string) {
	t.Helper()
	path := t.TempDir() + "/" + name
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w, err := pcap.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	return w, path
}
