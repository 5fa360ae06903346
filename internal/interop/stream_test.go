//go:build linux

package interop

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
)

// duplex is either end of a case's connection: *net.TCPConn (the
// kernel's) or *mptcp.Conn (ours).
type duplex interface {
	io.ReadWriter
	CloseWrite() error
}

// stream is one direction's deterministic byte stream, generated on the
// sending side and regenerated on the receiving side to check every
// byte. A stream continues where it stopped, so a transfer may be cut
// into phases.
type stream struct {
	r   *rand.ChaCha8
	off int64
	buf []byte
}

func newStream(seed byte) *stream {
	var s [32]byte
	s[0] = seed
	return &stream{r: rand.NewChaCha8(s), buf: make([]byte, 128<<10)}
}

// send writes the next n bytes of the stream to w.
func (s *stream) send(w io.Writer, n int64) error {
	for n > 0 {
		k := int(min(n, int64(len(s.buf))))
		s.r.Read(s.buf[:k])
		if m, err := w.Write(s.buf[:k]); err != nil {
			return fmt.Errorf("after %d bytes: %w", s.off+int64(m), err)
		}
		s.off += int64(k)
		n -= int64(k)
	}
	return nil
}

// recv reads the next n bytes of the stream from r and checks each.
func (s *stream) recv(r io.Reader, n int64) error {
	got := make([]byte, len(s.buf))
	for n > 0 {
		k, err := r.Read(got[:min(int64(len(got)), n)])
		if k > 0 {
			s.r.Read(s.buf[:k])
			for i := range k {
				if got[i] != s.buf[i] {
					return fmt.Errorf("byte %d is %#x, want %#x", s.off+int64(i), got[i], s.buf[i])
				}
			}
			s.off += int64(k)
			n -= int64(k)
		}
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("after %d bytes: %w", s.off, err)
		}
	}
	return nil
}

// eof reads the end of the stream: nothing more may come.
func (s *stream) eof(r io.Reader) error {
	var one [1]byte
	for {
		k, err := r.Read(one[:])
		if k > 0 {
			return fmt.Errorf("data after the %d bytes expected", s.off)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("waiting for the end of the stream after %d bytes: %w", s.off, err)
		}
	}
}

// transfer is a case's byte streams in both directions over one
// connection: client to server and server to client.
type transfer struct {
	client, server duplex
	// up is client to server, down server to client; each has a sending
	// and a receiving copy.
	upTx, upRx, downTx, downRx *stream
}

func newTransfer(cs *conns) *transfer {
	return &transfer{
		client: cs.client, server: cs.server,
		upTx: newStream(1), upRx: newStream(1),
		downTx: newStream(2), downRx: newStream(2),
	}
}

// exchange moves n more bytes each way, both directions at once, and
// checks them.
func (x *transfer) exchange(n int64) error {
	errc := make(chan error, 4)
	run := func(what string, f func() error) {
		go func() {
			if err := f(); err != nil {
				errc <- fmt.Errorf("%s: %w", what, err)
				return
			}
			errc <- nil
		}()
	}
	run("client sending", func() error { return x.upTx.send(x.client, n) })
	run("server receiving", func() error { return x.upRx.recv(x.server, n) })
	run("server sending", func() error { return x.downTx.send(x.server, n) })
	run("client receiving", func() error { return x.downRx.recv(x.client, n) })
	var errs error
	for range 4 {
		errs = errors.Join(errs, <-errc)
	}
	return errs
}

// shutdown closes both directions gracefully, the client first: each end
// reads the end of the other's stream (a DATA_FIN with MPTCP, a FIN after
// a fallback).
func (x *transfer) shutdown() error {
	if err := x.client.CloseWrite(); err != nil {
		return fmt.Errorf("client CloseWrite: %w", err)
	}
	if err := x.upRx.eof(x.server); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := x.server.CloseWrite(); err != nil {
		return fmt.Errorf("server CloseWrite: %w", err)
	}
	if err := x.downRx.eof(x.client); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return nil
}
