package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
)

// closeWriter is a connection with a write half that closes on its own
// (*net.TCPConn, the MPTCP stack's Conn): the relay forwards a FIN as a FIN.
type closeWriter interface{ CloseWrite() error }

// aborter ends a connection with a reset (*mptcp.Conn has Abort).
type aborter interface{ Abort() }

// reset ends c with a RST rather than a FIN, so that a reset seen on one
// side reaches the other as a reset (what the application would have seen
// without the proxy).
func reset(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn() // a reset is below TLS
	}
	switch c := c.(type) {
	case aborter:
		c.Abort()
		return
	case interface{ SetLinger(int) error }:
		_ = c.SetLinger(0)
	}
	_ = c.Close()
}

// closeWrite half-closes c when it has a write half of its own, and
// closes it otherwise.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// Adder counts bytes; *atomic.Int64 is one.
type Adder interface{ Add(int64) int64 }

// Relay copies a's bytes to b and b's to a until both directions end.
// An orderly end (EOF) in one direction is forwarded as a half-close and
// the other direction goes on; a reset on either side resets the other.
// It adds the bytes copied each way to aToB and bToA (when not nil) and
// closes both connections.
func Relay(a, b net.Conn, aToB, bToA Adder) {
	var once sync.Once
	abort := func() { once.Do(func() { reset(a); reset(b) }) }
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pipe(b, a, aToB, abort) }()
	go func() { defer wg.Done(); pipe(a, b, bToA, abort) }()
	wg.Wait()
	_ = a.Close()
	_ = b.Close()
}

// pipe copies src to dst. At src's EOF it half-closes dst (or closes it
// when dst has no write half of its own); on a reset it calls abort.
func pipe(dst, src net.Conn, n Adder, abort func()) {
	buf := make([]byte, 64<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				abort()
				return
			}
			if n != nil {
				n.Add(int64(k))
			}
		}
		if err == nil {
			continue
		}
		if err != io.EOF {
			abort() // a reset, or the other direction already aborted
			return
		}
		if closeWrite(dst) != nil {
			_ = dst.Close()
		}
		return
	}
}
