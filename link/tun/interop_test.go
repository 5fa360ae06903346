//go:build linux

package tun_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/link/tun"
	"github.com/mptcp-go/mptcp/tcp"
)

// transferSize is the bytes each interop test sends each way.
func transferSize() int64 {
	if testing.Short() {
		return 4 << 20
	}
	return 64 << 20
}

const testPort = 5201

func families() []struct {
	name string
	v6   bool
} {
	return []struct {
		name string
		v6   bool
	}{{"IPv4", false}, {"IPv6", true}}
}

// modes are the driver's ways of running: the device splits the kernel's
// super-packets and coalesces ours; the driver does it, handing
// super-packets to the stack whole and completing the checksums the stack
// leaves partial; and the same trusting the kernel's checksums, with a
// stack the driver tells to verify none.
var modes = []struct {
	name         string
	super, trust bool
}{{"split", false, false}, {"super", true, false}, {"trust", true, true}}

// kernelCounters returns the namespace's TCP counters that must not move
// during a clean transfer.
func kernelCounters(t *testing.T, n lab.Netns) map[string]uint64 {
	t.Helper()
	c, err := n.Nstat()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkKernelClean(t *testing.T, n lab.Netns, before map[string]uint64) {
	t.Helper()
	after := kernelCounters(t, n)
	for _, k := range []string{"TcpInCsumErrors", "TcpInErrs", "TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose", "TcpEstabResets"} {
		if after[k] != before[k] {
			t.Errorf("kernel in %s: %s went from %d to %d", n, k, before[k], after[k])
		}
	}
}

// TestKernelClientToOurServer: a kernel TCP client in the client namespace
// connects to our stack, on a TUN device in the server namespace; 64 MiB
// go each way, checked byte for byte; the client closes first, then us.
func TestKernelClientToOurServer(t *testing.T) {
	for _, mode := range modes {
		for _, fam := range families() {
			t.Run(mode.name+"/"+fam.name, func(t *testing.T) {
				tp := lab.New(t, lab.Config{Paths: 1})
				p := tp.Paths[0]
				ifc, err := tp.StackInterface(tp.Server, "tun0")
				if err != nil {
					t.Fatal(err)
				}
				h := newHost(t, hostConfig{addrs: []netip.Addr{p.ServerStack.V4, p.ServerStack.V6}, ifs: []tun.Interface{ifc}, super: mode.super, trust: mode.trust})
				srvAddr := netip.AddrPortFrom(p.ServerStack.Get(fam.v6), testPort)
				ln, err := h.listen(srvAddr)
				if err != nil {
					t.Fatal(err)
				}
				n := transferSize()
				deadline := time.Now().Add(2 * time.Minute)
				before := kernelCounters(t, tp.Client)

				// Our server: receive, check, send back, close after the
				// client's FIN.
				srvErr := make(chan error, 1)
				var sc *conn
				go func() {
					srvErr <- func() error {
						c, err := ln.accept(deadline)
						if err != nil {
							return err
						}
						sc = c
						if err := receive(c, 1, n, false); err != nil {
							return fmt.Errorf("our server receiving: %w", err)
						}
						if err := send(c, 2, n); err != nil {
							return fmt.Errorf("our server sending: %w", err)
						}
						if err := receive(c, 0, 0, true); err != nil {
							return fmt.Errorf("our server waiting for the FIN: %w", err)
						}
						return c.Close()
					}()
				}()

				var kc net.Conn
				if err := tp.Client.Do(func() (err error) {
					d := net.Dialer{Timeout: 10 * time.Second}
					kc, err = d.Dial("tcp", srvAddr.String())
					return err
				}); err != nil {
					t.Fatal(err)
				}
				defer kc.Close()
				kc.SetDeadline(deadline)
				if err := send(kc, 1, n); err != nil {
					t.Fatalf("kernel client sending: %v", err)
				}
				if err := receive(kc, 2, n, false); err != nil {
					t.Fatalf("kernel client receiving: %v", err)
				}
				if err := kc.(*net.TCPConn).CloseWrite(); err != nil {
					t.Fatal(err)
				}
				if err := receive(kc, 0, 0, true); err != nil {
					t.Fatalf("kernel client waiting for our FIN: %v", err)
				}
				if err := <-srvErr; err != nil {
					t.Fatal(err)
				}
				// We closed second: LAST-ACK until the kernel's ACK, then closed.
				if err := sc.waitState(tcp.StateClosed); err != nil {
					t.Fatal(err)
				}
				h.mu.Lock()
				cerr := sc.c.Err()
				h.mu.Unlock()
				if cerr != nil {
					t.Errorf("our connection ended with %v, want an orderly close", cerr)
				}
				checkKernelClean(t, tp.Client, before)
				checkOurs(t, h)
			})
		}
	}
}

// TestOurClientToKernelServer: our stack, on a TUN device in the client
// namespace, connects to a kernel TCP server in the server namespace; 64
// MiB go each way, checked byte for byte; we close first.
func TestOurClientToKernelServer(t *testing.T) {
	for _, mode := range modes {
		for _, fam := range families() {
			t.Run(mode.name+"/"+fam.name, func(t *testing.T) {
				tp := lab.New(t, lab.Config{Paths: 1})
				p := tp.Paths[0]
				ifc, err := tp.StackInterface(tp.Client, "tun0")
				if err != nil {
					t.Fatal(err)
				}
				h := newHost(t, hostConfig{addrs: []netip.Addr{p.ClientStack.V4, p.ClientStack.V6}, ifs: []tun.Interface{ifc}, super: mode.super, trust: mode.trust})
				n := transferSize()
				deadline := time.Now().Add(2 * time.Minute)

				var ln net.Listener
				if err := tp.Server.Do(func() (err error) {
					ln, err = net.Listen("tcp", netip.AddrPortFrom(p.Server.Get(fam.v6), testPort).String())
					return err
				}); err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				before := kernelCounters(t, tp.Server)
				srvErr := make(chan error, 1)
				go func() {
					srvErr <- func() error {
						c, err := ln.Accept()
						if err != nil {
							return err
						}
						defer c.Close()
						c.SetDeadline(deadline)
						if err := receive(c, 1, n, false); err != nil {
							return fmt.Errorf("kernel server receiving: %w", err)
						}
						if err := send(c, 2, n); err != nil {
							return fmt.Errorf("kernel server sending: %w", err)
						}
						if err := receive(c, 0, 0, true); err != nil {
							return fmt.Errorf("kernel server waiting for our FIN: %w", err)
						}
						return c.(*net.TCPConn).CloseWrite()
					}()
				}()

				c, err := h.dial(netip.AddrPortFrom(p.ClientStack.Get(fam.v6), 0), netip.AddrPortFrom(p.Server.Get(fam.v6), testPort), deadline)
				if err != nil {
					t.Fatal(err)
				}
				if err := send(c, 1, n); err != nil {
					t.Fatalf("our client sending: %v", err)
				}
				if err := receive(c, 2, n, false); err != nil {
					t.Fatalf("our client receiving: %v", err)
				}
				if err := c.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				if err := receive(c, 0, 0, true); err != nil {
					t.Fatalf("our client waiting for the kernel's FIN: %v", err)
				}
				if err := <-srvErr; err != nil {
					t.Fatal(err)
				}
				// We closed first: TIME-WAIT once the kernel's FIN is acked.
				if err := c.waitState(tcp.StateTimeWait, tcp.StateClosed); err != nil {
					t.Fatal(err)
				}
				h.mu.Lock()
				cerr := c.c.Err()
				h.mu.Unlock()
				if cerr != nil {
					t.Errorf("our connection ended with %v, want an orderly close", cerr)
				}
				checkKernelClean(t, tp.Server, before)
				checkOurs(t, h)
			})
		}
	}
}

// checkOurs checks our stack's and driver's error counters.
func checkOurs(t *testing.T, h *host) {
	t.Helper()
	st := h.stats()
	if st.InCsumErrors != 0 || st.InErrs != 0 {
		t.Errorf("our stack: %d checksum errors, %d input errors", st.InCsumErrors, st.InErrs)
	}
	ds := h.drv.Stats()
	if ds.Drops != 0 || ds.ReadErrors != 0 || ds.WriteErrors != 0 || ds.BadChecksums != 0 {
		t.Errorf("driver: %+v", ds)
	}
	t.Logf("driver: in %d packets in %d reads, out %d packets in %d writes, %d polls",
		ds.PacketsIn, ds.ReadBatches, ds.PacketsOut, ds.WriteBatches, ds.Polls)
	if err := h.drv.Err(); err != nil {
		t.Error(err)
	}
}

// TestTwoDevices runs our stack on two TUN devices, one per path, each
// with its path's addresses: kernel clients reach it over both paths at
// once, and each device carries its own path's packets only.
func TestTwoDevices(t *testing.T) {
	tp := lab.New(t, lab.Config{Paths: 2, Middle: lab.Router})
	var ifs []tun.Interface
	var addrs []netip.Addr
	for _, p := range tp.Paths {
		ifc, err := tp.StackInterface(tp.Server, fmt.Sprintf("tun%d", p.N), p.N)
		if err != nil {
			t.Fatal(err)
		}
		ifs = append(ifs, ifc)
		addrs = append(addrs, p.ServerStack.V4, p.ServerStack.V6)
	}
	h := newHost(t, hostConfig{addrs: addrs, ifs: ifs})
	deadline := time.Now().Add(time.Minute)
	const n = 4 << 20
	errc := make(chan error, 8)
	for _, p := range tp.Paths {
		for _, fam := range families() {
			addr := netip.AddrPortFrom(p.ServerStack.Get(fam.v6), testPort)
			ln, err := h.listen(addr)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				errc <- func() error {
					c, err := ln.accept(deadline)
					if err != nil {
						return err
					}
					if err := receive(c, 3, n, true); err != nil {
						return fmt.Errorf("%v: %w", addr, err)
					}
					return c.Close()
				}()
			}()
			go func() {
				errc <- func() error {
					var kc net.Conn
					if err := tp.Client.Do(func() (err error) {
						d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(p.Client.Get(fam.v6), 0))}
						kc, err = d.Dial("tcp", addr.String())
						return err
					}); err != nil {
						return err
					}
					defer kc.Close()
					kc.SetDeadline(deadline)
					if err := send(kc, 3, n); err != nil {
						return err
					}
					kc.(*net.TCPConn).CloseWrite()
					_, err := io.Copy(io.Discard, kc)
					return err
				}()
			}()
		}
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	for i := range ifs {
		s := h.drv.InterfaceStats(i)
		// Each path carried 2 x 4 MiB in.
		if s.BytesIn < 2*n || s.PacketsOut == 0 {
			t.Errorf("device %d: %+v; want at least %d bytes in and packets out", i, s, 2*n)
		}
	}
	checkOurs(t, h)
}

// TestCaptureTshark captures a transfer over the TUN driver and has
// tshark read it: every packet is there, none is malformed, and every
// checksum is right.
func TestCaptureTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("needs tshark (apt-get install -y tshark)")
	}
	// With super-packets the stack leaves its checksums partial, and with
	// trust the driver leaves the kernel's so: the capture finishes both.
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) { testCaptureTshark(t, mode.super, mode.trust) })
	}
}

func testCaptureTshark(t *testing.T, super, trust bool) {
	tp := lab.New(t, lab.Config{Paths: 1})
	p := tp.Paths[0]
	ifc, err := tp.StackInterface(tp.Server, "tun0")
	if err != nil {
		t.Fatal(err)
	}
	w, path := tempPcap(t, "tun.pcap")
	h := newHost(t, hostConfig{addrs: []netip.Addr{p.ServerStack.V4}, ifs: []tun.Interface{ifc}, capture: w, super: super, trust: trust})
	addr := netip.AddrPortFrom(p.ServerStack.V4, testPort)
	ln, err := h.listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	const n = 1 << 20
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			c, err := ln.accept(deadline)
			if err != nil {
				return err
			}
			if err := receive(c, 4, n, true); err != nil {
				return err
			}
			if err := c.Close(); err != nil {
				return err
			}
			return c.waitState(tcp.StateClosed)
		}()
	}()
	var kc net.Conn
	if err := tp.Client.Do(func() (err error) {
		kc, err = net.DialTimeout("tcp", addr.String(), 10*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	kc.SetDeadline(deadline)
	if err := send(kc, 4, n); err != nil {
		t.Fatal(err)
	}
	kc.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, kc)
	kc.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.close() // the capture is complete once the driver stopped
	stats := h.drv.Stats()
	out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if uint64(len(lines)) != stats.PacketsIn+stats.PacketsOut+stats.Drops {
		t.Errorf("tshark read %d packets, the driver moved %+v", len(lines), stats)
	}
	// Checksums checked too: tshark does not by default.
	out, err = exec.Command("tshark", "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-Y", "_ws.malformed || _ws.expert.severity >= 0x00800000").Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tshark finds malformed or suspicious packets:\n%s", s)
	}
}

// TestDriverCloseMidTransfer is the guard for Close racing a busy device: a
// transfer is cut by Close, which must return without a stray error.
func TestDriverCloseMidTransfer(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) { testDriverCloseMidTransfer(t, mode.super) })
	}
}

func testDriverCloseMidTransfer(t *testing.T, super bool) {
	tp := lab.New(t, lab.Config{Paths: 1})
	p := tp.Paths[0]
	ifc, err := tp.StackInterface(tp.Server, "tun0")
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, hostConfig{addrs: []netip.Addr{p.ServerStack.V4}, ifs: []tun.Interface{ifc}, super: super})
	addr := netip.AddrPortFrom(p.ServerStack.V4, testPort)
	ln, err := h.listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := ln.accept(time.Now().Add(time.Minute))
		if err == nil {
			io.Copy(io.Discard, c)
		}
	}()
	var kc net.Conn
	if err := tp.Client.Do(func() (err error) {
		kc, err = net.DialTimeout("tcp", addr.String(), 10*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	kc.SetDeadline(time.Now().Add(time.Minute))
	go send(kc, 5, 1<<30)
	waitUntil(t, func() bool { return h.drv.Stats().BytesIn > 8<<20 })
	if err := h.drv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := h.drv.Err(); err != nil && !errors.Is(err, tun.ErrClosed) {
		t.Errorf("Err after Close: %v", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDeviceClosedUnderDriver closes a device behind the driver's back:
// its reader stops with ErrClosed, reported by Err and OnError, and Close
// still returns.
func TestDeviceClosedUnderDriver(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			tp := lab.New(t, lab.Config{Paths: 1})
			ifc, err := tp.StackInterface(tp.Server, "tun0")
			if err != nil {
				t.Fatal(err)
			}
			h := newHost(t, hostConfig{addrs: []netip.Addr{tp.Paths[0].ServerStack.V4}, ifs: []tun.Interface{ifc}, super: mode.super, trust: mode.trust})
			ifc.Device.Close()
			waitUntil(t, func() bool { return h.drv.Err() != nil })
			if err := h.drv.Err(); !errors.Is(err, tun.ErrClosed) {
				t.Errorf("Err() = %v, want ErrClosed", err)
			}
			h.close()
		})
	}
}

// TestSteadyStateAllocations runs a bulk transfer from a kernel client
// through the driver into our stack, in each mode, and checks that the
// steady state allocates (nearly) nothing per packet: driver, stack and
// the test's reader together.
func TestSteadyStateAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			tp := lab.New(t, lab.Config{Paths: 1})
			p := tp.Paths[0]
			ifc, err := tp.StackInterface(tp.Server, "tun0")
			if err != nil {
				t.Fatal(err)
			}
			h := newHost(t, hostConfig{addrs: []netip.Addr{p.ServerStack.V4}, ifs: []tun.Interface{ifc}, super: mode.super, trust: mode.trust})
			addr := netip.AddrPortFrom(p.ServerStack.V4, testPort)
			ln, err := h.listen(addr)
			if err != nil {
				t.Fatal(err)
			}
			const warm, measured = 16 << 20, 128 << 20
			got := make(chan error, 1)
			var mid runtime.MemStats
			midPackets := make(chan uint64, 1)
			go func() {
				got <- func() error {
					c, err := ln.accept(time.Now().Add(time.Minute))
					if err != nil {
						return err
					}
					c.deadline = time.Now().Add(time.Minute)
					buf := make([]byte, 1<<20)
					var n int64
					for n < warm+measured {
						k, err := c.Read(buf)
						if err != nil {
							return err
						}
						if n < warm && n+int64(k) >= warm {
							runtime.ReadMemStats(&mid)
							midPackets <- h.drv.Stats().PacketsIn + h.drv.Stats().PacketsOut
						}
						n += int64(k)
					}
					return nil
				}()
			}()
			var kc net.Conn
			if err := tp.Client.Do(func() (err error) {
				kc, err = net.DialTimeout("tcp", addr.String(), 10*time.Second)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer kc.Close()
			kc.SetDeadline(time.Now().Add(time.Minute))
			buf := make([]byte, 1<<20)
			for range (warm + measured) >> 20 {
				if _, err := kc.Write(buf); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			var end runtime.MemStats
			runtime.ReadMemStats(&end)
			s := h.drv.Stats()
			pkts := s.PacketsIn + s.PacketsOut - <-midPackets
			allocs := end.Mallocs - mid.Mallocs
			t.Logf("%d allocations over %d packets (%d reads, %d writes)", allocs, pkts, s.ReadBatches, s.WriteBatches)
			// An allocation per packet, or per batch, would be thousands;
			// the runtime and the stack's occasional growth are a few dozen.
			if allocs > 100+pkts/20 {
				t.Errorf("%d allocations for %d packets: want next to none per packet", allocs, pkts)
			}
		})
	}
}
