//go:build linux

package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/mptcp-go/mptcp"
	"golang.org/x/sys/unix"
)

// TestFastOpen: TCP Fast Open with MPTCP (RFC 8684 appendix B) against the
// kernel's, both ways. A first connection fetches a cookie; on the second
// the client's request rides the SYN beside MP_CAPABLE and the cookie,
// which the capture of our side shows (the head of it: the request is
// longer than a SYN holds), and the server has taken it in the SYN/ACK;
// every byte arrives once in order. Our client against a kernel
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
	req := make([]byte, 3000)
	for i := range req {
		req[i] = byte(i * 13)
	}
	resp := make([]byte, 64<<10)
	for i := range resp {
		resp[i] = byte(i*7 + i>>9)
	}
	// One kernel listener serves both connections: listening again on
	// the port right after closing it failed now and then ("address
	// already in use"; the closed socket can outlive its Close while a
	// parallel test forks).
	var kln net.Listener
	if sd == ourClient {
		kln = e.kernelFastOpenListen(mp)
		defer kln.Close()
	}
	var fellBack bool
	for round := range 2 {
		var err error
		if sd == ourClient {
			fellBack, err = e.fastOpenOurClient(kln, req, resp)
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
	syns, synacks, err := e.synsOnWire()
	if err != nil {
		t.Fatal(err)
	}
	if len(syns) != 2 || len(synacks) != 2 {
		t.Fatalf("SYNs %+v, SYN/ACKs %+v: want two of each", syns, synacks)
	}
	if s := syns[0]; s.payload != 0 || !s.fastOpen || s.cookie != 0 || s.mpc != mp {
		t.Errorf("first SYN %+v: want a cookie request, no data, MP_CAPABLE %v", s, mp)
	}
	// The request is longer than a SYN holds: the SYN carries its head,
	// and the rest follows the handshake (on MPTCP with the MP_CAPABLE
	// data form, counted after the SYN's bytes).
	inSYN := syns[1].payload
	if s := syns[1]; inSYN == 0 || inSYN >= len(req) || s.cookie == 0 || s.mpc != mp {
		t.Errorf("second SYN %+v: want a cookie, the head of the %d-byte request, MP_CAPABLE %v", s, len(req), mp)
	}
	if s := synacks[0]; s.cookie == 0 || s.mpc != mp {
		t.Errorf("first SYN/ACK %+v: want a cookie, MP_CAPABLE %v", s, mp)
	}
	if s := synacks[1]; s.ack != uint32(inSYN+1) || s.mpc != mp {
		t.Errorf("second SYN/ACK %+v: want it to acknowledge the SYN's %d bytes, MP_CAPABLE %v", s, inSYN, mp)
	}
	// (No e.finish: its flow-control check reads one connection's
	// data sequence space from the capture, and this one has two.)
}

// fastOpenOurClient dials the kernel's Fast Open listener ln from our
// stack with Dialer.FastOpen, writes req, and reads resp back.
func (e *env) fastOpenOurClient(ln net.Listener, req, resp []byte) (bool, error) {
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

// synOnWire is what a SYN or SYN/ACK in the capture carries.
type synOnWire struct {
	payload  int
	ack      uint32 // relative to the peer's ISN (SYN/ACKs)
	fastOpen bool   // a Fast Open option
	cookie   int    // its cookie's length
	mpc      bool   // MP_CAPABLE
}

// synsOnWire reads our side's capture (with gopacket, not our wire
// package, and without tshark, whose start-up costs seconds under load)
// and returns the SYNs and the SYN/ACKs, in order.
func (e *env) synsOnWire() (syns, synacks []synOnWire, err error) {
	f, err := os.Open(e.pcap)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, nil, err
	}
	isn := map[uint16]uint32{} // client port -> the client's ISN
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return syns, synacks, nil
		}
		if err != nil {
			return nil, nil, err
		}
		p := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.NoCopy)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || !tcp.SYN {
			continue
		}
		s := synOnWire{payload: len(tcp.Payload)}
		for _, o := range tcp.Options {
			switch {
			case o.OptionType == 34:
				s.fastOpen, s.cookie = true, len(o.OptionData)
			case o.OptionType == 30 && len(o.OptionData) > 0 && o.OptionData[0]>>4 == 0:
				s.mpc = true
			}
		}
		if tcp.ACK {
			s.ack = tcp.Ack - isn[uint16(tcp.DstPort)]
			synacks = append(synacks, s)
		} else {
			isn[uint16(tcp.SrcPort)] = tcp.Seq
			syns = append(syns, s)
		}
	}
}

// TestFastOpenEarlyAnswer: the kernel's client's third ACK is dropped on
// its way (nft, in the kernel's namespace) after a Fast Open SYN whose
// request our server took whole. Over TCP our server answers right after
// its SYN/ACK (RFC 7413 section 4.2.2): the answer is on the wire before
// any later ACK of the client's, and arrives. Over MPTCP it waits for
// the client's key: the kernel's client falls back to TCP on a data
// segment without a DATA_ACK before it is fully established (seen when
// our server sent one, as RFC 8684 appendix B allows), so the answer
// follows the client's next ACK, and the connection stays MPTCP.
func TestFastOpenEarlyAnswer(t *testing.T) {
	for _, mp := range []bool{true, false} {
		name := "MPTCP"
		if !mp {
			name = "TCP"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testFastOpenEarlyAnswer(t, mp)
		})
	}
}

func testFastOpenEarlyAnswer(t *testing.T, mp bool) {
	needTools(t, nftTool)
	e := newEnv(t, envConfig{side: ourServer, cfg: mptcp.Config{DisableMPTCP: !mp}, kernelSysctl: []string{"net.ipv4.tcp_fastopen=3"}})
	req := []byte("a request that fits in the SYN")
	resp := make([]byte, 64<<10)
	for i := range resp {
		resp[i] = byte(i*11 + i>>8)
	}
	if _, err := e.fastOpenOurServer(req, resp, mp); err != nil { // the cookie
		t.Fatalf("first connection: %v", err)
	}
	e.nft("add", "table", "inet", nftTable)
	e.nft("add", "chain", "inet", nftTable, "output", "{ type filter hook output priority 0; }")
	// The first pure ACK the kernel sends to our port from now on: the
	// second connection's third ACK.
	e.nft("add", "rule", "inet", nftTable, "output", "tcp", "dport", strconv.Itoa(port), "tcp", "flags", "==", "ack",
		"meta", "length", "< 120", "numgen", "inc", "mod", "1000000", "==", "0", "counter", "drop")
	fellBack, err := e.fastOpenOurServer(req, resp, mp)
	if err != nil {
		t.Logf("ours: %v\nkernel: %v", e.ourCounters().sub(e.ourBefore), kernelCounters(t, e.kern).sub(e.kernBefore))
		t.Fatalf("second connection: %v", err)
	}
	if fellBack && mp {
		t.Error("the second connection fell back to TCP")
	}
	if mp {
		// Our server sends its SYN/ACK again when no ACK came: the
		// client, established, answers it with a challenge ACK and
		// counts it an input error (RFC 5961 section 4).
		e.checkKernel("TcpExtTCPFastOpenActive=1", "MPCapableSYNACKRX=2", "TcpInErrs<=1")
		e.checkOurs("MPFastOpenPassive=1", "MPCapableSYNRX=2")
	} else {
		e.checkKernel("TcpExtTCPFastOpenActive=1")
	}
	e.stop()
	// The second connection on the wire: our SYN/ACK, then whichever
	// comes first, our answer or an ACK of the client's.
	frames, ok := e.wire("tcp.flags.syn == 1 && tcp.flags.ack == 1", "frame.number")
	if !ok {
		return
	}
	if len(frames) < 2 {
		t.Fatalf("SYN/ACKs at frames %v, want one per connection at least", frames)
	}
	synack := frames[1]
	data, _ := e.wire(fmt.Sprintf("frame.number > %s && tcp.srcport == %d && tcp.len > 0", synack, port), "frame.number")
	acks, _ := e.wire(fmt.Sprintf("frame.number > %s && tcp.dstport == %d", synack, port), "frame.number")
	if len(data) == 0 || len(acks) == 0 {
		t.Fatalf("after the SYN/ACK (frame %s): our data at %v, the client's segments at %v", synack, data, acks)
	}
	first, _ := strconv.Atoi(data[0])
	ack, _ := strconv.Atoi(acks[0])
	if early := first < ack; early == mp {
		t.Errorf("our answer's first segment at frame %d, the client's first segment after the SYN/ACK at %d: want the answer %s", first, ack, map[bool]string{true: "after it (MPTCP)", false: "before it (TCP)"}[mp])
	}
}
