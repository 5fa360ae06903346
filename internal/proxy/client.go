package proxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp/internal/convert"
)

// Dialer opens the MPTCP connection to the converter: the kernel's
// (net.Dialer with SetMultipathTCP, see KernelDialer) or this project's
// user-space stack.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Client carries application connections to a Transport Converter with
// the Convert protocol (RFC 8803).
type Client struct {
	// Converter is the server's host:port.
	Converter string
	// Dialer dials Converter; it should be MPTCP and use TCP Fast Open so
	// that the Convert message rides in the SYN (KernelDialer does both).
	Dialer Dialer
	// Key, when set, is the pre-shared key proven to the server.
	Key []byte
	// Now is the clock for the auth proof (time.Now when nil).
	Now func() time.Time
}

// Upstream is a connection through the converter. Its first Read consumes
// the converter's Convert reply; an Error TLV there is returned as a
// *convert.Error. Writes go straight through, so application bytes follow
// the Convert message without waiting for the reply (0-RTT).
type Upstream struct {
	net.Conn
	once  sync.Once
	reply convert.Message
	err   error
}

// Connect dials the converter for target t and sends the Convert message
// carrying t (and the auth proof), followed by early, the application's
// first bytes if it has sent some: with TCP Fast Open the Convert message
// rides in the SYN and early right behind it. It does not wait for the
// converter's reply: call Reply to wait, or just Read.
func (c *Client) Connect(ctx context.Context, t Target, early []byte) (*Upstream, error) {
	msg, err := c.message(t, false)
	if err != nil {
		return nil, err
	}
	up, err := c.open(ctx, msg)
	if err == nil && len(early) > 0 {
		// A write of its own, after the SYN: with the early bytes in the
		// SYN too, Linux 6.18's MPTCP stalls the download direction of
		// such a connection part way (TestKernelMPTCPWithTFO found it;
		// docs/proxy.md). Sent right behind the SYN they still reach the
		// converter with the handshake's third ACK, so no round trip is
		// lost: the converter cannot answer before that ACK anyway.
		if _, err = up.Conn.Write(early); err != nil {
			up.Close()
			return nil, fmt.Errorf("sending the first bytes to %s: %w", c.Converter, err)
		}
	}
	return up, err
}

// message builds the Convert message for t.
func (c *Client) message(t Target, udp bool) ([]byte, error) {
	m := convert.Message{Connect: &convert.Connect{Dest: t.Addr}}
	if t.Host != "" {
		m.Other = append(m.Other, convert.TLV{Type: tlvHost, Value: []byte(t.Host)})
	}
	if udp {
		m.Other = append(m.Other, convert.TLV{Type: tlvUDP, Value: []byte{0, 0}})
	}
	if len(c.Key) > 0 {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		m.Other = append(m.Other, authTLV(c.Key, now(), authDest(t, udp)))
	}
	return m.Append(nil)
}

// authDest is what the auth proof binds: the request, so that a captured
// proof cannot be replayed for another destination.
func authDest(t Target, udp bool) string {
	if udp {
		return "udp"
	}
	return t.String()
}

func (c *Client) open(ctx context.Context, msg []byte) (*Upstream, error) {
	conn, err := c.Dialer.DialContext(ctx, "tcp", c.Converter)
	if err != nil {
		return nil, fmt.Errorf("dialing converter %s: %w", c.Converter, err)
	}
	// With TCP_FASTOPEN_CONNECT the kernel sends the SYN with this first
	// write: the converter learns the destination in the SYN.
	if _, err := conn.Write(msg); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sending Convert message to %s: %w", c.Converter, err)
	}
	return &Upstream{Conn: conn}, nil
}

// Reply waits for the converter's Convert reply and returns it, or the
// converter's Error TLV as a *convert.Error.
func (u *Upstream) Reply() (convert.Message, error) {
	u.once.Do(func() {
		var m convert.Message
		m, _, u.err = convert.ReadMessage(u.Conn)
		if u.err == nil && m.Error != nil {
			u.err = m.Error
		}
		u.reply = m
	})
	return u.reply, u.err
}

// Read reads relayed bytes, after the converter's reply.
func (u *Upstream) Read(p []byte) (int, error) {
	if _, err := u.Reply(); err != nil {
		return 0, err
	}
	return u.Conn.Read(p)
}

// CloseWrite half-closes the connection to the converter when the
// underlying connection can, and closes it otherwise.
func (u *Upstream) CloseWrite() error { return closeWrite(u.Conn) }

// Abort resets the connection to the converter.
func (u *Upstream) Abort() { reset(u.Conn) }

// targetOf makes a Target from an address the transparent or HTTP
// front end found.
func targetOf(ap netip.AddrPort) Target {
	return Target{Addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}
}
