//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"golang.org/x/sys/unix"
)

// TestEmuErrors checks that bad invocations get one line naming what is
// wrong and a non-zero exit, before anything is built.
func TestEmuErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("paths:\n  - rate: 20Mbt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"emu"}, 2, "missing command"},
		{[]string{"emu", "fly"}, 2, `unknown command "fly"`},
		{[]string{"emu", "run"}, 2, "want one scenario"},
		{[]string{"emu", "run", "aggregate", "handover"}, 2, "want one scenario"},
		{[]string{"emu", "run", "aggregate", "--bogus"}, 2, "flag provided but not defined: --bogus"},
		{[]string{"emu", "run", "nosuchscenario"}, 2, `no built-in scenario "nosuchscenario"`},
		{[]string{"emu", "run", bad}, 1, `paths[0].rate: "20Mbt" is not a rate`},
		{[]string{"emu", "run", filepath.Join(dir, "missing.yaml")}, 1, "no such file"},
		{[]string{"emu", "run", "aggregate", "--io", "dpdk"}, 2, `--io: "dpdk" is not ring or mmsg`},
		{[]string{"emu", "run", "aggregate", "--sched", "rr"}, 2, `--sched: "rr"`},
		{[]string{"emu", "run", "aggregate", "--mtu", "100"}, 2, "--mtu 100"},
		{[]string{"emu", "accuracy", "--rates", "10Mbit,fast"}, 2, `--rates: "fast" is not a rate`},
		{[]string{"emu", "accuracy", "--probes", "0"}, 2, "must be positive"},
		{[]string{"emu", "accuracy", "extra"}, 2, `unexpected argument "extra"`},
	} {
		code, out, errOut := runCmd(tc.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		last := lines[len(lines)-1]
		if code != tc.code || !strings.Contains(last, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", tc.args, code, errOut, out, tc.code, tc.want)
		}
	}
}

// TestEmuNeedsRoot checks the one-line message without root.
func TestEmuNeedsRoot(t *testing.T) {
	geteuid = func() int { return 1000 }
	defer func() { geteuid = os.Geteuid }()
	for _, args := range [][]string{{"emu", "run", "aggregate"}, {"emu", "accuracy"}} {
		code, _, errOut := runCmd(args...)
		if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "needs root") {
			t.Errorf("%v without root: exit %d, %q", args, code, errOut)
		}
	}
}

// TestEmuRun runs a built-in scenario briefly and checks the JSON
// counters and that nothing is left behind.
func TestEmuRun(t *testing.T) {
	lab.Require(t)
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Skip("needs ethtool")
	}
	// Only this process's namespaces: other packages' tests make theirs
	// at the same time under the same prefix.
	mine := fmt.Sprintf("/run/netns/%s%d-*", lab.Prefix, os.Getpid())
	before, _ := filepath.Glob(mine)
	info := filepath.Join(t.TempDir(), "info.json")
	ran := make(chan struct{})
	infoErr := make(chan string, 1)
	go func() {
		// The info file appears once the network is up, and names it.
		for {
			if b, err := os.ReadFile(info); err == nil {
				var v struct {
					Client string `json:"client_netns"`
					Paths  []struct {
						ServerV4 string `json:"server_v4"`
					} `json:"paths"`
				}
				if json.Unmarshal(b, &v) != nil || !strings.HasPrefix(v.Client, lab.Prefix) || len(v.Paths) != 2 || v.Paths[1].ServerV4 != "10.2.1.2" {
					infoErr <- "info file: " + string(b)
				}
				close(infoErr)
				return
			}
			select {
			case <-ran:
				infoErr <- "no info file written"
				close(infoErr)
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	// In-process runs keep the test binary's own threads in the normal
	// class (--rt-process=false): they run other tests too.
	code, out, errOut := runCmd("emu", "run", "handover", "--duration", "1500ms", "--json", "--info", info, "--rt-process=false")
	close(ran)
	for e := range infoErr {
		t.Error(e)
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Scenario string `json:"scenario"`
		Paths    []struct {
			Name string `json:"name"`
			Up   struct {
				Forwarded uint64 `json:"forwarded"`
			} `json:"up"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Scenario != "handover" || len(res.Paths) != 2 || res.Paths[0].Name != "wifi" || res.Paths[0].Up.Forwarded == 0 {
		t.Errorf("unexpected result: %+v", res)
	}
	if _, err := os.Stat(info); err == nil {
		t.Error("info file left after exit")
	}
	after, _ := filepath.Glob(mine)
	if len(after) > len(before) {
		t.Errorf("namespaces left: before %v, after %v", before, after)
	}
	// The table form.
	code, out, errOut = runCmd("emu", "run", "aggregate", "--duration", "1200ms", "--interval", "500ms", "--rt-process=false")
	if code != 0 || !strings.Contains(out, "namespaces: client mlab") || !strings.Contains(out, "duration reached") || !strings.Contains(out, "cellular") {
		t.Errorf("exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
}

// emuExecEnv makes the test binary behave as the mptcp command, so that a
// test can run "mptcp emu run" as a process and signal it.
const emuExecEnv = "MPTCP_EMU_TEST_EXEC"

func init() {
	if os.Getenv(emuExecEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// TestEmuRunSignals checks that SIGINT and SIGTERM stop "mptcp emu run"
// cleanly: exit 0, and none of its namespaces left.
func TestEmuRunSignals(t *testing.T) {
	lab.Require(t)
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Skip("needs ethtool")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		info := filepath.Join(t.TempDir(), "info.json")
		var out, errOut bytes.Buffer
		cmd := exec.Command(exe, "emu", "run", "aggregate", "--duration", "-1s", "--interval", "0", "--info", info)
		cmd.Env = append(os.Environ(), emuExecEnv+"=1")
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Building the namespaces takes well under a second on a quiet
		// machine; the bound is for a loaded one. On failure the process
		// gets SIGTERM first, so that it removes what it built.
		up := false
		for range 6000 {
			if _, err := os.Stat(info); err == nil {
				up = true
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !up {
			cmd.Process.Signal(syscall.SIGTERM)
			stopped := make(chan error, 1)
			go func() { stopped <- cmd.Wait() }()
			select {
			case <-stopped:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-stopped
			}
			t.Fatalf("no network after 60 s: %s", errOut.String())
		}
		// A daemon the user started in the server namespace, as the
		// suggested iperf3 command does, must not outlive the run.
		daemon, daemonFD := startSleeper(t, info)
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil || !strings.Contains(out.String(), "interrupted") {
				t.Errorf("%v: %v; stdout %s; stderr %s", sig, err, out.String(), errOut.String())
			}
			if want := fmt.Sprintf("ended 1 process(es) still running in the namespaces: sleep (pid %d, in ", daemon); !strings.Contains(out.String(), want) {
				t.Errorf("%v: stdout does not say %q: %s", sig, want, out.String())
			}
			p := []unix.PollFd{{Fd: int32(daemonFD), Events: unix.POLLIN}}
			if n, _ := unix.Poll(p, 0); n != 1 {
				t.Errorf("%v: the daemon in the server namespace still runs", sig)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v: still running after 20 s", sig)
		}
		left, _ := filepath.Glob(fmt.Sprintf("/run/netns/%s%d-*", lab.Prefix, cmd.Process.Pid))
		if len(left) > 0 {
			t.Errorf("%v: namespaces left: %v", sig, left)
		}
	}
}

// startSleeper starts a detached "sleep 60" in the server namespace named
// by an "emu run --info" file, as a user's daemonized server would run,
// and returns its pid and a pidfd (closed, and the process killed if
// still there, when the test ends).
func startSleeper(t *testing.T, info string) (int, int) {
	t.Helper()
	b, err := os.ReadFile(info)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Server string `json:"server_netns"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	// Until it is sleep, it is the shell's fork or setsid.
	return lab.Netns(v.Server).StartDetached(t, func(pid int) bool { return lab.ProcessName(pid) == "sleep" }, "exec sleep 60")
}
