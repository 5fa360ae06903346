package main

import (
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/internal/proxy"
)

// TestProxyStatus: mptcp proxy status prints the endpoint's counters and
// its per-client lines.
func TestProxyStatus(t *testing.T) {
	srv := &proxy.Server{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go srv.Serve(l)
	// A client that sends garbage: accepted, refused as malformed.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	c.(*net.TCPConn).CloseWrite()
	b := make([]byte, 512)
	for {
		if _, err := c.Read(b); err != nil {
			break
		}
	}
	c.Close()
	hs := httptest.NewServer(proxy.StatusHandler(&srv.Stats, nil, nil))
	defer hs.Close()
	code, out, errOut := runCmd("proxy", "status", strings.TrimPrefix(hs.URL, "http://"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"accepted 1", "malformed 1", "client       127.0.0.1  accepted 1  active 0  up 0  down 0  refused 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
