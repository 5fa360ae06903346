//go:build linux

package sockdiag_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/sockdiag"
	"github.com/mptcp-go/mptcp/observe"
)

// Missing are the ss -i words our listing of the kernel's sockets leaves
// out: the congestion control's own block (bbr:(...), dctcp:(...)), and
// rcv_wnd and rehash, which ss prints from iproute2 6.2 on (they are in
// the JSON).
var Missing = map[string]bool{"bbr:()": true, "dctcp:()": true, "rcv_wnd": true, "rehash": true}

// Kernel2 sets up a client with two paths (a second subflow endpoint) to
// a server, an idle kernel MPTCP connection between them with both
// subflows, and returns the client's namespace.
func Kernel2(t *testing.T) lab.Netns {
	t.Helper()
	lab.RequireMPTCP(t)
	srv, cli := lab.TempNetns(t, "h16srv"), lab.TempNetns(t, "h16cli")
	lab.Veth(t, srv, "h16s0", "10.16.1.1/24", cli, "h16c0", "10.16.1.2/24")
	lab.Veth(t, srv, "h16s1", "10.16.2.1/24", cli, "h16c1", "10.16.2.2/24")
	for _, ns := range []lab.Netns{srv, cli} {
		ns.Run(t, "sysctl", "-qw", "net.mptcp.enabled=1")
		ns.Run(t, "ip", "mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "2")
	}
	cli.Run(t, "ip", "mptcp", "endpoint", "add", "10.16.2.2", "dev", "h16c1", "subflow")
	var ln net.Listener
	if err := srv.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", "10.16.1.1:5201")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	var c net.Conn
	if err := cli.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		var err error
		c, err = d.Dial("tcp", "10.16.1.1:5201")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(bytes.Repeat([]byte("x"), 100000)); err != nil {
		t.Fatal(err)
	}
	lab.WaitFor(t, 10*time.Second, "two subflows", func() (bool, string) {
		out, _ := cli.Exec("ss", "-Mti")
		return strings.Count(out, "tcp-ulp-mptcp") == 2, out
	})
	return cli
}

// socket is one socket of a listing: its line and the words of its
// details.
type socket struct {
	line  string
	words map[string]string
}

// parseSS reads an ss (or mptcp stat) listing.
func parseSS(out string) map[string]socket {
	m := map[string]socket{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := 1; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) < 6 {
			continue
		}
		key := f[0] + " " + f[4] + " " + f[5]
		s := socket{line: strings.Join(f[:6], " "), words: map[string]string{}}
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			i++
			ws := strings.Fields(lines[i])
			for j := 0; j < len(ws); j++ {
				w := ws[j]
				if k, v, ok := strings.Cut(w, ":"); ok {
					if strings.HasPrefix(v, "(") {
						k += ":()" // bbr:(...) beside the bare word bbr
					}
					s.words[k] = v
					continue
				}
				if strings.HasSuffix(w, "bps") || w == "send" || w == "pacing_rate" || w == "delivery_rate" {
					if j+1 < len(ws) && (w == "send" || w == "pacing_rate" || w == "delivery_rate") {
						s.words[w] = ws[j+1]
						j++
					}
					continue
				}
				s.words[w] = ""
			}
		}
		m[key] = s
	}
	return m
}

// TestListMatchesSS compares mptcp stat's listing of the kernel's sockets
// with ss -Mtni: the same sockets, the same words, the same values
// (except times that move).
func TestListMatchesSS(t *testing.T) {
	cli := Kernel2(t)
	var diffs []string
	for try := 0; try < 5; try++ {
		ssOut, err := cli.Exec("ss", "-Mtni")
		if err != nil {
			t.Fatal(err)
		}
		var socks []observe.Socket
		if err := cli.Do(func() error {
			var err error
			socks, err = sockdiag.List(sockdiag.Options{TCP: true})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var ours bytes.Buffer
		observe.Format(&ours, socks, observe.FormatOptions{Info: true})
		diffs = compareSS(parseSS(ssOut), parseSS(ours.String()))
		if len(diffs) == 0 {
			var plain bytes.Buffer
			observe.Format(&plain, socks[len(socks)-1:], observe.FormatOptions{})
			t.Logf("mptcp stat:\n%s", plain.String())
			t.Logf("ss -Mtni:\n%s\nmptcp stat -t -i:\n%s", ssOut, ours.String())
			return
		}
		time.Sleep(200 * time.Millisecond) // a field moved between the two reads
	}
	t.Fatalf("mptcp stat differs from ss -Mtni:\n%s", strings.Join(diffs, "\n"))
}

var moving = map[string]bool{"lastsnd": true, "lastrcv": true, "lastack": true, "busy": true, "sndbuf_limited": true, "rwnd_limited": true}

func compareSS(ss, ours map[string]socket) []string {
	var d []string
	if len(ss) != 3 {
		d = append(d, fmt.Sprintf("ss lists %d sockets, want 3 (an MPTCP socket and two subflows)", len(ss)))
	}
	for k, s := range ss {
		o, ok := ours[k]
		if !ok {
			d = append(d, "missing socket "+k)
			continue
		}
		if s.line != o.line {
			d = append(d, fmt.Sprintf("line %q, ss %q", o.line, s.line))
		}
		var keys []string
		for w := range s.words {
			keys = append(keys, w)
		}
		sort.Strings(keys)
		for _, w := range keys {
			ov, ok := o.words[w]
			switch {
			case !ok && !Missing[w]:
				d = append(d, fmt.Sprintf("%s: no %s (ss: %q)", k, w, s.words[w]))
			case ok && !moving[w] && ov != s.words[w]:
				d = append(d, fmt.Sprintf("%s: %s=%q, ss %q", k, w, ov, s.words[w]))
			}
		}
		for w := range o.words {
			if _, ok := s.words[w]; !ok {
				d = append(d, fmt.Sprintf("%s: %s not in ss", k, w))
			}
		}
	}
	return d
}
