//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// runCommands runs the queued mptcp command lines, in the order the docs
// give them (a later line may read a file an earlier one wrote): in
// process with the sandbox as working directory, or, for a block marked
// netns, in a network namespace made for that block. It checks their exit
// status and, where the transcript shows it, their output.
func (d *docCheck) runCommands(t *testing.T) {
	t.Chdir(d.sandbox)
	t.Setenv("MPTCP_TEST_AS_MAIN", "1") // child processes (sweeps, netns) are this binary run as mptcp
	namespaces := map[string]lab.Netns{}
	for _, c := range d.runs {
		t.Logf("%s: mptcp %s", c.block, strings.Join(c.args, " ")) // streamed with -v: names a command that hangs
		start := time.Now()
		var code int
		var out string
		if c.block.has("netns") {
			key := fmt.Sprintf("%s:%d", c.block.file, c.block.start)
			if namespaces[key] == "" {
				namespaces[key] = d.blockNamespace(t, c.block)
			}
			code, out = runInNamespace(t, namespaces[key], c)
		} else {
			var stdout, stderr bytes.Buffer
			code = run(c.args, &stdout, &stderr)
			out = stdout.String() + stderr.String()
		}
		t.Logf("  exit %d in %v", code, time.Since(start).Round(time.Millisecond))
		switch fail := c.block.has("fail"); {
		case fail && code == 0:
			t.Errorf("%s: mptcp %s: exit 0, but the doc shows it failing", c.block, strings.Join(c.args, " "))
		case !fail && code != 0:
			t.Errorf("%s: mptcp %s: exit %d: %s", c.block, strings.Join(c.args, " "), code, lastLines(out, 3))
		}
		if c.output != nil && !matchOutput(c.output, out) {
			t.Errorf("%s: mptcp %s: the doc shows\n\t%s\nit prints\n\t%s", c.block, strings.Join(c.args, " "),
				strings.Join(c.output, "\n\t"), strings.ReplaceAll(strings.TrimRight(out, "\n"), "\n", "\n\t"))
		}
	}
}

// blockNamespace makes the namespace a netns block runs in, with a veth
// device for every device its commands name ("dev eth1").
func (d *docCheck) blockNamespace(t *testing.T, b docBlock) lab.Netns {
	ns := lab.TempNetns(t, "tdoc")
	made := map[string]bool{}
	for _, c := range d.runs {
		if c.block.file != b.file || c.block.start != b.start {
			continue
		}
		for i, a := range c.args[:max(len(c.args)-1, 0)] {
			if dev := c.args[i+1]; a == "dev" && !made[dev] {
				made[dev] = true
				ns.Run(t, "ip", "link", "add", dev, "type", "veth", "peer", "name", fmt.Sprintf("tdoc%d", len(made)))
			}
		}
	}
	return ns
}

// runInNamespace runs a command of a netns block in ns, as this test
// binary standing in for mptcp: after a "$ " prompt as an unprivileged
// user (setpriv), after "# " as root.
func runInNamespace(t *testing.T, ns lab.Netns, c docCommand) (int, string) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{"netns", "exec", ns.Name()}
	if c.user {
		argv = append(argv, "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all")
	}
	argv = append(append(argv, exe), c.args...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String() + stderr.String()
	case errors.As(err, &ee) && ctx.Err() == nil:
		return ee.ExitCode(), stdout.String() + stderr.String()
	}
	t.Fatalf("%s: ip %s: %v\n%s", c.block, strings.Join(argv, " "), err, stderr.String())
	return 0, ""
}

// matchOutput reports whether out is what a transcript shows: line for
// line, where a line "..." stands for any number of lines and "..."
// within a line for any text.
func matchOutput(want []string, out string) bool {
	var re strings.Builder
	re.WriteString(`\A`)
	for _, w := range want {
		if strings.TrimSpace(w) == "..." {
			re.WriteString(`(?:.*\n)*?`)
			continue
		}
		parts := strings.Split(w, "...")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re.WriteString(strings.Join(parts, `.*`) + `\n`)
	}
	re.WriteString(`\z`)
	got := strings.TrimRight(out, "\n") + "\n"
	return regexp.MustCompile(re.String()).MatchString(got)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
