//go:build linux

package perfbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/internal/cputime"
	"github.com/mptcp-go/mptcp/internal/lab"
)

var idleConns = flag.String("idle.conns", "100,1000", "counts of idle kernel MPTCP connections of BenchmarkIdleConns (comma-separated)")

// BenchmarkIdleConns holds N idle connections from kernel MPTCP clients
// (Go's net in a namespace) to our stack on a TUN device, as a proxy or a
// server holds its users' connections, and measures what they cost on the
// real clock: this process's CPU while all are idle (the kernel clients
// cost nothing in user space, so it is our stack's), the heap each takes,
// the rate of one bulk upload beside them, and how long after the clients
// close them our stack still holds any. Root only; one iteration is one
// run per count.
func BenchmarkIdleConns(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: it builds network namespaces and a TUN device")
	}
	if err := lab.Available(); err != nil {
		b.Skip(err)
	}
	for _, f := range strings.Split(*idleConns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			b.Fatalf("-idle.conns: bad count %q", f)
		}
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			for range b.N {
				r, err := idleRun(b.Context(), n)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.cpuIdle*100, "%cpu-idle")
				b.ReportMetric(r.heapPerConn, "heapB/conn")
				b.ReportMetric(r.uploadGbps, "upload-Gbit/s")
				b.ReportMetric(r.reap.Seconds(), "s-to-reap")
				b.ReportMetric(float64(r.died), "idle-died")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}

type idleResult struct {
	cpuIdle     float64 // CPU seconds per second, all N idle
	heapPerConn float64
	uploadGbps  float64
	reap        time.Duration // from the clients' close to our stack holding none
	died        int           // idle connections that ended before the clients closed them
}

const idlePort = 5300

func idleRun(ctx context.Context, n int) (r idleResult, err error) {
	tp, err := lab.Build(lab.Config{Paths: 1})
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, tp.Close()) }()
	// Our stack as the bench runs it: one loop on the super-packet driver.
	h, err := userHost(tp, tp.Server, []int{1}, Config{}, 1)
	if err != nil {
		return r, err
	}
	defer h.Close()
	addr := tp.Paths[0].ServerStack.V4
	ln, err := h.Stack.Listen("tcp", netip.AddrPortFrom(addr, idlePort).String())
	if err != nil {
		return r, err
	}
	defer ln.Close()
	// The heap from here on is the connections' (both ends: our stack's
	// and the kernel clients' net.Conns, a few hundred bytes each).
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	// The server reads every connection to its end; each ending early is
	// counted as died.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ended := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
				mu.Lock()
				ended++
				mu.Unlock()
			}()
		}
	}()
	if err := tp.Client.MPTCPLimits(8, 8); err != nil {
		return r, err
	}
	dial := func() (c net.Conn, err error) {
		err = tp.Client.Do(func() (err error) {
			var d net.Dialer
			d.SetMultipathTCP(true)
			c, err = d.DialContext(ctx, "tcp", netip.AddrPortFrom(addr, idlePort).String())
			return err
		})
		return c, err
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := dial()
		if err != nil {
			return r, fmt.Errorf("idle connection %d: %w", len(conns), err)
		}
		conns = append(conns, c)
	}
	if err := waitConns(ctx, h.Stack, n, 30*time.Second); err != nil {
		return r, err
	}
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	if n > 0 {
		r.heapPerConn = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n)
	}
	const idleFor = 3 * time.Second
	cpu0, _ := cputime.Process()
	t0 := time.Now()
	time.Sleep(idleFor)
	cpu1, _ := cputime.Process()
	r.cpuIdle = (cpu1 - cpu0).Seconds() / time.Since(t0).Seconds()
	mu.Lock()
	r.died = ended
	mu.Unlock()

	// One upload beside them.
	up, err := dial()
	if err != nil {
		return r, fmt.Errorf("upload: %w", err)
	}
	const upFor = 3 * time.Second
	buf := make([]byte, 128<<10)
	start := time.Now()
	var sent int64
	for time.Since(start) < upFor {
		k, err := up.Write(buf)
		sent += int64(k)
		if err != nil {
			up.Close()
			return r, fmt.Errorf("upload: %w", err)
		}
	}
	up.Close()
	r.uploadGbps = float64(sent) * 8 / time.Since(start).Seconds() / 1e9

	// Close every idle connection; the stack must forget them all.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	closed := time.Now()
	if err := waitConns(ctx, h.Stack, 0, 60*time.Second); err != nil {
		return r, err
	}
	r.reap = time.Since(closed)
	wg.Wait()
	return r, nil
}

// waitConns waits until the stack holds exactly want connections. It
// looks four times a second: Conns copies every connection's state under
// the stack's lock, which at 10,000 connections is work enough to slow
// what it measures.
func waitConns(ctx context.Context, st *mptcp.Stack, want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		got := len(st.Conns())
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stack holds %d connections after %v, want %d", got, limit, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
