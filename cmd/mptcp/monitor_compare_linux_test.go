//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/kpm"
)

// monitorAttrs splits an "ip mptcp monitor" line into its type and its
// key=value attributes, in order.
func monitorAttrs(line string) (typ string, keys []string, vals map[string]string) {
	typ, rest, _ := strings.Cut(line, "]")
	vals = map[string]string{}
	for _, kv := range strings.Fields(rest) {
		k, v, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
		vals[k] = v
	}
	return strings.TrimSpace(strings.TrimPrefix(typ, "[")), keys, vals
}

// TestMonitorMatchesKernel: one connection from a kernel client (with a
// second subflow) to our stack; the kernel's events at the client and
// ours at the server carry the same attribute names in the same order
// (server_side aside), and the same addresses, ports and address IDs
// seen from the other end.
func TestMonitorMatchesKernel(t *testing.T) {
	tp := perfTwoPaths(t)
	srvAddr := tp.Paths[0].ServerStack.V4
	sock := "unix:" + filepath.Join(t.TempDir(), "debug.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := startCheckUser(ctx, tp.Server, srvAddr, "mc0", "--debug", sock)
	defer func() { cancel(); <-done }()

	var ec *kpm.EventConn
	if err := tp.Client.Do(func() (err error) { ec, err = kpm.DialEvents(&kpm.Config{}); return err }); err != nil {
		t.Fatal(err)
	}
	kernel := make(chan kpm.Event, 64)
	go func() {
		for {
			evs, err := ec.Receive()
			if err != nil && !errors.Is(err, kpm.ErrEventsLost) && !errors.Is(err, kpm.ErrMalformedEvent) {
				close(kernel)
				return
			}
			for _, e := range evs {
				select {
				case kernel <- e:
				default:
				}
			}
		}
	}()
	defer ec.Close()

	// One connection, kept open until the kernel reports its join.
	conn := dialCheckUser(ctx, tp.Client, srvAddr, 8080, true)
	if conn == nil {
		t.Fatal("check serve never listened")
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/8.0\r\n\r\n")
	theirs := map[string]string{}
	for theirs["SF_ESTABLISHED"] == "" {
		select {
		case e, ok := <-kernel:
			if !ok {
				t.Fatal("kernel event socket closed")
			}
			typ, _, _ := monitorAttrs(e.String())
			if theirs[typ] == "" {
				theirs[typ] = e.String()
			}
		case <-ctx.Done():
			t.Fatalf("no SF_ESTABLISHED from the kernel; got %v", theirs)
		}
	}
	var o, e bytes.Buffer
	if code := execute(ctx, root, []string{"monitor", "--endpoint", sock, "--count", "5", "--timeout", "10s"}, &o, &e); code != 0 {
		t.Fatalf("mptcp monitor: exit %d: %s", code, e.String())
	}
	ours := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(o.String()), "\n") {
		typ, _, _ := monitorAttrs(line)
		ours[typ] = line
	}
	mirror := map[string]string{"saddr4": "daddr4", "daddr4": "saddr4", "sport": "dport", "dport": "sport", "locid": "remid", "remid": "locid", "backup": "backup"}
	for _, typ := range []string{"CREATED", "ESTABLISHED", "SF_ESTABLISHED"} {
		t.Logf("kernel: %s\nours:   %s", theirs[typ], ours[typ])
		_, kk, kv := monitorAttrs(theirs[typ])
		_, ok, ov := monitorAttrs(ours[typ])
		drop := func(keys []string) string {
			var out []string
			for _, k := range keys {
				if k != "server_side" {
					out = append(out, k)
				}
			}
			return strings.Join(out, " ")
		}
		if drop(kk) != drop(ok) {
			t.Errorf("%s attributes: kernel %q, ours %q", typ, drop(kk), drop(ok))
		}
		for k, m := range mirror {
			if v, has := kv[k]; has && ov[m] != v {
				t.Errorf("%s: kernel's %s=%s, ours %s=%s", typ, k, v, m, ov[m])
			}
		}
	}
}
