package mptcp_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mptcp-go/mptcp"
)

// TestFastOpen: with Dialer.FastOpen and ListenConfig.FastOpen, the first
// connection fetches a cookie; the next one's Dial returns at once and the
// request written after it reaches the server's Read half a round trip
// after the Dial, not one and a half (virtual time: a synctest bubble).
func TestFastOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		ln, addr := listenFastOpen(t, n)
		type got struct {
			req []byte
			at  time.Time
		}
		served := make(chan got, 2)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				buf := make([]byte, 100)
				k, _ := io.ReadFull(c, buf[:5])
				served <- got{append([]byte(nil), buf[:k]...), time.Now()}
				c.Write([]byte("world"))
				c.Close()
			}
		}()
		d := mptcp.Dialer{Stack: n.client, FastOpen: true}
		exchange := func() (dialed, reqAt time.Time, rtt time.Duration) {
			start := time.Now()
			c, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			dialed = time.Now()
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			g := <-served
			if string(g.req) != "hello" {
				t.Fatalf("server read %q", g.req)
			}
			resp, err := io.ReadAll(c)
			if err != nil || string(resp) != "world" {
				t.Fatalf("client read %q, %v", resp, err)
			}
			c.Close()
			return dialed.Add(-dialed.Sub(start)), g.at, c.(*mptcp.Conn).Info().Subflows[0].SRTT
		}
		start1, req1, rtt := exchange()
		start2, req2, _ := exchange()
		first, second := req1.Sub(start1), req2.Sub(start2)
		t.Logf("request at the server %v after Dial without a cookie, %v with one (RTT %v)", first, second, rtt)
		if second >= first || first-second < rtt/2 {
			t.Fatalf("Fast Open saved %v of a %v round trip", first-second, rtt)
		}
		ln.Close()
		n.stop()
	})
}

// TestFastOpenAnswer: a plain TCP client with a Fast Open cookie gets the
// answer of our listener one round trip after its Dial, not two: the
// server sends it right after its SYN/ACK (RFC 7413 section 4.2.2). Over
// MPTCP the answer waits for the handshake's last ACK, which brings the
// client's key: RFC 8684 appendix B lets the server send before it,
// mapped and without a DATA_ACK, but Linux's client falls back to TCP on
// such a segment (internal/interop's TestFastOpenEarlyAnswer), so a server
// that wants to stay MPTCP with Linux clients cannot (virtual time).
func TestFastOpenAnswer(t *testing.T) {
	for _, plain := range []bool{false, true} {
		name := "MPTCP"
		if plain {
			name = "TCP"
		}
		t.Run(name, func(t *testing.T) { testFastOpenAnswer(t, plain) })
	}
}

func testFastOpenAnswer(t *testing.T, plain bool) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		ln, addr := listenFastOpen(t, n)
		answer := bytes.Repeat([]byte("0123456789"), 3000) // beyond the initial window
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				buf := make([]byte, 5)
				io.ReadFull(c, buf)
				c.Write(answer)
				c.Close()
			}
		}()
		d := mptcp.Dialer{Stack: n.client, FastOpen: true, DisableMPTCP: plain}
		fetch := func() (time.Duration, time.Duration) {
			start := time.Now()
			c, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("hello"))
			b := make([]byte, 1)
			if _, err := io.ReadFull(c, b); err != nil {
				t.Fatal(err)
			}
			first := time.Since(start)
			rest, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(append(b, rest...), answer) {
				t.Fatalf("read %d of %d bytes (%v), or they differ", 1+len(rest), len(answer), err)
			}
			c.Close()
			return first, c.(*mptcp.Conn).Info().Subflows[0].SRTT
		}
		without, rtt := fetch()
		with, _ := fetch()
		t.Logf("first byte %v after Dial without a cookie, %v with one (RTT %v)", without, with, rtt)
		switch {
		case plain && (with > rtt+rtt/4 || without-with < rtt*3/4):
			t.Fatalf("first byte %v with Fast Open, %v without: want one round trip (%v) sooner", with, without, rtt)
		case !plain && without-with > rtt/4:
			t.Fatalf("first byte %v with Fast Open, %v without: the MPTCP answer left before the client's key", with, without)
		}
		ln.Close()
		n.stop()
	})
}

// listenFastOpen listens with Fast Open on port 80 of the simulated
// server, and returns the listener and its address.
func listenFastOpen(t *testing.T, n *simNet) (net.Listener, string) {
	t.Helper()
	addr := netip.AddrPortFrom(n.top.ServerAddr, 80).String()
	lc := mptcp.ListenConfig{Stack: n.server, FastOpen: true}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln, addr
}
