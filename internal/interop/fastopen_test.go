//go:build linux

package interop

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp"
	"golang.org/x/sys/unix"
)

// TestFastOpen: TCP Fast Open with MPTCP (RFC 8684 appendix B) against the
// kernel's, both ways. A first connection fetches a cookie; on the second
// the client's request rides the SYN beside MP_CAPABLE and the cookie,
// which the capture of our side shows, and the server has taken it in the
// SYN/ACK; every byte arrives once in order. Our client against a kernel
// listener with TCP_FASTOPEN (net.ipv4.tcp_fastopen=3 in its namespace);
// the kernel's client with TCP_FASTOPEN_CONNECT against our listener with
// ListenConfig.FastOpen. The TCP cases do the same with MPTCP off on both
// sides: the engine's Fast Open against the kernel's TCP.
func TestFastOpen(t *testing.T) {
	for _, sd := range sides {
		for _, mp := range []bool{true, false} {
			name := sd.String() + "/MPTCP"
			if !mp {
				name = sd.String() + "/TCP"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testFastOpen(t, sd, mp)
			})
		}
	}
}

func testFastOpen(t *testing.T, sd side, mp bool) {
	e := newEnv(t, envConfig{side: sd, cfg: mptcp.Config{DisableMPTCP: !mp}, kernelSysctl: []string{"net.ipv4.tcp_fastopen=3"}})
	req := make([]byte, 600)
	for i := range req {
		req[i] = byte(i * 13)
	}
	resp := make([]byte, 64<<10)
	for i := range resp {
		resp[i] = byte(i*7 + i>>9)
	}
	var fellBack bool
	for round := range 2 {
		var err error
		if sd == ourClient {
			fellBack, err = e.fastOpenOurClient(req, resp, mp)
		} else {
			fellBack, err = e.fastOpenOurServer(req, resp, mp)
		}
		if err != nil {
			t.Logf("ours: %v\nkernel: %v", e.ourCounters().sub(e.ourBefore), kernelCounters(t, e.kern).sub(e.kernBefore))
			t.Fatalf("connection %d: %v", round+1, err)
		}
		if fellBack && mp {
			t.Errorf("connection %d fell back to TCP", round+1)
		}
	}
	switch {
	case sd == ourClient && mp:
		e.checkKernel("TcpExtTCPFastOpenPassive=1", "TcpExtTCPFastOpenCookieReqd=1", "MPCapableSYNRX=2", "MPCapableACKRX=2")
		e.checkOurs("MPFastOpenActive=1", "MPCapableSYNACKRX=2")
	case mp:
		e.checkKernel("TcpExtTCPFastOpenActive=1", "MPCapableSYNACKRX=2")
		e.checkOurs("MPFastOpenPassive=1", "MPCapableSYNRX=2", "MPCapableACKRX=2")
	case sd == ourClient:
		e.checkKernel("TcpExtTCPFastOpenPassive=1", "TcpExtTCPFastOpenCookieReqd=1", "MPCapableSYNRX=0")
	default:
		e.checkKernel("TcpExtTCPFastOpenActive=1", "MPCapableSYNTX=0")
	}
	e.stop()
	// On the wire: the client's second SYN carries the cookie, the
	// request and MP_CAPABLE; the SYN/ACK acknowledges the request.
	// One tshark run: every SYN and SYN/ACK, in order.
	lines, ok := e.wire("tcp.flags.syn == 1", "tcp.flags.ack", "tcp.len", "tcp.ack", "tcp.options.tfo.cookie", "tcp.options.mptcp.subtype")
	if !ok {
		t.Skip("tshark not installed: the wire not checked")
	}
	var syns, synacks [][]string
	for _, l := range lines {
		f := strings.Split(l, ",")
		if len(f) < 5 {
			t.Fatalf("tshark line %q", l)
		}
		if f[0] == "1" || f[0] == "True" {
			synacks = append(synacks, f)
		} else {
			syns = append(syns, f)
		}
	}
	if len(syns) != 2 || len(synacks) != 2 {
		t.Fatalf("SYNs %q: want two SYNs and two SYN/ACKs", lines)
	}
	mpc := "0" // MP_CAPABLE's subtype, or none on plain TCP
	if !mp {
		mpc = ""
	}
	// fields: ACK flag, length, ack, cookie, MPTCP subtype
	if syns[0][1] != "0" || syns[0][3] != "" || syns[0][4] != mpc {
		t.Errorf("first SYN %q: want MP_CAPABLE, a cookie request and no data", syns[0])
	}
	if syns[1][1] != fmt.Sprint(len(req)) || syns[1][3] == "" || syns[1][4] != mpc {
		t.Errorf("second SYN %q: want MP_CAPABLE, a cookie and the %d-byte request", syns[1], len(req))
	}
	if synacks[0][3] == "" || synacks[0][4] != mpc {
		t.Errorf("first SYN/ACK %q: want MP_CAPABLE and a cookie", synacks[0])
	}
	if synacks[1][2] != fmt.Sprint(len(req)+1) || synacks[1][4] != mpc {
		t.Errorf("second SYN/ACK %q: want MP_CAPABLE, acknowledging the SYN's data", synacks[1])
	}
	// (No e.finish: its flow-control check reads one connection's
	// data sequence space from the capture, and this one has two.)
}

// fastOpenOurClient dials the kernel's Fast Open listener from our stack
// with Dialer.FastOpen, writes req, and reads resp back.
func (e *env) fastOpenOurClient(req, resp []byte, mp bool) (bool, error) {
	ln := e.kernelFastOpenListen(mp)
	defer ln.Close()
	served := e.serveOnce(ln, req, resp)
	d := mptcp.Dialer{Stack: e.st, FastOpen: true,
		LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(e.ourAddr(1), 0))}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(e.kernAddr(1), port).String())
	if err != nil {
		return false, err
	}
	c := nc.(*mptcp.Conn)
	defer c.Close()
	c.SetDeadline(time.Now().Add(caseTimeout))
	if err := exchangeClient(c, req, resp); err != nil {
		return false, err
	}
	fb := c.Info().FellBack
	if err := <-served; err != nil {
		return fb, err
	}
	c.Close()
	waitClosed(e.t, c)
	return fb, nil
}

// fastOpenOurServer has the kernel dial our Fast Open listener with
// TCP_FASTOPEN_CONNECT, write req, and read resp back.
func (e *env) fastOpenOurServer(req, resp []byte, mp bool) (bool, error) {
	lc := mptcp.ListenConfig{Stack: e.st, FastOpen: true}
	nl, err := lc.Listen(context.Background(), e.network(), fmt.Sprintf(":%d", port))
	if err != nil {
		return false, err
	}
	ln := nl.(*mptcp.Listener)
	defer ln.Close()
	type res struct {
		fb  bool
		err error
	}
	done := make(chan res, 1)
	go func() {
		c, err := e.accept(ln)
		if err != nil {
			done <- res{false, err}
			return
		}
		defer c.Close()
		got := make([]byte, len(req))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(req) {
			done <- res{false, fmt.Errorf("our server read %d bytes, %v (equal %v)", len(got), err, string(got) == string(req))}
			return
		}
		if _, err := c.Write(resp); err != nil {
			done <- res{false, err}
			return
		}
		c.CloseWrite()
		io.Copy(io.Discard, c)
		done <- res{c.Info().FellBack, nil}
	}()
	var kc net.Conn
	err = e.kern.Do(func() (err error) {
		d := net.Dialer{Timeout: 10 * time.Second, Control: tcpSockopt(unix.TCP_FASTOPEN_CONNECT, 1)}
		d.SetMultipathTCP(mp)
		kc, err = d.Dial("tcp", netip.AddrPortFrom(e.ourAddr(1), port).String())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("kernel dial: %w", err)
	}
	defer kc.Close()
	kc.SetDeadline(time.Now().Add(caseTimeout))
	if err := exchangeClient(kc.(*net.TCPConn), req, resp); err != nil {
		return false, err
	}
	r := <-done
	return r.fb, r.err
}

// halfCloser is a connection whose write side closes alone.
type halfCloser interface {
	io.ReadWriter
	CloseWrite() error
}

// exchangeClient writes req, reads resp, then half-closes and reads to
// the end. (Not the half-close first: in SYN-SENT, where a Fast Open
// connection still is after its Write, Linux's shutdown ends the attempt.)
func exchangeClient(c halfCloser, req, resp []byte) error {
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	got := make([]byte, len(resp))
	if n, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("client read after %d bytes: %w", n, err)
	}
	if string(got) != string(resp) {
		return fmt.Errorf("client read %d bytes that differ", len(got))
	}
	if err := c.CloseWrite(); err != nil {
		return fmt.Errorf("client close: %w", err)
	}
	if rest, err := io.ReadAll(c); err != nil || len(rest) > 0 {
		return fmt.Errorf("client read %d bytes more, %v; want EOF", len(rest), err)
	}
	return nil
}

// kernelFastOpenListen listens with MPTCP and TCP_FASTOPEN in the
// kernel's namespace (plain TCP unless mp).
func (e *env) kernelFastOpenListen(mp bool) net.Listener {
	e.t.Helper()
	var ln net.Listener
	if err := e.kern.Do(func() (err error) {
		lc := net.ListenConfig{Control: tcpSockopt(unix.TCP_FASTOPEN, 16)}
		lc.SetMultipathTCP(mp)
		ln, err = lc.Listen(context.Background(), e.network(), fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return ln
}

// serveOnce accepts one connection on the kernel's listener, reads req
// and answers resp.
func (e *env) serveOnce(ln net.Listener, req, resp []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := e.kernelAccept(ln)
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		got := make([]byte, len(req))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(req) {
			done <- fmt.Errorf("kernel server read: %v (equal %v)", err, string(got) == string(req))
			return
		}
		if _, err := c.Write(resp); err != nil {
			done <- err
			return
		}
		c.CloseWrite()
		_, err = io.Copy(io.Discard, c)
		done <- err
	}()
	return done
}

// tcpSockopt is a Control function setting the TCP socket option opt to v
// (TCP_FASTOPEN_CONNECT on a dialer, TCP_FASTOPEN on a listener).
func tcpSockopt(opt, v int) func(_, _ string, rc syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, opt, v) }); err != nil {
			return err
		}
		return serr
	}
}
