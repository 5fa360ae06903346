package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/perf"
)

func TestPerfUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"perf"}, "missing command (bench, client, server or web)"},
		{[]string{"perf", "serve"}, `unknown command "serve"`},
		{[]string{"perf", "client"}, "want one server address"},
		{[]string{"perf", "client", "a", "b"}, "want one server address"},
		{[]string{"perf", "client", "10.0.0.0/24"}, `server "10.0.0.0/24": want HOST:PORT or HOST, not a range`},
		{[]string{"perf", "client", "-n", "lots", "10.0.0.1"}, "want a byte count"},
		{[]string{"perf", "client", "-t", "-3", "10.0.0.1"}, "invalid value"},
		{[]string{"perf", "client", "-P", "0", "10.0.0.1"}, "-P 0: want 1..128 streams"},
		{[]string{"perf", "client", "-l", "1T", "10.0.0.1"}, "-l 1099511627776"},
		{[]string{"perf", "client", "--stack", "bsd", "10.0.0.1"}, `--stack "bsd": want user or kernel`},
		{[]string{"perf", "client", "--stack", "kernel", "--tun", "tun0", "10.0.0.1"}, "--tun is for --stack user only"},
		{[]string{"perf", "client", "--stack", "kernel", "-B", "nowhere", "10.0.0.1"}, `-B "nowhere": want an IP address`},
		{[]string{"perf", "client", "--addr", "10.0.0.300", "10.0.0.1"}, `--addr: address "10.0.0.300"`},
		{[]string{"perf", "client", "10.0.0.1"}, "needs its addresses on device mptcp%d: --addr ADDR"},
		{[]string{"perf", "client", "--tun", "a=10.1.0.1", "--tun", "b", "10.0.0.1"}, "needs its addresses on device b"},
		{[]string{"perf", "client", "--tun", "a", "--tun", "b", "--addr", "10.1.0.1", "10.0.0.1"}, "with several --tun devices"},
		{[]string{"perf", "client", "--tun", "a=10.1.0.1,10.1.0.1", "10.0.0.1"}, "address 10.1.0.1 given twice"},
		{[]string{"perf", "client", "--tun", "waytoolongdevicename", "--addr", "10.1.0.1", "10.0.0.1"}, "want a device name of 1..15 characters"},
		{[]string{"perf", "client", "--addr", "10.1.0.1", "--mtu", "100", "10.0.0.1"}, "--mtu 100"},
		{[]string{"perf", "client", "--addr", "10.1.0.1", "-B", "10.1.0.2", "10.0.0.1"}, "-B 10.1.0.2 is not one of the stack's addresses"},
		{[]string{"perf", "server", "-p", "70000"}, "-p 70000"},
		{[]string{"perf", "server", "extra"}, "takes no arguments"},
		{[]string{"perf", "bench", "--subflows", "1,x"}, "--subflows"},
		{[]string{"perf", "bench", "--repeat", "0"}, "--repeat 0"},
		{[]string{"perf", "bench", "--loops", "0"}, "--loops"},
		{[]string{"perf", "client", "--addr", "10.1.0.1", "--loops", "65", "10.0.0.1"}, "--loops 65"},
		{[]string{"perf", "client", "--addr", "10.1.0.1", "--loops", "2", "--pcap", "x.pcap", "10.0.0.1"}, "--pcap needs --loops 1"},
		{[]string{"perf", "bench", "--streams", "0"}, "--streams 0"},
		{[]string{"perf", "bench", "--pairs", "ours-nobody"}, "--pairs"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", tc.args, code, errb.String())
			continue
		}
		msg := errb.String()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%q: stderr %q, want it to mention %q", tc.args, msg, tc.want)
		}
		// One line: the error, nothing else (no usage dump).
		if lines := strings.Count(strings.TrimRight(msg, "\n"), "\n"); lines > 0 && tc.args[len(tc.args)-1] != "perf" {
			t.Errorf("%q: %d lines on stderr, want one:\n%s", tc.args, lines+1, msg)
		}
	}
}

func TestPerfHelp(t *testing.T) {
	for _, args := range [][]string{{"perf", "--help"}, {"perf", "client", "--help"}, {"perf", "server", "-h"}, {"perf", "bench", "--help"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 {
			t.Errorf("%q: exit %d", args, code)
		}
		if !strings.Contains(out.String()+errb.String(), "Usage") {
			t.Errorf("%q: no usage", args)
		}
	}
	var out, errb bytes.Buffer
	run([]string{"perf", "client", "--help"}, &out, &errb)
	for _, want := range []string{"-t, --time seconds", "-R, --reverse", "-n, --bytes bytes", "-P, --parallel streams", "--stack stack", "--tun NAME[=ADDR,...]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("client help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"1000", 1000}, {"512K", 512 << 10}, {"100M", 100 << 20}, {"1.5G", 3 << 29}, {"2t", 2 << 40}} {
		if got, err := parseBytes(tc.in); err != nil || got != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "K", "-1", "1X", "1e30G"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSecondsFlag(t *testing.T) {
	var d secondsFlag
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{{"10", 10 * time.Second}, {"0.5", 500 * time.Millisecond}, {"250ms", 250 * time.Millisecond}, {"0", 0}} {
		if err := d.Set(tc.in); err != nil || time.Duration(d) != tc.want {
			t.Errorf("%q: %v, %v", tc.in, time.Duration(d), err)
		}
	}
	for _, bad := range []string{"-1", "soon", "-2s"} {
		if err := d.Set(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPerfKernelLoopback runs "mptcp perf server" and "mptcp perf
// client" over the kernel's MPTCP (or TCP) on loopback, in text and JSON.
func TestPerfKernelLoopback(t *testing.T) {
	for _, extra := range [][]string{nil, {"--no-mptcp"}} {
		port := freePort(t)
		srvOut := make(chan string, 1)
		go func() {
			var out, errb bytes.Buffer
			code := run(append([]string{"perf", "server", "--stack", "kernel", "-1", "-B", "127.0.0.1", "-p", fmt.Sprint(port), "-i", "0"}, extra...), &out, &errb)
			srvOut <- fmt.Sprintf("exit %d\n%s%s", code, out.String(), errb.String())
		}()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		var out, errb bytes.Buffer
		code := 1
		for try := 0; try < 50 && code != 0; try++ {
			out.Reset()
			errb.Reset()
			code = run(append([]string{"perf", "client", "--stack", "kernel", "--json", "-n", "8M", "-P", "2", "-R", "--verify", addr}, extra...), &out, &errb)
			if code != 0 && strings.Contains(errb.String(), "connection refused") {
				time.Sleep(20 * time.Millisecond) // the server is not listening yet
				continue
			}
			break
		}
		if code != 0 {
			t.Fatalf("client: exit %d: %s", code, errb.String())
		}
		var rep perf.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("client JSON: %v\n%s", err, out.String())
		}
		if !rep.Summary.Complete || !rep.Summary.Verified || rep.Summary.Received.Bytes != 8<<20 || rep.Sender {
			t.Errorf("client report: %+v", rep.Summary)
		}
		wantMPTCP := extra == nil
		for _, s := range rep.Streams {
			if s.Conn.Stack != "kernel" || (wantMPTCP && !s.Conn.MPTCP && !s.Conn.FellBack) || (!wantMPTCP && s.Conn.MPTCP) {
				t.Errorf("stream %d: %+v (MPTCP wanted: %v)", s.Stream, s.Conn, wantMPTCP)
			}
		}
		so := <-srvOut
		if !strings.HasPrefix(so, "exit 0") || !strings.Contains(so, "Server listening on 127.0.0.1:") ||
			!strings.Contains(so, "Complete: every byte sent was received and verified.") {
			t.Errorf("server:\n%s", so)
		}
	}
}
