package simtest

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// TestPlainClientSlowReader: a plain TCP client sends a few MB and closes
// at once to a server whose application reads slower than the path
// delivers, so the TCP engine of the fallen-back connection holds far more
// than the connection's receive buffer when the client's FIN comes in.
// Every byte must still be read before io.EOF (perf found the tail of the
// stream lost one run in ten).
func TestPlainClientSlowReader(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			path := Path{Rate: 100e6, Delay: 5 * time.Millisecond, Loss: 0.002 * float64(seed%3)}
			n, err := NewNet(uint64(900+seed), []Path{path}, Options{
				Client: func(c *core.Config) { c.DisableMPTCP = true },
			})
			if err != nil {
				t.Fatal(err)
			}
			const size = 4 << 20
			got, eof, err := slowServerRead(n, size, 4<<10*(1+seed%4))
			switch {
			case err != nil:
				t.Fatalf("server read: %v after %d bytes", err, got)
			case !eof:
				t.Fatalf("no EOF after %d bytes of %d", got, size)
			case got != size:
				t.Fatalf("EOF after %d bytes, want %d (NoDSSInWindow %d)", got, size, n.SS.MIB().Get(core.NoDSSInWindow))
			}
		})
	}
}

// slowServerRead has the client send size bytes then close; the server
// reads at most perTick bytes every 10 ms of simulated time, checking the
// pattern. It returns the bytes read and whether EOF came.
func slowServerRead(n *Net, size, perTick int) (int, bool, error) {
	ln, err := n.SS.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
	if err != nil {
		return 0, false, err
	}
	var sc *core.Conn
	ln.SetNotify(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if sc == nil {
				sc = c
			}
		}
	})
	c, err := n.CS.Dial(n.Sim.Now(), netip.Addr{}, netip.AddrPortFrom(n.ServerAddr, 80), core.ConnOptions{})
	if err != nil {
		return 0, false, err
	}
	cl := &Endpoint{Conn: c, Host: n.Client, Key: 1, PeerKey: 2, Send: size}
	cl.Attach(n.Sim.Now())
	buf := make([]byte, perTick)
	want := make([]byte, perTick)
	got := 0
	for range 100_000 { // 1000 s of simulated time at most
		n.Sim.RunFor(10 * time.Millisecond)
		if sc == nil {
			continue
		}
		k, err := sc.Read(buf)
		if k > 0 {
			fillPattern(1, uint64(got), want[:k])
			for i := range k {
				if buf[i] != want[i] {
					return got + i, false, fmt.Errorf("byte %d differs", got+i)
				}
			}
			got += k
			n.Server.Wake()
		}
		switch {
		case err == io.EOF:
			return got, true, nil
		case err != nil && !errors.Is(err, core.ErrWouldBlock):
			return got, false, err
		}
	}
	return got, false, nil
}
