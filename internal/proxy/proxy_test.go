package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/mptcp-go/mptcp/internal/convert"
)

// rig is a converter and a front end on loopback, over plain TCP (the
// proxy's logic does not depend on the MPTCP leg; the namespace tests run
// it over the kernel's MPTCP).
type rig struct {
	srv   *Server
	front *Front
	conv  net.Listener // the converter's listener
	fl    net.Listener // the front end's SOCKS5 / HTTP listener
}

func newRig(t *testing.T, serverKey, clientKey []byte, opts ...func(*Server)) *rig {
	t.Helper()
	r := &rig{srv: &Server{Key: serverKey, Policy: Policy{AllowLocal: true}, HandshakeTimeout: 5 * time.Second}}
	for _, o := range opts {
		o(r.srv)
	}
	r.conv = listen(t)
	go r.srv.Serve(r.conv)
	// Strict: the tests of refusals check the SOCKS and HTTP error codes;
	// TestOptimistic covers the default.
	r.front = &Front{Client: &Client{Converter: r.conv.Addr().String(), Dialer: &net.Dialer{}, Key: clientKey}, Strict: true}
	r.fl = listen(t)
	go r.front.ServeProxy(r.fl)
	return r
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// origin is a destination server: it answers each connection with
// "hello", echoes what it reads, and closes after the client's FIN.
func origin(t *testing.T) net.Listener { return countingOrigin(t, nil) }

// countingOrigin is origin, counting the connections it accepts in n (if
// not nil).
func countingOrigin(t *testing.T, n *atomic.Int64) net.Listener {
	l := listen(t)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if n != nil {
				n.Add(1)
			}
			go func() {
				defer c.Close()
				c.Write([]byte("hello "))
				io.Copy(c, c)
			}()
		}
	}()
	return l
}

func socks(t *testing.T, r *rig, auth *xproxy.Auth) xproxy.Dialer {
	t.Helper()
	d, err := xproxy.SOCKS5("tcp", r.fl.Addr().String(), auth, xproxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// exchange writes msg, half-closes, and reads everything back.
func exchange(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading after half-close: %v", err)
	}
	return string(b)
}

func TestSOCKS5Relay(t *testing.T) {
	key := []byte("k3y")
	r := newRig(t, key, key)
	o := origin(t)
	c, err := socks(t, r, nil).Dial("tcp", o.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := strings.Repeat("x", 1<<20)
	if got := exchange(t, c, big); got != "hello "+big {
		t.Fatalf("got %d bytes back, want %d", len(got), len(big)+6)
	}
	waitFor(t, func() bool { return r.srv.Stats.Relayed.Load() == 1 })
	if s := r.srv.Stats.Snapshot(); s.BytesUp != int64(len(big)) || s.BytesDown != int64(len(big)+6) || s.NotAuthorized != 0 {
		t.Errorf("server stats %+v", s)
	}
}

func TestSOCKS5HostName(t *testing.T) {
	r := newRig(t, nil, nil)
	o := origin(t)
	_, port, _ := net.SplitHostPort(o.Addr().String())
	c, err := socks(t, r, nil).Dial("tcp", "localhost:"+port) // resolved by the converter
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := exchange(t, c, "name"); got != "hello name" {
		t.Fatalf("got %q", got)
	}
}

func TestSOCKS5UserPassword(t *testing.T) {
	r := newRig(t, nil, nil)
	r.front.Creds = Credentials{User: "u", Password: "p"} // before the first connection
	o := origin(t)
	if _, err := socks(t, r, &xproxy.Auth{User: "u", Password: "wrong"}).Dial("tcp", o.Addr().String()); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	c, err := socks(t, r, &xproxy.Auth{User: "u", Password: "p"}).Dial("tcp", o.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := exchange(t, c, "up"); got != "hello up" {
		t.Fatalf("got %q", got)
	}
	// The refusal is counted after its answer is sent: the client may
	// have read it first.
	for deadline := time.Now().Add(5 * time.Second); r.front.Stats.NotAuthorized.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := r.front.Stats.NotAuthorized.Load(); n != 1 {
		t.Errorf("NotAuthorized = %d, want 1", n)
	}
}

// TestWrongKey: a client with the wrong key gets SOCKS "not allowed", the
// server counts the refusal and the destination sees nothing.
func TestWrongKey(t *testing.T) {
	r := newRig(t, []byte("right"), []byte("wrong"))
	o := listen(t)
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := o.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	_, err := socks(t, r, nil).Dial("tcp", o.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("err = %v, want SOCKS 'not allowed'", err)
	}
	if n := r.srv.Stats.NotAuthorized.Load(); n != 1 {
		t.Errorf("server NotAuthorized = %d, want 1", n)
	}
	if n := r.front.Stats.ConverterError.Load(); n != 1 {
		t.Errorf("front ConverterError = %d, want 1", n)
	}
	select {
	case <-accepted:
		t.Fatal("the destination was connected to")
	default:
	}
}

// TestReplay: a captured Convert message with a valid proof is refused the
// second time.
func TestReplay(t *testing.T) {
	key := []byte("k")
	r := newRig(t, key, key)
	o := origin(t)
	cl := &Client{Key: key}
	msg, err := cl.message(targetOf(addrOf(o.Addr())), false)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []*convert.Error{nil, {Code: convert.ErrNotAuthorized}} {
		c, err := net.Dial("tcp", r.conv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(msg)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		m, _, err := convert.ReadMessage(c)
		c.Close()
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if (m.Error == nil) != (want == nil) || (want != nil && m.Error.Code != want.Code) {
			t.Fatalf("attempt %d: reply %+v, want error %v", i, m.Error, want)
		}
	}
}

func TestDestinationErrors(t *testing.T) {
	r := newRig(t, nil, nil)
	closed := listen(t)
	addr := closed.Addr().String()
	closed.Close()
	_, err := socks(t, r, nil).Dial("tcp", addr)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("closed port: err = %v, want SOCKS 'connection refused'", err)
	}
	if s := r.srv.Stats.Snapshot(); s.DestFailed != 1 {
		t.Errorf("stats %+v, want DestFailed 1", s)
	}
	// The default policy refuses the converter's own loopback.
	r2 := newRig(t, nil, nil, func(s *Server) { s.Policy = Policy{} })
	o := origin(t)
	if _, err := socks(t, r2, nil).Dial("tcp", o.Addr().String()); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("loopback destination: err = %v, want 'not allowed'", err)
	}
	if n := r2.srv.Stats.Forbidden.Load(); n != 1 {
		t.Errorf("Forbidden = %d, want 1", n)
	}
}

func TestHTTPConnect(t *testing.T) {
	r := newRig(t, nil, nil)
	o := origin(t)
	c, err := net.Dial("tcp", r.fl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %[1]s\r\n\r\n", o.Addr())
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("status %q, %v", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("header line %q", l)
	}
	c.Write([]byte("via http"))
	c.(*net.TCPConn).CloseWrite()
	b, _ := io.ReadAll(br)
	if string(b) != "hello via http" {
		t.Fatalf("got %q", b)
	}
	// A plain GET is not proxied.
	c2, _ := net.Dial("tcp", r.fl.Addr().String())
	defer c2.Close()
	fmt.Fprintf(c2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	line, _ = bufio.NewReader(c2).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 405") {
		t.Fatalf("GET: %q", line)
	}
}

// TestResetPropagates: a destination that resets makes the application's
// connection reset too, not close in order.
func TestResetPropagates(t *testing.T) {
	r := newRig(t, nil, nil)
	o := listen(t)
	go func() {
		c, err := o.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("x"))
		time.Sleep(50 * time.Millisecond) // let "x" leave before the reset
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}()
	c, err := socks(t, r, nil).Dial("tcp", o.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read error %v, want ECONNRESET", err)
	}
}

// TestMalformed: bad messages get the Error TLV RFC 8803 names, echoing the
// message, and are counted.
func TestMalformed(t *testing.T) {
	r := newRig(t, nil, nil)
	for _, tc := range []struct {
		msg  []byte
		code convert.ErrorCode
	}{
		{[]byte{2, 1, 0, 0}, convert.ErrUnsupportedVersion},
		{[]byte{1, 2, 0, 0, 10, 1, 0, 0}, convert.ErrMalformedMessage},
		{[]byte{1, 2, 0, 0, 99, 1, 0, 0}, convert.ErrUnsupportedMessage},
		{[]byte{1, 1, 0, 0}, convert.ErrUnsupportedMessage}, // neither Connect nor Info
	} {
		c, err := net.Dial("tcp", r.conv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(tc.msg)
		m, _, err := convert.ReadMessage(c)
		c.Close()
		if err != nil || m.Error == nil || m.Error.Code != tc.code {
			t.Errorf("%x: reply %+v, %v; want code %v", tc.msg, m.Error, err, tc.code)
		}
	}
	waitFor(t, func() bool { return r.srv.Stats.Malformed.Load() == 4 })
}

// TestInfo: an Info TLV is answered with the supported extensions (MPTCP).
func TestInfo(t *testing.T) {
	r := newRig(t, nil, nil)
	c, err := net.Dial("tcp", r.conv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte{1, 2, 0, 0, 1, 1, 0, 0})
	m, _, err := convert.ReadMessage(c)
	if err != nil || !bytes.Equal(m.SupportedTCPExt, []byte{30}) {
		t.Fatalf("reply %+v, %v", m, err)
	}
}

func TestPerClientLimit(t *testing.T) {
	r := newRig(t, nil, nil, func(s *Server) { s.MaxPerClient = 1 })
	o := origin(t)
	c1, err := socks(t, r, nil).Dial("tcp", o.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if _, err := socks(t, r, nil).Dial("tcp", o.Addr().String()); err == nil {
		t.Fatal("a second connection passed a limit of one")
	}
	if n := r.srv.Stats.OverLimit.Load(); n != 1 {
		t.Errorf("OverLimit = %d", n)
	}
}

// TestIndependentConvert runs our server against a Convert client written
// here byte by byte from RFC 8803, and our client against a converter
// written the same way.
func TestIndependentConvert(t *testing.T) {
	r := newRig(t, nil, nil)
	o := origin(t)
	op := addrOf(o.Addr())
	// A standard client: fixed header, Connect TLV (type 10, 5 words, port,
	// IPv4-mapped address), then data.
	req := []byte{1, 6, 0, 0, 10, 5, byte(op.Port() >> 8), byte(op.Port()), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}
	c, err := net.Dial("tcp", r.conv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(append(req, "std"...))
	c.(*net.TCPConn).CloseWrite()
	all, _ := io.ReadAll(c)
	c.Close()
	if len(all) < 4 || all[0] != 1 || int(all[1])*4 > len(all) {
		t.Fatalf("reply %x", all)
	}
	hdr, rest := all[:int(all[1])*4], all[int(all[1])*4:]
	if len(hdr) < 8 || hdr[4] != 20 {
		t.Fatalf("reply header %x: want an Extended TCP Header TLV (20)", hdr)
	}
	if string(rest) != "hello std" {
		t.Fatalf("relayed %q", rest)
	}

	// A standard converter: read the fixed header and the rest, answer an
	// empty message, then relay to the Connect TLV's destination.
	conv := listen(t)
	go func() {
		c, err := conv.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h := make([]byte, 4)
		io.ReadFull(c, h)
		body := make([]byte, int(h[1])*4-4)
		io.ReadFull(c, body)
		if body[0] != 10 {
			return
		}
		a := netip.AddrFrom16([16]byte(body[4:20])).Unmap()
		out, err := net.Dial("tcp", netip.AddrPortFrom(a, binary.BigEndian.Uint16(body[2:4])).String())
		if err != nil {
			return
		}
		c.Write([]byte{1, 1, 0, 0})
		go func() { io.Copy(out, c); out.(*net.TCPConn).CloseWrite() }()
		io.Copy(c, out)
	}()
	cl := &Client{Converter: conv.Addr().String(), Dialer: &net.Dialer{}}
	up, err := cl.Connect(context.Background(), targetOf(op), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	if got := exchange(t, up, "ours"); got != "hello ours" {
		t.Fatalf("through a standard converter: %q", got)
	}
}

func TestUDPAssociate(t *testing.T) {
	r := newRig(t, nil, nil)
	// A UDP echo server standing in for DNS.
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		b := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(b)
			if err != nil {
				return
			}
			pc.WriteToUDPAddrPort(append([]byte("re:"), b[:n]...), from)
		}
	}()
	ctrl, err := net.Dial("tcp", r.fl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer ctrl.Close()
	ctrl.SetDeadline(time.Now().Add(20 * time.Second))
	ctrl.Write([]byte{5, 1, 0})
	ctrl.Write([]byte{5, 3, 0, 1, 0, 0, 0, 0, 0, 0})
	rep := make([]byte, 2+10)
	if _, err := io.ReadFull(ctrl, rep); err != nil || rep[1] != 0 || rep[3] != 0 {
		t.Fatalf("associate reply %x, %v", rep, err)
	}
	relay := netip.AddrPortFrom(netip.AddrFrom4([4]byte(rep[6:10])), binary.BigEndian.Uint16(rep[10:12]))
	u, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(relay))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	dst := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	dgram := appendSocksAddr([]byte{0, 0, 0}, dst)
	dgram = append(dgram, "query"...)
	u.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 2048)
	for attempt := 0; ; attempt++ { // UDP: resend until answered
		u.Write(dgram)
		u.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := u.Read(buf)
		if err == nil {
			want := appendSocksAddr([]byte{0, 0, 0}, dst)
			want = append(want, "re:query"...)
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("answer %x, want %x", buf[:n], want)
			}
			return
		}
		if attempt == 5 {
			t.Fatalf("no answer: %v", err)
		}
	}
}

// waitFor polls cond (a counter updated by another goroutine) with a
// bound, for assertions on what happens after a connection's end.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached in 20 s")
}

// TestOptimistic: by default the front end answers the application at once
// and sends its first bytes with the Convert message; a refusal resets the
// application's connection.
func TestOptimistic(t *testing.T) {
	key := []byte("k")
	r := newRig(t, key, key)
	r.front.Strict = false // before the first connection
	o := origin(t)
	c, err := socks(t, r, nil).Dial("tcp", o.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := exchange(t, c, "early"); got != "hello early" {
		t.Fatalf("got %q", got)
	}
	bad := newRig(t, []byte("right"), []byte("wrong"))
	bad.front.Strict = false
	c2, err := socks(t, bad, nil).Dial("tcp", o.Addr().String())
	if err != nil {
		t.Fatalf("optimistic SOCKS reply: %v", err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(20 * time.Second))
	c2.Write([]byte("x"))
	if _, err := io.ReadAll(c2); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("refused connection: read error %v, want a reset", err)
	}
	if n := bad.srv.Stats.NotAuthorized.Load(); n != 1 {
		t.Errorf("NotAuthorized = %d", n)
	}
}

// TestDatagramAddr: a framed datagram's address is split off exactly, for
// every size up to the largest UDP payload.
func TestDatagramAddr(t *testing.T) {
	for _, n := range []int{0, 1, 4000, 5000, maxDatagram} {
		for _, tgt := range []Target{
			{Addr: netip.MustParseAddrPort("192.0.2.1:53")},
			{Addr: netip.MustParseAddrPort("[2001:db8::1]:53")},
			{Addr: netip.AddrPortFrom(netip.IPv6Unspecified(), 53), Host: "example.net"},
		} {
			payload := bytes.Repeat([]byte{7}, n)
			got, p, err := parseDatagramAddr(append(appendTarget(nil, tgt), payload...))
			if err != nil || got != tgt || !bytes.Equal(p, payload) {
				t.Fatalf("%v with %d bytes: got %v, %d bytes, %v", tgt, n, got, len(p), err)
			}
		}
	}
}
