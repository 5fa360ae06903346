//go:build linux

package host_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/host"
	"github.com/mptcp-go/mptcp/internal/lab"
)

// serveEnv makes the test binary the server program of TestKernelClients
// instead of running tests: the ~15 lines of the README, on uplinks s1
// and s2, serving bodySize bytes, until SIGTERM.
const serveEnv = "MPTCP_HOST_TEST_SERVE"

const bodySize = 32 << 20

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		serve()
		return
	}
	os.Exit(m.Run())
}

func serve() {
	h, err := host.Start(host.Config{Paths: []host.Path{{Uplink: "s1"}, {Uplink: "s2"}}, NAT: true})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	ln, err := h.Listen("tcp", ":8080")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	body := make([]byte, bodySize)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { w.Write(body) })
	mux.HandleFunc("/addrs", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, h.Stack.Addresses()) })
	go http.Serve(ln, mux)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGUSR1)
	fmt.Println("ready")
	for s := <-sig; s == syscall.SIGUSR1; s = <-sig {
		dump(h)
	}
	if err := h.Close(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

// dump prints what a failed test needs to see of the server: its
// connections, its counters and its goroutines.
func dump(h *host.Host) {
	for _, c := range h.Stack.Conns() {
		b, _ := json.Marshal(c)
		fmt.Printf("conn %s\n", b)
	}
	b, _ := json.Marshal(h.Stack.MIB().Map(false))
	fmt.Printf("mib %s\n", b)
	buf := make([]byte, 1<<20)
	fmt.Printf("%s\ndump end\n", buf[:runtime.Stack(buf, true)])
}

// server is the server program running in a namespace.
type server struct {
	cmd *exec.Cmd
	out *bufio.Reader
	log chan string // the lines it printed after "ready"
}

// diagnose asks the server for its state and returns what it printed.
func (s *server) diagnose() string {
	s.cmd.Process.Signal(syscall.SIGUSR1)
	var b strings.Builder
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-s.log:
			if !ok || l == "dump end\n" {
				return b.String()
			}
			b.WriteString(l)
		case <-timeout:
			return b.String() + "(no end of dump)"
		}
	}
}

func startServer(t *testing.T, ns lab.Netns) *server {
	t.Helper()
	c := ns.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), serveEnv+"=1")
	pr, pw := io.Pipe()
	c.Stdout, c.Stderr = pw, pw
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: c, out: bufio.NewReader(pr)}
	t.Cleanup(func() { c.Process.Kill(); c.Wait(); pw.Close() })
	line, err := s.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("server did not start: %q %v", line, err)
	}
	s.log = make(chan string, 1<<16)
	go func() {
		defer close(s.log)
		for {
			l, err := s.out.ReadString('\n')
			if err != nil {
				return
			}
			select {
			case s.log <- l:
			default:
			}
		}
	}()
	return s
}

// stop ends the server as a user would (SIGTERM: it closes the host).
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("server exit: %v", err)
	}
}

// counter reads one MPTcpExt counter in ns.
func counter(t *testing.T, ns lab.Netns, name string) int {
	t.Helper()
	out := ns.Run(t, "cat", "/proc/net/netstat")
	lines := strings.Split(out, "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		keys, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(keys) == 0 || keys[0] != "MPTcpExt:" {
			continue
		}
		for j, k := range keys {
			if k == name && j < len(vals) {
				n, _ := strconv.Atoi(vals[j])
				return n
			}
		}
	}
	t.Fatalf("no MPTcpExt counter %s", name)
	return 0
}

// leftovers lists what the host set up that is still in ns.
func leftovers(t *testing.T, ns lab.Netns) []string {
	var out []string
	if _, err := ns.Exec("ip", "link", "show", "mptcp-h1"); err == nil {
		out = append(out, "device mptcp-h1")
	}
	for _, fam := range []string{"-4", "-6"} {
		if s := ns.Run(t, "ip", fam, "rule", "show"); strings.Contains(s, "7701") || strings.Contains(s, "7702") {
			out = append(out, "rules: "+s)
		}
	}
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if s := ns.Run(t, ipt, "-t", "nat", "-S"); strings.Contains(s, "mptcp-host") {
			out = append(out, ipt+": "+s)
		}
	}
	return out
}

// noLeftovers waits for the devices to go (the kernel removes a TUN
// device once its last file is closed) and checks that nothing is left.
func noLeftovers(t *testing.T, ns lab.Netns, after string) {
	t.Helper()
	lab.WaitFor(t, 10*time.Second, "nothing left after "+after, func() (bool, string) {
		l := leftovers(t, ns)
		return len(l) == 0, fmt.Sprintf("%q", l)
	})
}

// TestKernelClients: the README's program serves net/http on a host with
// two uplinks (a namespace), and the kernel's MPTCP client (curl under
// mptcpize) downloads from it over IPv4 and IPv6, with a second subflow
// over the second uplink. Closing removes everything; a killed server's
// leftovers are swept by the next start.
func TestKernelClients(t *testing.T) {
	lab.RequireMPTCP(t)
	for _, tool := range []string{"mptcpize", "curl", "iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (.ci/run installs it)", tool)
		}
	}
	cli, srv := lab.TempNetns(t, "h12cli"), lab.TempNetns(t, "h12srv")
	for i := 1; i <= 2; i++ {
		lab.Veth(t, cli, fmt.Sprintf("c%d", i), fmt.Sprintf("10.1.%d.1/24", i), srv, fmt.Sprintf("s%d", i), fmt.Sprintf("10.1.%d.2/24", i))
		cli.Run(t, "ip", "-6", "addr", "add", fmt.Sprintf("fd01:%d::1/64", i), "dev", fmt.Sprintf("c%d", i), "nodad")
		srv.Run(t, "ip", "-6", "addr", "add", fmt.Sprintf("fd01:%d::2/64", i), "dev", fmt.Sprintf("s%d", i), "nodad")
	}
	// The client is multihomed as the kernel's MPTCP documentation
	// advises: what leaves from its second address takes its second
	// interface (a policy rule), and that address is a subflow endpoint,
	// so its kernel opens a second subflow to the server's address, which
	// reaches the server's second uplink.
	cli.Run(t, "ip", "mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "0")
	for _, c := range []struct{ fam, addr, gw string }{{"-4", "10.1.2.1", "10.1.2.2"}, {"-6", "fd01:2::1", "fd01:2::2"}} {
		cli.Run(t, "ip", c.fam, "rule", "add", "from", c.addr, "table", "2")
		cli.Run(t, "ip", c.fam, "route", "add", "default", "via", c.gw, "dev", "c2", "table", "2")
		cli.Run(t, "ip", "mptcp", "endpoint", "add", c.addr, "subflow")
	}

	s := startServer(t, srv)
	for _, url := range []string{"http://10.1.1.2:8080/", "http://[fd01:1::2]:8080/"} {
		joins := counter(t, cli, "MPJoinSynAckRx")
		var out string
		for try := 1; ; try++ {
			var err error
			out, err = cli.Exec("mptcpize", "run", "curl", "-sS", "--max-time", "30", "-o", "/dev/null", "-w", "%{size_download}", url)
			if err == nil {
				break
			}
			// Known, open (issue 21): on a heavily loaded machine, now and
			// then (1 run in ~30 with four copies of this test and two CPU
			// hogs), the kernel client stops taking data: everything our
			// server sent is acknowledged by the subflows but not at the
			// connection level, and megabytes sit in the client's subflow
			// receive queues. One retry, with the evidence logged; a
			// second failure fails the test.
			ss, _ := cli.Exec("ss", "-tMmnie")
			nstat, _ := cli.Exec("nstat", "-asz", "MPTcp*")
			msg := fmt.Sprintf("curl %s: %v: %s\nclient sockets:\n%s\nclient counters:\n%s\nserver:\n%s", url, err, out, ss, nstat, s.diagnose())
			if try == 2 {
				t.Fatal(msg)
			}
			t.Logf("KNOWN OPEN BUG, retrying once: %s", msg)
		}
		if strings.TrimSpace(out) != strconv.Itoa(bodySize) {
			t.Fatalf("curl %s downloaded %s bytes, want %d", url, out, bodySize)
		}
		if got := counter(t, cli, "MPJoinSynAckRx") - joins; got < 1 {
			t.Errorf("curl %s: no second subflow (MPJoinSynAckRx +%d; MPJoinSynTx %d, MPJoinSynTxConnectErr %d)", url, got,
				counter(t, cli, "MPJoinSynTx"), counter(t, cli, "MPJoinSynTxConnectErr"))
		}
		if counter(t, cli, "MPCapableFallbackSYNACK") != 0 {
			t.Errorf("curl %s fell back to TCP", url)
		}
	}
	// An uplink that goes down takes its path's addresses from the
	// stack; they come back with it.
	addrs := func() string {
		out, _ := cli.Exec("curl", "-sS", "--max-time", "5", "http://10.1.1.2:8080/addrs")
		return out
	}
	srv.Run(t, "ip", "link", "set", "s2", "down")
	lab.WaitFor(t, 20*time.Second, "10.77.2.2 gone with s2", func() (bool, string) {
		a := addrs()
		return strings.Contains(a, "10.77.1.2") && !strings.Contains(a, "10.77.2.2"), a
	})
	srv.Run(t, "ip", "link", "set", "s2", "up")
	lab.WaitFor(t, 20*time.Second, "10.77.2.2 back with s2", func() (bool, string) {
		a := addrs()
		return strings.Contains(a, "10.77.2.2"), a
	})
	// A second host of the same name in the namespace is refused while
	// the first runs (its sweep would take the first's set-up away).
	second := srv.Command(os.Args[0], "-test.run=^$")
	second.Env = append(os.Environ(), serveEnv+"=1")
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "another process runs a host") {
		t.Errorf("second host of the same name: %v: %s", err, out)
	}

	s.stop(t)
	noLeftovers(t, srv, "Close")

	// A crash leaves everything behind; the next start sweeps it.
	s = startServer(t, srv)
	s.cmd.Process.Kill()
	s.cmd.Wait()
	if len(leftovers(t, srv)) == 0 {
		t.Fatal("a killed server left nothing: the sweep is not tested")
	}
	s = startServer(t, srv)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := cli.Exec("mptcpize", "run", "curl", "-sS", "--max-time", "30", "-o", "/dev/null", "-w", "%{size_download}", "http://10.1.2.2:8080/")
		if err == nil && strings.TrimSpace(out) == strconv.Itoa(bodySize) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the sweep: curl: %v: %s", err, out)
		}
	}
	s.stop(t)
	noLeftovers(t, srv, "Close after a sweep")
}
