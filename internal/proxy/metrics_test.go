package proxy

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func getBody(t *testing.T, url string) string {
	t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return string(b)
}

// TestStatusMetrics: the converter's status endpoint counts per client,
// shows an open relay as active with the MPTCP leg's path and its limit
// (the kernel's MPTCP on loopback, when it is enabled), and exports
// refusals by reason and per-client bytes to Prometheus.
func TestStatusMetrics(t *testing.T) {
	key := []byte("k3y")
	srv := &Server{Key: key, Policy: Policy{AllowLocal: true}, HandshakeTimeout: 5 * time.Second}
	conv, err := ListenKernel(context.Background(), "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conv.Close() })
	go srv.Serve(conv)
	status := httptest.NewServer(StatusHandler(&srv.Stats, &Kernel, localPort(addrOf(conv.Addr()).Port())))
	t.Cleanup(status.Close)

	front := func(k []byte) *rig {
		r := &rig{srv: srv, conv: conv}
		r.front = &Front{Client: &Client{Converter: conv.Addr().String(), Dialer: KernelDialer(false), Key: k}, Strict: true}
		r.fl = listen(t)
		go r.front.ServeProxy(r.fl)
		return r
	}
	good, bad := front(key), front([]byte("wrong"))
	o := origin(t)
	c, err := socks(t, good, nil).Dial("tcp", o.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello " {
		t.Fatalf("read %q, %v", buf, err)
	}
	if _, err := socks(t, bad, nil).Dial("tcp", o.Addr().String()); err == nil {
		t.Fatal("a wrong key was relayed")
	}

	// The relay counts the bytes after writing them: the client may read
	// them a moment before (1 failure in 10 runs beside a CPU hog).
	waitFor(t, func() bool {
		s := srv.Stats.Snapshot()
		return len(s.Clients) == 1 && s.Clients[0].BytesDown == 6
	})
	var snap Snapshot
	if err := json.Unmarshal([]byte(getBody(t, status.URL+"/status")), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Active != 1 || snap.NotAuthorized != 1 || len(snap.Clients) != 1 {
		t.Fatalf("status %+v: want one active relay, one refusal, one client", snap)
	}
	if cl := snap.Clients[0]; cl.Client.String() != "127.0.0.1" || cl.Accepted != 2 || cl.Active != 1 || cl.Refused != 1 || cl.BytesDown != 6 {
		t.Errorf("client %+v: want 127.0.0.1, 2 accepted, 1 active, 1 refused, 6 bytes down", cl)
	}
	if len(snap.Limits) == 0 {
		t.Log("no MPTCP sockets listed (is net.mptcp.enabled 0?): paths and limits not checked")
	} else {
		if len(snap.Paths) != 1 || snap.Paths[0].Local.String() != "127.0.0.1" || snap.Paths[0].BytesAcked < 6 {
			t.Errorf("paths %+v: want 127.0.0.1 with the 6 bytes sent", snap.Paths)
		}
		if l := snap.Limits[0]; len(l.Subflows) != 1 || l.Subflows[0].Limit != "application" {
			t.Errorf("limits %+v: want one subflow, idle (limited by the application)", snap.Limits)
		}
	}
	// While the relay is open, its MPTCP connection is listed.
	m := getBody(t, status.URL+"/metrics")
	for _, want := range []string{
		`mptcp_proxy_refusals_total{reason="not_authorized"} 1`,
		`mptcp_proxy_client_connections_total{client="127.0.0.1"} 2`,
		`mptcp_proxy_client_bytes_total{client="127.0.0.1",direction="down"} 6`,
		`mptcp_proxy_connections_total 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if len(snap.Paths) > 0 && !strings.Contains(m, `mptcp_proxy_path_bytes_total{direction="sent",local="127.0.0.1"}`) {
		t.Error("/metrics lacks the path's bytes")
	}
	// The CPU use since the last reading, once readings are far enough
	// apart to measure.
	waitFor(t, func() bool {
		var s Snapshot
		return json.Unmarshal([]byte(getBody(t, status.URL+"/status")), &s) == nil && s.CPU != nil && s.CPU.IntervalS > 0
	})
}

// TestClientTableBounded: the per-client table forgets idle clients
// beyond maxClients.
func TestClientTableBounded(t *testing.T) {
	var st Stats
	for i := range maxClients + 10 {
		st.accept(&net.TCPAddr{IP: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)), Port: 1})
	}
	if n := len(st.Snapshot().Clients); n > maxClients {
		t.Fatalf("%d clients kept, want at most %d", n, maxClients)
	}
	if st.Accepted.Load() != maxClients+10 {
		t.Fatal("the total lost counts")
	}
}
