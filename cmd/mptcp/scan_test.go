//go:build linux

package main

import (
	"bytes"
	"flag"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mptcp-go/mptcp/scan"
)

// TestScanBadArguments checks the one-line errors for malformed targets
// and flags; none needs privileges, since targets are checked before any
// socket is opened.
func TestScanBadArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"10.0.0.300"}, `bad target "10.0.0.300": not a valid IPv4 address`},
		{[]string{"192.0.2.1", "10.0.0.1:99999"}, `bad target "10.0.0.1:99999": bad port "99999"`},
		{[]string{"[2001:db8::1]:0"}, `bad target "[2001:db8::1]:0": port 0 cannot be probed`},
		{[]string{"10.0.0.0/33"}, `bad target "10.0.0.0/33": not a valid CIDR range`},
		{[]string{"10.0.0.0/8"}, `expands to 16777216 addresses, more than the limit of 65536 (raise --max-targets`},
		{[]string{"--max-targets", "4", "10.0.0.0/29"}, `expands to 8 addresses, more than the limit of 4`},
		{[]string{"-4", "2001:db8::1"}, `bad target "2001:db8::1": an IPv6 target in an IPv4-only scan`},
		{[]string{}, "no target given"},
		{[]string{"--ports", "80,0", "192.0.2.1"}, `--ports: bad port "0"`},
		{[]string{"--timeout", "0s", "192.0.2.1"}, "--timeout must be positive"},
		{[]string{"--max-ttl", "300", "192.0.2.1"}, "--max-ttl must be 1 to 255"},
		{[]string{"192.0.2.1", "--bogus"}, "flag provided but not defined: --bogus"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"scan"}, c.args...), &stdout, &stderr)
		msg := stderr.String()
		if code != 2 || !strings.Contains(msg, c.want) || stdout.Len() != 0 {
			t.Errorf("scan %q: exit %d, stderr %q; want exit 2 and %q", c.args, code, msg, c.want)
			continue
		}
		if strings.Count(msg, "\n") != 1 {
			t.Errorf("scan %q: error is not one line: %q", c.args, msg)
		}
	}
}

// TestScanInterspersedFlags checks that flags after targets are flags and
// that "--" ends them.
func TestScanInterspersedFlags(t *testing.T) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	j := fs.Bool("json", false, "")
	pos, err := parseInterspersed(fs, []string{"a", "--json", "b", "--", "--c"})
	if err != nil || !*j || strings.Join(pos, " ") != "a b --c" {
		t.Errorf("positional %q json %v err %v", pos, *j, err)
	}
}

// TestScanNoPrivilege runs the command without CAP_NET_RAW: it must say so
// in one line and exit 1. As root, it runs a copy of this test binary as
// user nobody; as another user it runs in process.
func TestScanNoPrivilege(t *testing.T) {
	if os.Getenv("MPTCP_SCAN_CHILD") == "1" {
		os.Exit(run([]string{"scan", "--retries", "0", "192.0.2.1:80"}, os.Stdout, os.Stderr))
	}
	var stderr bytes.Buffer
	code := 0
	if os.Geteuid() != 0 {
		if hasNetRaw(t) {
			t.Skip("this process has CAP_NET_RAW without being root: a scan would run, not fail")
		}
		code = run([]string{"scan", "192.0.2.1:80"}, io.Discard, &stderr)
	} else {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "mptcp-scan-noprivs")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "mptcp.test")
		data, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run=^TestScanNoPrivilege$")
		cmd.Env = append(os.Environ(), "MPTCP_SCAN_CHILD=1")
		cmd.Dir = dir
		cmd.Stderr = &stderr
		// User and group nobody: no capabilities at all.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		err = cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
	}
	msg := stderr.String()
	if code != 1 || !strings.Contains(msg, "raw sockets need root or CAP_NET_RAW") || strings.Count(msg, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit 1 and one line saying raw sockets need root or CAP_NET_RAW", code, msg)
	}
}

// TestScanProgressLine checks that the progress line is drawn only on a
// terminal and is cleared before each result is printed.
func TestScanProgressLine(t *testing.T) {
	targets := []scan.Target{{Addr: netip.MustParseAddr("192.0.2.1"), Port: 80}, {Addr: netip.MustParseAddr("192.0.2.2"), Port: 80}}
	for _, tty := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		o := newScanOutput(&stdout, &stderr, targets, false)
		o.tty = tty
		o.result(scan.Result{Target: targets[0], Verdict: scan.VerdictClosed, Reason: "RST"})
		o.progress(1, 2, "closed")
		o.result(scan.Result{Target: targets[1], Verdict: scan.VerdictFiltered, Reason: "no answer to 3 SYNs"})
		o.progress(2, 2, "filtered")
		o.finish()
		want := ""
		if tty {
			want = "\r\x1b[Kscanned 1/2: 1 closed\r\x1b[K\r\x1b[Kscanned 2/2: 1 closed, 1 filtered\r\x1b[K"
		}
		if stderr.String() != want {
			t.Errorf("tty=%v: stderr %q, want %q", tty, stderr.String(), want)
		}
		if !strings.Contains(stdout.String(), "192.0.2.2     80  filtered   -       no answer to 3 SYNs\n2 of 2 targets: 1 closed, 1 filtered\n") {
			t.Errorf("tty=%v: stdout %q", tty, stdout.String())
		}
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer taken for a terminal")
	}
}

// hasNetRaw reports whether CAP_NET_RAW (bit 13) is in this process's
// effective capability set.
func hasNetRaw(t *testing.T) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("cannot read capabilities: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<13) != 0
		}
	}
	return false
}
