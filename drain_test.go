package mptcp_test

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestDrain: Drain returns once what a closed connection was given has
// reached its peer, DATA_FIN included, so a program may stop its driver
// then (here the whole simulation stops) and the peer still reads every
// byte and the end of the stream. Before, a program that closed its
// connections and exited lost their last bytes.
func TestDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		addr := netip.AddrPortFrom(n.top.ServerAddr, 80).String()
		ln, err := n.server.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		accepted := acceptOne(t, ln)
		// The peer reads as the data comes (the data is more than its
		// receive window); it stops at the end of the stream.
		type result struct {
			got []byte
			err error
		}
		read := make(chan result, 1)
		go func() {
			sc := <-accepted
			sc.SetReadDeadline(time.Now().Add(time.Hour))
			got, err := io.ReadAll(sc)
			read <- result{got, err}
		}()
		c, err := n.client.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte("drain me "), 100000)
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		c.Close()
		done, cancel := context.WithCancel(context.Background())
		cancel()
		if err := n.client.Drain(done); err == nil || !strings.Contains(err.Error(), "1 connections still closing") {
			t.Errorf("Drain with a done context while data is in flight: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := n.client.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		n.stop()
		r := <-read
		if r.err != nil || !bytes.Equal(r.got, data) {
			t.Fatalf("after Drain and the driver's end, the peer read %d of %d bytes: %v", len(r.got), len(data), r.err)
		}
		ln.Close()
	})
}
