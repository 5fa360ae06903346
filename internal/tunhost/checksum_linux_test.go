//go:build linux

package tunhost_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/tunhost"
	"github.com/mptcp-go/mptcp/link/tun"
	"github.com/mptcp-go/mptcp/wire"
)

// TestChecksumOffloadWithKernel runs our stack as tunhost runs it (super-
// packets, the stack leaving its TCP checksums partial, the driver
// trusting the kernel's) against a kernel MPTCP client, and checks both
// directions of the checksum work:
//
//   - The kernel takes our partial checksums: the server's veth has its
//     checksum offload off, so the kernel finishes each checksum from the
//     offsets our driver gives, and the client's veth vouches for nothing,
//     so the client's TCP verifies every segment in software. A transfer
//     each way arrives intact, and the client counts no checksum error.
//   - A corrupted TCP packet that reaches the TUN device without the
//     kernel's word for its checksum (a raw socket's) is dropped by the
//     driver and counted (Stats.BadChecksums); the same packet intact
//     reaches the stack, which answers it.
func TestChecksumOffloadWithKernel(t *testing.T) {
	lab.Require(t)
	tp := lab.New(t, lab.Config{Paths: 1, Name: "cs"})
	p := tp.Paths[0]
	tp.Server.Run(t, "ethtool", "-K", p.ServerIf, "tx", "off")
	tp.Client.Run(t, "ethtool", "-K", p.ClientIf, "rx", "off")
	ifc, err := tp.StackInterface(tp.Server, "cs0")
	if err != nil {
		t.Fatal(err)
	}
	h, err := tunhost.New(tunhost.Config{
		Addrs: []netip.Addr{p.ServerStack.V4}, Interfaces: []tun.Interface{ifc}, SuperPackets: true,
		OnError: func(err error) { t.Logf("tun: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	addr := netip.AddrPortFrom(p.ServerStack.V4, 5201)
	ln, err := h.Stack.Listen("tcp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	before, err := tp.Client.Nstat()
	if err != nil {
		t.Fatal(err)
	}
	const n = 2 << 20
	deadline := time.Now().Add(30 * time.Second)
	served := make(chan error, 1)
	go func() { served <- echo(ln, n, deadline) }()
	c := tp.Client.DialMPTCP(t, addr.String())
	c.SetDeadline(deadline)
	go c.Write(stream(n))
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if !bytes.Equal(got, stream(n)) {
		t.Fatal("the echo differs from what was sent")
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	after, err := tp.Client.Nstat()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"TcpInCsumErrors", "TcpInErrs"} {
		if after[k] != before[k] {
			t.Errorf("the kernel client's %s went from %d to %d", k, before[k], after[k])
		}
	}
	if s := h.Drivers[0].Stats(); s.WriteErrors != 0 || s.BadChecksums != 0 {
		t.Fatalf("driver after the transfer: %+v", s)
	}

	// A SYN to a port nobody listens on, from the server's namespace:
	// the kernel hands it to the device as a raw socket made it, with no
	// word on its checksum. Corrupted, the driver drops it; intact, the
	// stack answers it with a RST (NoPort).
	// From an address of the namespace's own that no policy rule sends
	// over the path, so that the main table routes it into the device.
	src := netip.MustParseAddr("192.0.2.77")
	if err := tp.Server.IP("addr add " + src.String() + "/32 dev lo"); err != nil {
		t.Fatal(err)
	}
	syn := wire.AppendTCPPacket(nil, src, p.ServerStack.V4,
		&wire.TCPFields{SrcPort: 40999, DstPort: 9, Seq: 1, Flags: wire.FlagSYN, Window: 1000}, nil, []byte("checksummed"))
	bad := bytes.Clone(syn)
	bad[len(bad)-1] ^= 0x55
	noPort := h.Stack.TCPStats().NoPort
	if err := rawSend(tp.Server, bad, p.ServerStack.V4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the corrupted packet counted", func() bool { return h.Drivers[0].Stats().BadChecksums == 1 })
	if err := rawSend(tp.Server, syn, p.ServerStack.V4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the intact packet answered", func() bool { return h.Stack.TCPStats().NoPort == noPort+1 })
	if s := h.Drivers[0].Stats().BadChecksums; s != 1 {
		t.Fatalf("%d packets dropped for their checksum, want 1", s)
	}
	if e := h.Stack.TCPStats().InCsumErrors; e != 0 {
		t.Fatalf("the stack saw %d bad checksums: the driver let one through", e)
	}
}

// echo accepts one connection and sends back the n bytes it reads.
func echo(ln net.Listener, n int, deadline time.Time) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if _, err := io.CopyN(c, c, int64(n)); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	return nil
}

// stream is n bytes of a pattern that a misplaced byte breaks.
func stream(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// rawSend sends an IPv4 packet, header and all, from the namespace.
func rawSend(ns lab.Netns, pkt []byte, dst netip.Addr) error {
	return ns.Do(func() error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		defer syscall.Close(fd)
		if err := syscall.Sendto(fd, pkt, 0, &syscall.SockaddrInet4{Addr: dst.As4()}); err != nil {
			return fmt.Errorf("raw send: %w", err)
		}
		return nil
	})
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatal(errors.New("timed out waiting for " + what))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
