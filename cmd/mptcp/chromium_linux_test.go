//go:build linux

package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/observe"
)

// withChromium opts in to the headless-Chromium page tests: each starts
// Chromium twice and takes tens of seconds, minutes on a loaded machine,
// so the default suite leaves them out.
var withChromium = flag.Bool("chromium", false, "run the headless-Chromium page tests (apt-get install chromium; slow)")

// needChromium skips the test unless -chromium is given and Chromium is
// installed, and returns the binary.
func needChromium(t *testing.T) string {
	t.Helper()
	if !*withChromium {
		t.Skip("headless-Chromium test: run with go test ./cmd/mptcp -run Chromium -chromium (needs Debian's chromium)")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("needs chromium (apt-get install chromium)")
	}
	return bin
}

// chromium loads url in headless Chromium (in network namespace netns if
// not "", under mptcpize when mptcp is set), lets its scripts run for a
// few seconds of virtual time, and returns the rendered DOM and a
// screenshot. The test is skipped without -chromium or when Chromium is
// not installed.
func chromium(t *testing.T, netns string, mptcp bool, url string) (string, image.Image) {
	t.Helper()
	bin := needChromium(t)
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--virtual-time-budget=4000", "--window-size=900,700", "--ignore-certificate-errors"}
	runs := 0
	cmd := func(extra ...string) *exec.Cmd {
		runs++ // a profile each: the first run's may still be locked
		extra = append(extra, fmt.Sprintf("--user-data-dir=%s/profile%d", dir, runs))
		args := append(append([]string{bin}, flags...), extra...)
		args = append(args, url)
		if mptcp {
			args = append([]string{"mptcpize", "run"}, args...)
		}
		if netns != "" {
			args = append([]string{"ip", "netns", "exec", netns}, args...)
		}
		return exec.Command(args[0], args[1:]...)
	}
	var dom, errOut bytes.Buffer
	c := cmd("--dump-dom")
	c.Stdout, c.Stderr = &dom, &errOut
	if err := c.Run(); err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, errOut.String())
	}
	// Headless Chromium now and then exits without writing the file:
	// a few tries.
	for try := 0; try < 3; try++ {
		c = cmd("--screenshot=" + shot)
		c.Stderr = &errOut
		if err := c.Run(); err != nil {
			t.Fatalf("chromium --screenshot: %v\n%s", err, errOut.String())
		}
		if _, err := os.Stat(shot); err == nil {
			break
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return dom.String(), img
}

// countColor counts the pixels of img within 40 of the colour r, g, b on
// each channel: text drawn in that colour shows up.
func countColor(img image.Image, r, g, b int) int {
	n := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			d := func(a uint32, b int) bool { v := int(a>>8) - b; return v > -40 && v < 40 }
			if d(pr, r) && d(pg, g) && d(pb, b) {
				n++
			}
		}
	}
	return n
}

// TestCheckPageChromium: headless Chromium under mptcpize renders the
// check page's "Yes" and its per-port table, the port behind TCPOPTSTRIP
// shown as stripped, the HTTPS port (a self-signed certificate, which
// this Chromium is told to accept) as yes.
func TestCheckPageChromium(t *testing.T) {
	needTools(t, "mptcpize", "iptables")
	needChromium(t)
	srv, cli := checkNet(t)
	srv.Run(t, "iptables", "-t", "mangle", "-A", "PREROUTING", "-p", "tcp", "--dport", "8081", "-j", "TCPOPTSTRIP", "--strip-options", "30")
	startCheck(t, srv, "--stack", "kernel", "--ports", "8080,8081", "--tls-ports", "8443", "--tls-self-signed", "--echo", "0", "--discard", "0")
	curl(t, cli, true, "http://10.16.1.1:8080/json") // up
	dom, img := chromium(t, cli.Name(), true, "http://10.16.1.1:8080/")
	for _, want := range []string{`<p id="answer" class="yes">Yes</p>`, `<tr id="port-8080"><td>8080</td><td class="state">yes</td>`,
		`<tr id="port-8081"><td>8081</td><td class="state">stripped</td>`, `<tr id="port-8443"><td>8443 (HTTPS)</td><td class="state">yes</td>`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %s", want)
		}
	}
	if n := countColor(img, 0x1a, 0x7f, 0x37); n < 50 {
		t.Errorf("screenshot has %d pixels of the green \"Yes\", want a word's worth", n)
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}

// TestLivePageChromium: the debug endpoint's live page, in headless
// Chromium, lists a simulated stack's two subflows and draws a throughput
// and an RTT line for each.
func TestLivePageChromium(t *testing.T) {
	needChromium(t)
	rec := observe.NewRecorder(0)
	n, err := simtest.NewNet(11, []simtest.Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 10e6, Delay: 25 * time.Millisecond}},
		simtest.Options{Server: func(c *core.Config) { c.Events = rec.Sink }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.StartTransfer(0, 64<<20, core.ConnOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n.Sim.RunFor(time.Second)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the transfer goes on while the page watches
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			mu.Lock()
			n.Sim.RunFor(20 * time.Millisecond)
			mu.Unlock()
		}
	}()
	srv := httptest.NewServer(observe.Handler(observe.CoreSource(n.SS, &mu), observe.Options{Recorder: rec}))
	defer srv.Close()
	dom, img := chromium(t, "", false, srv.URL+"/")
	dom, _, _ = strings.Cut(dom, "<script>") // the rendered elements, not the code that draws them
	if got := strings.Count(dom, `<polyline class="series"`); got < 4 {
		t.Errorf("%d lines drawn, want 4 (throughput and RTT of two subflows)", got)
	}
	if got := strings.Count(dom, "<tr><td>"); got < 2 {
		t.Errorf("%d subflow rows, want 2", got)
	}
	if !strings.Contains(dom, "1 connections at") {
		t.Errorf("status line missing")
	}
	if n := countColor(img, 0x1f, 0x77, 0xb4) + countColor(img, 0xd6, 0x27, 0x28); n < 50 {
		t.Errorf("screenshot has %d pixels of the lines' colours", n)
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}

// TestLivePageChromiumUserStack: the live page of a running user-space
// stack ("mptcp perf server --stack user --debug", a kernel client sending
// on two paths), in headless Chromium in the server's namespace, draws a
// throughput and an RTT line for each subflow.
func TestLivePageChromiumUserStack(t *testing.T) {
	needChromium(t)
	needTools(t, "curl")
	start := time.Now()
	tp := perfTwoPaths(t)
	srvAddr := tp.Paths[0].ServerStack.V4
	// On the server namespace's kernel address: its loopback is down.
	debug := netip.AddrPortFrom(tp.Paths[0].Server.V4, 8099).String()
	srv := goPerfIn(t, tp.Server, "perf", "server", "--stack", "user", "--tun", "pt0", "--addr", srvAddr.String(),
		"-1", "-i", "0", "--debug", debug)
	cli := make(chan string, 1)
	go func() {
		var out string
		defer func() { cli <- out }()
		out, _ = perfRetryClient(t, tp.Client, "perf", "client", "--stack", "kernel", "-t", "20", "-i", "0",
			netip.AddrPortFrom(srvAddr, 5201).String())
	}()
	// Until the stack has a subflow that joined; asked with curl, which
	// runs in the namespace (an HTTP client of this process would dial
	// from threads outside it).
	var conns string
	for up := time.Now().Add(30 * time.Second); time.Now().Before(up) && !strings.Contains(conns, `"Join": true`); time.Sleep(100 * time.Millisecond) {
		var err error
		if conns, err = tp.Server.Exec("curl", "-sS", "--max-time", "2", "http://"+debug+observe.PathConns); err != nil {
			conns = err.Error()
		}
	}
	if !strings.Contains(conns, `"Join": true`) {
		select {
		case r := <-srv:
			t.Fatalf("no subflow joined; the server ended: exit %s\n%s%s", r[0], r[1], r[2])
		default:
			t.Fatalf("no subflow joined within 30 s; %s:\n%.2000s", observe.PathConns, conns)
		}
	}
	t.Logf("%v: a subflow joined", time.Since(start).Round(time.Millisecond))
	dom, img := chromium(t, string(tp.Server), false, "http://"+debug+"/")
	t.Logf("%v: Chromium done", time.Since(start).Round(time.Millisecond))
	dom, _, _ = strings.Cut(dom, "<script>")
	if got := strings.Count(dom, `<polyline class="series"`); got < 4 {
		t.Errorf("%d lines drawn, want 4 or more (throughput and RTT of each subflow)", got)
	}
	if got := strings.Count(dom, "<tr><td>"); got < 2 {
		t.Errorf("%d subflow rows, want 2 or more", got)
	}
	if n := countColor(img, 0x1f, 0x77, 0xb4) + countColor(img, 0xd6, 0x27, 0x28); n < 50 {
		t.Errorf("screenshot has %d pixels of the lines' colours", n)
	}
	if t.Failed() {
		t.Logf("%s:\n%s\nDOM:\n%s", observe.PathConns, conns, dom)
	}
	<-cli
	if s := <-srv; s[0] != "0" {
		t.Errorf("server: exit %s\n%s%s", s[0], s[1], s[2])
	}
}
