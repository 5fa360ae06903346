//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/observe"
)

// TestCheckServeUser runs "mptcp check serve --stack user --trace DIR"
// in a namespace and asks it from a kernel client over MPTCP and over
// plain TCP: the first hears yes, the second no, and the server wrote a
// trace of the MPTCP connection.
func TestCheckServeUser(t *testing.T) {
	tp := perfTwoPaths(t)
	srvAddr := tp.Paths[0].ServerStack.V4
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := startCheckUser(ctx, tp.Server, srvAddr, "ck0", "--trace", dir)
	url := netip.AddrPortFrom(srvAddr, 8080).String()
	ask := func(mptcp bool) string {
		t.Helper()
		for {
			c := dialCheckUser(ctx, tp.Client, srvAddr, mptcp)
			if c == nil {
				break
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\nUser-Agent: curl/8.0\r\n\r\n", url)
			b, err := io.ReadAll(c)
			c.Close()
			if err == nil {
				return string(b)
			}
		}
		select {
		case s := <-done:
			t.Fatalf("no answer from check serve: %s", s)
		default:
		}
		t.Fatal("no answer from check serve within 30 s")
		return ""
	}
	yes := ask(true)
	no := ask(false)
	cancel()
	if s := <-done; !strings.HasPrefix(s, "exit 0") {
		t.Errorf("check serve: %s", s)
	}
	if !strings.Contains(yes, "Yes: your connection uses Multipath TCP (version 1).") || !strings.Contains(yes, ", user stack") {
		t.Errorf("MPTCP client was told:\n%s", yes)
	}
	if !strings.Contains(no, "No: your connection does not use Multipath TCP.") {
		t.Errorf("TCP client was told:\n%s", no)
	}
	t.Logf("MPTCP client:\n%s", yes)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("%d trace files, want the MPTCP connection's: %v", len(files), files)
	}
	recs, err := observe.ReadTraceFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var created bool
	for _, r := range recs {
		created = created || r.Kind == observe.TraceKindEvent && bytes.Contains(r.Event, []byte(`"type":"created"`))
	}
	if recs[0].Side != "server" || !created {
		t.Errorf("trace %s: header %+v, CREATED event %v", files[0], recs[0], created)
	}
}

// startCheckUser runs "mptcp check serve --stack user" on a TUN device
// named dev with address addr in namespace ns, HTTP on port 8080 only,
// until ctx ends; the channel gets its exit status and output.
func startCheckUser(ctx context.Context, ns lab.Netns, addr netip.Addr, dev string, extra ...string) <-chan string {
	done := make(chan string, 1)
	go func() {
		var o, e bytes.Buffer
		code := -1
		args := append([]string{"check", "serve", "--stack", "user", "--tun", dev, "--addr", addr.String(),
			"--ports", "8080", "--echo", "0", "--discard", "0", "--rate", "0"}, extra...)
		_ = ns.Do(func() error {
			code = execute(ctx, root, args, &o, &e)
			return nil
		})
		done <- fmt.Sprintf("exit %d\n%s%s", code, o.String(), e.String())
	}()
	return done
}

// dialCheckUser connects from namespace ns to the check server that
// startCheckUser runs at addr, over MPTCP if mptcp, trying again while
// the server is still starting; it returns nil if ctx ended first.
func dialCheckUser(ctx context.Context, ns lab.Netns, addr netip.Addr, mptcp bool) net.Conn {
	url := netip.AddrPortFrom(addr, 8080).String()
	for ctx.Err() == nil {
		var c net.Conn
		err := ns.Do(func() (err error) {
			d := net.Dialer{Timeout: 2 * time.Second}
			d.SetMultipathTCP(mptcp)
			c, err = d.DialContext(ctx, "tcp", url)
			return err
		})
		if err == nil {
			return c
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
