package main

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// walk calls f with the path of every command in the tree below root.
func walk(c *Command, path []string, f func(c *Command, path []string)) {
	for _, s := range c.subs {
		p := append(append([]string(nil), path...), s.Name)
		f(s, p)
		walk(s, p, f)
	}
}

// singleDashLong matches a long flag written with one dash ("-json") at
// the start of a help line: this tool writes --json.
var singleDashLong = regexp.MustCompile(`(?m)^\s+-[A-Za-z][-A-Za-z]+\b`)

func TestEveryCommandHasHelp(t *testing.T) {
	walk(root, nil, func(c *Command, path []string) {
		for _, args := range [][]string{append([]string{"help"}, path...), append(path, "--help"), append(path, "-h")} {
			code, out, errOut := runCmd(args...)
			if code != 0 || errOut != "" {
				t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
			}
			if want := "Usage: mptcp " + strings.Join(path, " "); !strings.HasPrefix(out, want) {
				t.Errorf("%q: help starts %q, want %q", args, firstLine(out), want)
			}
			if m := singleDashLong.FindString(out); m != "" {
				t.Errorf("%q: help writes a long flag with one dash: %q", args, m)
			}
		}
		if c.Short == "" {
			t.Errorf("%q has no summary line", path)
		}
	})
}

func TestBadFlagIsOneLine(t *testing.T) {
	walk(root, nil, func(c *Command, path []string) {
		if c.Run == nil || c.LinuxOnly && hostOS != "linux" {
			return
		}
		args := append(path, "--no-such-flag")
		code, out, errOut := runCmd(args...)
		want := "mptcp " + strings.Join(path, " ") + ": flag provided but not defined: --no-such-flag; run \"mptcp " + strings.Join(path, " ") + " --help\" for usage\n"
		if code != 2 || out != "" || errOut != want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, out, errOut, want)
		}
	})
}

func TestRootUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // prefix
		stderr string // exact
	}{
		{nil, 2, "", ""},
		{[]string{"--help"}, 0, "Usage: mptcp <command>", ""},
		{[]string{"help"}, 0, "Usage: mptcp <command>", ""},
		{[]string{"--version"}, 0, "mptcp ", ""},
		{[]string{"version"}, 0, "mptcp ", ""},
		{[]string{"version", "x"}, 2, "", "mptcp version: takes no arguments\n"},
		{[]string{"frob"}, 2, "", "mptcp: unknown command \"frob\" (want " + root.subNames() + "); run \"mptcp --help\"\n"},
		{[]string{"help", "frob"}, 2, "", "mptcp: no command \"frob\"; run \"mptcp --help\" for the list\n"},
		{[]string{"help", "sim"}, 0, "Usage: mptcp sim [flags] [SCENARIO]", ""},
		{[]string{"--frob"}, 2, "", "mptcp: flag --frob before the command (" + root.subNames() + "); run \"mptcp --help\"\n"},
	} {
		code, out, errOut := runCmd(tc.args...)
		if tc.args == nil {
			// No command: the usage, on stderr.
			if code != 2 || !strings.HasPrefix(errOut, "Usage: mptcp") {
				t.Errorf("no arguments: exit %d, stderr %q", code, errOut)
			}
			continue
		}
		if code != tc.code || !strings.HasPrefix(out, tc.stdout) || errOut != tc.stderr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q..., stderr %q", tc.args, code, firstLine(out), errOut, tc.code, tc.stdout, tc.stderr)
		}
	}
	_, out, _ := runCmd("--version")
	if !strings.Contains(out, runtime.Version()) || strings.Count(out, "\n") != 1 {
		t.Errorf("--version printed %q", out)
	}
}

// TestGroupDefault checks that a group with a default runs it, flags
// included: "mptcp pm limits --json" is "mptcp pm limits show --json".
func TestGroupDefault(t *testing.T) {
	c, rest := root.Find([]string{"pm", "limits", "--json"})
	if c != cmdPMLimits || len(rest) != 1 || c.lookup(c.Default) != cmdPMLimitsShow {
		t.Errorf("Find: %v %q", c.Path(), rest)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestLinuxOnlyElsewhere checks that on another system every Linux-only
// command, and every command below one, says so in one line and exits 1,
// while its help still works.
func TestLinuxOnlyElsewhere(t *testing.T) {
	old := hostOS
	hostOS = "darwin"
	defer func() { hostOS = old }()
	n := 0
	walk(root, nil, func(c *Command, path []string) {
		if !c.LinuxOnly {
			return
		}
		n++
		code, out, errOut := runCmd(path...)
		// A group names the default it would run: "mptcp pm limits show: ...".
		want := "mptcp " + strings.Join(path, " ")
		if code != 1 || out != "" || !strings.HasPrefix(errOut, want) || !strings.Contains(errOut, ": runs only on Linux") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q elsewhere: exit %d, stdout %q, stderr %q; want exit 1 and one line %q...: runs only on Linux", path, code, out, errOut, want)
		}
		if code, out, _ := runCmd(append(path, "--help")...); code != 0 || !strings.Contains(out, "runs only on Linux") {
			t.Errorf("%q --help elsewhere: exit %d, does not say it runs only on Linux:\n%s", path, code, out)
		}
	})
	if n == 0 {
		t.Fatal("no command is marked LinuxOnly")
	}
}
