//go:build linux

package main

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/observe"
)

// TestObserveLiveUserStack runs "mptcp perf server --stack user --debug"
// with a kernel client on two paths, and looks at the running stack with
// mptcp stat (once, as JSON and with --watch), mptcp monitor and the
// endpoint's /metrics.
func TestObserveLiveUserStack(t *testing.T) {
	tp := perfTwoPaths(t)
	srvAddr := tp.Paths[0].ServerStack.V4
	sock := "unix:" + filepath.Join(t.TempDir(), "debug.sock")
	srv := goPerfIn(t, tp.Server, "perf", "server", "--stack", "user", "--tun", "pt0", "--addr", srvAddr.String(),
		"-1", "-i", "0", "--debug", sock)
	// The client's 12 s start once the server's endpoint is up, so that a
	// slow start of the server on a loaded machine does not eat them.
	sockPath := strings.TrimPrefix(sock, "unix:")
	for up := time.Now().Add(60 * time.Second); time.Now().Before(up); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(sockPath); err == nil {
			break
		}
	}
	cli := make(chan string, 1)
	go func() {
		// perfRetryClient fails the test with Goexit: the deferred send
		// still ends the wait below (it hung the package for 10 minutes).
		var out string
		defer func() { cli <- out }()
		out, _ = perfRetryClient(t, tp.Client, "perf", "client", "--stack", "kernel", "-t", "12", "-i", "0",
			netip.AddrPortFrom(srvAddr, 5201).String())
	}()
	var stat, lastOK, lastErr string
	polls, fails := 0, 0
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var o, e bytes.Buffer
		polls++
		if code := run([]string{"stat", "--endpoint", sock, "-t", "-i"}, &o, &e); code != 0 {
			fails++
			lastErr = e.String()
		} else if lastOK = o.String(); strings.Contains(lastOK, "flags:Jec") && strings.Contains(lastOK, "recent_sched:") {
			stat = lastOK
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if stat == "" {
		select {
		case r := <-srv:
			t.Logf("server: exit %s\n%s%s", r[0], r[1], r[2])
		default:
		}
		t.Fatalf("mptcp stat never showed a joined subflow in %d polls (%d failed); last output:\n%s\nlast error: %s", polls, fails, lastOK, lastErr)
	}
	t.Logf("mptcp stat -t -i:\n%s", stat)
	for _, want := range []string{"mptcp ESTAB", "tcp   ESTAB", "\t subflows:1 ", "remote_key token:", "flags:Mec ", "flags:Jec ", " rtt:", "recent_sched:"} {
		if !strings.Contains(stat, want) {
			t.Errorf("mptcp stat lacks %q", want)
		}
	}
	var o, e bytes.Buffer
	if code := run([]string{"stat", "--endpoint", sock, "--json"}, &o, &e); code != 0 || !strings.Contains(o.String(), `"netid":"mptcp"`) {
		t.Errorf("mptcp stat --json: exit %d\n%s%s", code, o.String(), e.String())
	}
	o.Reset()
	if code := run([]string{"stat", "--endpoint", sock, "--watch", "100ms", "--count", "2"}, &o, &e); code != 0 || strings.Count(o.String(), "Local Address:Port") != 2 {
		t.Errorf("mptcp stat --watch 100ms --count 2: exit %d, want two listings:\n%s%s", code, o.String(), e.String())
	}
	o.Reset()
	if code := run([]string{"monitor", "--endpoint", sock, "--count", "8", "--timeout", "10s"}, &o, &e); code != 0 {
		t.Fatalf("mptcp monitor: exit %d: %s", code, e.String())
	}
	t.Logf("mptcp monitor:\n%s", o.String())
	for _, want := range []string{"[LISTENER_CREATED] saddr4=", "[         CREATED] token=", "[     ESTABLISHED] token=", "[  SF_ESTABLISHED] token="} {
		if !strings.Contains(o.String(), want) {
			t.Errorf("mptcp monitor lacks %q", want)
		}
	}
	c, base := observe.Client(sock)
	resp, err := c.Get(base + observe.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"mptcp_MPTcpExtMPCapableSYNRX 2", "mptcp_MPTcpExtMPJoinSynRx 2", "mptcp_subflow_rtt_seconds{"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	<-cli
	if s := <-srv; s[0] != "0" {
		t.Errorf("server: exit %s\n%s%s", s[0], s[1], s[2])
	}
}
