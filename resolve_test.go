package mptcp_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/mptcp-go/mptcp"
)

// fakeDNS is a net.Resolver whose every query is answered from addrs, in
// process (DNS over a net.Pipe, with TCP's length prefix).
func fakeDNS(t *testing.T, addrs map[string][]netip.Addr) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, s := net.Pipe()
		go func() {
			defer s.Close()
			for {
				var n [2]byte
				if _, err := io.ReadFull(s, n[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(n[:]))
				if _, err := io.ReadFull(s, q); err != nil {
					return
				}
				var m dnsmessage.Message
				if err := m.Unpack(q); err != nil || len(m.Questions) != 1 {
					t.Errorf("fake DNS: bad query: %v", err)
					return
				}
				qq := m.Questions[0]
				m.Header.Response, m.Header.Authoritative = true, true
				for _, a := range addrs[qq.Name.String()] {
					h := dnsmessage.ResourceHeader{Name: qq.Name, Class: dnsmessage.ClassINET, TTL: 60}
					switch {
					case a.Is4() && qq.Type == dnsmessage.TypeA:
						h.Type = dnsmessage.TypeA
						m.Answers = append(m.Answers, dnsmessage.Resource{Header: h, Body: &dnsmessage.AResource{A: a.As4()}})
					case a.Is6() && qq.Type == dnsmessage.TypeAAAA:
						h.Type = dnsmessage.TypeAAAA
						m.Answers = append(m.Answers, dnsmessage.Resource{Header: h, Body: &dnsmessage.AAAAResource{AAAA: a.As16()}})
					}
				}
				out, err := m.Pack()
				if err != nil {
					t.Errorf("fake DNS: %v", err)
					return
				}
				binary.BigEndian.PutUint16(n[:], uint16(len(out)))
				if _, err := s.Write(append(n[:], out...)); err != nil {
					return
				}
			}
		}()
		return c, nil
	}}
}

// TestDialerResolvesAndFallsBack: a Dialer resolves a host name with its
// Resolver and, of the two addresses of the name, reaches the one that
// answers (the other family's address leads nowhere), as net.Dialer does.
func TestDialerResolvesAndFallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _, _ := startDualSim(t)
		defer n.stop()
		ln, err := n.server.Listen("tcp", ":443")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("hello"))
				c.Close()
			}
		}()
		nowhere := netip.MustParseAddr("fd00:99::1") // no route: the router drops it
		d := mptcp.Dialer{Stack: n.client, Resolver: fakeDNS(t, map[string][]netip.Addr{
			"server.example.": {nowhere, n.top.ServerAddr},
		})}
		c, err := d.DialContext(context.Background(), "tcp", "server.example:443")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); got != n.top.ServerAddr {
			t.Errorf("connected to %s, want %s", got, n.top.ServerAddr)
		}
		b, err := io.ReadAll(c)
		if err != nil || string(b) != "hello" {
			t.Errorf("read %q, %v", b, err)
		}
		c.Close()
		// "tcp6" has only the address that leads nowhere: the dial fails
		// within its timeout, as a *net.OpError that is a timeout.
		d.Timeout = 5e9
		_, err = d.DialContext(context.Background(), "tcp6", "server.example:443")
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("dial tcp6 to nowhere: %v, want a timeout", err)
		}
	})
}
