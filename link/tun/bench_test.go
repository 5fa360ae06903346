//go:build linux

package tun_test

import (
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/link/tun"
	"github.com/mptcp-go/mptcp/tcp"
)

// The throughput benchmarks move b.N MiB over one path of a lab topology
// (veth, no rate limit), in each of the driver's modes (split: the device
// splits and coalesces; super: Config.SuperPackets, the driver completing
// the checksums the stack leaves partial; trust: that and
// TrustKernelChecksums, the stack told to verify none), and report
// Gbit/s and Gbit/s per CPU second:
//
//	go test ./link/tun -run '^$' -bench . -benchtime 2000x -cpuprofile cpu.out
//
// BenchmarkKernelToKernel is the reference: the same path, the Linux TCP
// stack at both ends. Our stack runs unpaced (docs/tun.md says why);
// BENCH_PACING=1 turns its pacing on.

const chunk = 1 << 20

// meter measures a run's wall time and the process's CPU time (user and
// system, which includes the kernel's work in this process's system calls:
// the kernel end of the transfer and the forwarding). On a shared machine
// Gbit/s per CPU second is the steadier figure.
type meter struct {
	start time.Time
	cpu   time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startMeter() meter { return meter{time.Now(), cpuTime()} }

func (m meter) report(b *testing.B) {
	bits := float64(b.N) * chunk * 8
	b.ReportMetric(bits/time.Since(m.start).Seconds()/1e9, "Gbit/s")
	b.ReportMetric(bits/(cpuTime()-m.cpu).Seconds()/1e9, "Gbit/cpu-s")
}

// BenchmarkKernelToOurServer: a kernel TCP client sends to our stack.
func BenchmarkKernelToOurServer(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) { benchKernelToOurServer(b, mode.super, mode.trust) })
	}
}

func benchKernelToOurServer(b *testing.B, super, trust bool) {
	tp := lab.New(b, lab.Config{Paths: 1})
	p := tp.Paths[0]
	ifc, err := tp.StackInterface(tp.Server, "tun0")
	if err != nil {
		b.Fatal(err)
	}
	h := newHost(b, hostConfig{addrs: []netip.Addr{p.ServerStack.V4}, ifs: []tun.Interface{ifc}, tcp: benchTCP(), super: super, trust: trust})
	addr := netip.AddrPortFrom(p.ServerStack.V4, testPort)
	ln, err := h.listen(addr)
	if err != nil {
		b.Fatal(err)
	}
	total := int64(b.N) * chunk
	got := make(chan int64, 1)
	go func() {
		c, err := ln.accept(time.Now().Add(time.Minute))
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
		got <- n
	}()
	var kc net.Conn
	if err := tp.Client.Do(func() (err error) {
		kc, err = net.DialTimeout("tcp", addr.String(), 10*time.Second)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ResetTimer()
	m := startMeter()
	for range b.N {
		if _, err := kc.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	kc.(*net.TCPConn).CloseWrite()
	if n := <-got; n != total {
		b.Fatalf("our server received %d of %d bytes", n, total)
	}
	m.report(b)
	b.StopTimer()
	kc.Close()
}

// BenchmarkOurClientToKernel: our stack sends to a kernel TCP server.
func BenchmarkOurClientToKernel(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) { benchOurClientToKernel(b, mode.super, mode.trust) })
	}
}

func benchOurClientToKernel(b *testing.B, super, trust bool) {
	tp := lab.New(b, lab.Config{Paths: 1})
	p := tp.Paths[0]
	ifc, err := tp.StackInterface(tp.Client, "tun0")
	if err != nil {
		b.Fatal(err)
	}
	h := newHost(b, hostConfig{addrs: []netip.Addr{p.ClientStack.V4}, ifs: []tun.Interface{ifc}, tcp: benchTCP(), super: super, trust: trust})
	var ln net.Listener
	if err := tp.Server.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(p.Server.V4, testPort).String())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	total := int64(b.N) * chunk
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
		c.Close()
		got <- n
	}()
	c, err := h.dial(netip.AddrPortFrom(p.ClientStack.V4, 0), netip.AddrPortFrom(p.Server.V4, testPort), time.Now().Add(10*time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ResetTimer()
	m := startMeter()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.CloseWrite()
	if n := <-got; n != total {
		b.Fatalf("the kernel received %d of %d bytes", n, total)
	}
	m.report(b)
	b.StopTimer()
	c.Close()
}

// BenchmarkKernelToKernel is the reference: Linux TCP at both ends of the
// same path.
func BenchmarkKernelToKernel(b *testing.B) {
	tp := lab.New(b, lab.Config{Paths: 1})
	p := tp.Paths[0]
	var ln net.Listener
	if err := tp.Server.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(p.Server.V4, testPort).String())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	total := int64(b.N) * chunk
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
		c.Close()
		got <- n
	}()
	var kc net.Conn
	if err := tp.Client.Do(func() (err error) {
		kc, err = net.DialTimeout("tcp", netip.AddrPortFrom(p.Server.V4, testPort).String(), 10*time.Second)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ResetTimer()
	m := startMeter()
	for range b.N {
		if _, err := kc.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	kc.(*net.TCPConn).CloseWrite()
	if n := <-got; n != total {
		b.Fatalf("received %d of %d bytes", n, total)
	}
	m.report(b)
	b.StopTimer()
	kc.Close()
}

// benchTCP is the stack configuration of the benchmarks: the defaults.
func benchTCP() tcp.Config {
	return tcp.Config{DisablePacing: os.Getenv("BENCH_PACING") == ""}
}
