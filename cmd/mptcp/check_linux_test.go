//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/checkserve"
	"github.com/mptcp-go/mptcp/internal/lab"
)

// checkNet is a server and a client joined by two veth pairs, the
// client's second address a subflow endpoint, both with MPTCP on.
func checkNet(t *testing.T) (srv, cli lab.Netns) {
	t.Helper()
	lab.RequireMPTCP(t)
	srv, cli = lab.TempNetns(t, "h16chks"), lab.TempNetns(t, "h16chkc")
	lab.Veth(t, srv, "h16k0", "10.16.1.1/24", cli, "h16d0", "10.16.1.2/24")
	lab.Veth(t, srv, "h16k1", "10.16.2.1/24", cli, "h16d1", "10.16.2.2/24")
	for _, ns := range []lab.Netns{srv, cli} {
		ns.Run(t, "sysctl", "-qw", "net.mptcp.enabled=1")
		ns.Run(t, "ip", "mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "2")
	}
	cli.Run(t, "ip", "mptcp", "endpoint", "add", "10.16.2.2", "dev", "h16d1", "subflow")
	return srv, cli
}

// startCheck runs "mptcp check serve" in ns until the test ends.
func startCheck(t *testing.T, ns lab.Netns, args ...string) {
	t.Helper()
	out := make(chan string, 1)
	go func() {
		var o, e bytes.Buffer
		code := -1
		_ = ns.Do(func() error {
			code = run(append([]string{"check", "serve", "--duration", "40s"}, args...), &o, &e)
			return nil
		})
		out <- fmt.Sprintf("exit %d\n%s%s", code, o.String(), e.String())
	}()
	t.Cleanup(func() {
		select {
		case s := <-out:
			t.Logf("check serve: %s", s)
		default:
		}
	})
}

// curl runs curl (under mptcpize when mptcp is set) in ns and retries
// until the server answers.
func curl(t *testing.T, ns lab.Netns, mptcp bool, url string, extra ...string) string {
	t.Helper()
	args := append([]string{"curl", "-s", "--max-time", "5"}, extra...)
	args = append(args, url)
	if mptcp {
		args = append([]string{"mptcpize", "run"}, args...)
	}
	var out string
	var err error
	for try := 0; try < 50; try++ {
		if out, err = ns.Exec(args...); err == nil {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%v: %v\n%s", args, err, out)
	return ""
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if !haveTools(tool) {
			t.Skipf("needs %s (.ci/run installs it)", tool)
		}
	}
}

// haveTools reports whether every tool is installed.
func haveTools(tools ...string) bool {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
}

// TestCheckServeKernel is the check site on the kernel's MPTCP with real
// clients: mptcpize curl says yes, plain curl no, over HTTP and over HTTPS
// (a self-signed certificate), a kernel client with a second subflow
// endpoint shows two subflows, a port behind TCPOPTSTRIP is seen
// stripped, echo echoes.
func TestCheckServeKernel(t *testing.T) {
	needTools(t, "curl", "mptcpize", "iptables")
	srv, cli := checkNet(t)
	srv.Run(t, "iptables", "-t", "mangle", "-A", "PREROUTING", "-p", "tcp", "--dport", "8081", "-j", "TCPOPTSTRIP", "--strip-options", "30")
	startCheck(t, srv, "--stack", "kernel", "--ports", "8080,8081", "--tls-ports", "8443", "--tls-self-signed", "--echo", "7007", "--discard", "9009")

	yes := curl(t, cli, true, "http://10.16.1.1:8080/")
	if !strings.HasPrefix(yes, "Yes: your connection uses Multipath TCP (version 1).") || !strings.Contains(yes, "kernel stack") {
		t.Errorf("mptcpize curl:\n%s", yes)
	}
	t.Logf("mptcpize run curl:\n%s", yes)
	no := curl(t, cli, false, "http://10.16.1.1:8080/")
	if !strings.HasPrefix(no, "No: your connection does not use Multipath TCP.") {
		t.Errorf("plain curl:\n%s", no)
	}
	t.Logf("curl:\n%s", no)
	if yes := curl(t, cli, true, "https://10.16.1.1:8443/", "--insecure"); !strings.HasPrefix(yes, "Yes: your connection uses Multipath TCP (version 1).") ||
		!strings.Contains(yes, "(port 8443, HTTPS), kernel stack") {
		t.Errorf("mptcpize curl over HTTPS:\n%s", yes)
	} else {
		t.Logf("mptcpize run curl --insecure https://10.16.1.1:8443/:\n%s", yes)
	}
	if no := curl(t, cli, false, "https://10.16.1.1:8443/", "--insecure"); !strings.HasPrefix(no, "No: your connection does not use Multipath TCP.") {
		t.Errorf("plain curl over HTTPS:\n%s", no)
	}
	var stripped checkserve.Result
	if err := json.Unmarshal([]byte(curl(t, cli, true, "http://10.16.1.1:8081"+checkserve.PathJSON)), &stripped); err != nil {
		t.Fatal(err)
	}
	if stripped.MPTCP || stripped.Port != 8081 {
		t.Errorf("port 8081 behind TCPOPTSTRIP: %+v, want no MPTCP", stripped)
	}
	html := curl(t, cli, true, "http://10.16.1.1:8080/", "-A", "Mozilla/5.0 (X11; Linux x86_64)")
	if !strings.Contains(html, "<table id=\"ports\">") || !strings.Contains(html, `"mptcp":true`) {
		t.Errorf("browser page:\n%s", html)
	}

	// A kernel client with a second subflow endpoint, asking on one
	// connection until the server has seen its join.
	var c net.Conn
	if err := cli.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		var err error
		c, err = d.Dial("tcp", "10.16.1.1:8080")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var body string
	for try := 0; try < 100 && !strings.Contains(body, "subflows: 2 (a subflow joined)"); try++ {
		time.Sleep(50 * time.Millisecond)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: check\r\nUser-Agent: test\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	}
	if !strings.Contains(body, "subflows: 2 (a subflow joined)") || !strings.Contains(body, "10.16.2.2:") {
		t.Errorf("kernel client with two paths:\n%s", body)
	}
	t.Logf("two subflows:\n%s", body)

	// Echo (RFC 862).
	var e net.Conn
	if err := cli.Do(func() error {
		var err error
		e, err = net.DialTimeout("tcp", "10.16.1.1:7007", 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(e, "hello, echo")
	got := make([]byte, len("hello, echo"))
	if _, err := io.ReadFull(e, got); err != nil || string(got) != "hello, echo" {
		t.Errorf("echo: %q, %v", got, err)
	}
}
