package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestErrorsInWords holds the exact line a user reads for bad input
// (issue 19, point 11): the flag or field named, valid names listed in
// words, no package prefixes ("tcp: invalid argument: sched: ..."), and
// no Go slices.
func TestErrorsInWords(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := file("empty.yaml", "")
	huge := file("huge.yaml", "paths:\n  - rate: 1e30bit\n")
	badSched := file("sched.yaml", "paths:\n  - rate: 10Mbit\n    delay: 10ms\nscheduler: foo\nduration: 1s\n")
	badCompCC := file("comp.yaml", "paths:\n  - rate: 10Mbit\n    delay: 10ms\ncompetitors:\n  - cc: foo\n    rate: 10Mbit\nduration: 1s\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim", "--scheduler", "foo"}, 2,
			`mptcp sim: --scheduler: unknown scheduler "foo"; valid names are blest, default, ecf, redundant and roundrobin`},
		{[]string{"sim", "--cc", "foo"}, 2,
			`mptcp sim: --cc: unknown congestion control "foo"; valid names are balia, cubic, lia, olia, reno and wvegas`},
		{[]string{"sim", "--pm", "foo"}, 2,
			`mptcp sim: --pm: unknown path manager "foo"; valid names are fullmesh, kernel, ndiffports and userspace`},
		{[]string{"sim", badSched}, 1,
			`mptcp sim: scheduler: unknown scheduler "foo"; valid names are blest, default, ecf, redundant and roundrobin`},
		{[]string{"sim", badCompCC}, 1,
			`mptcp sim: competitors[0].cc: unknown congestion control "foo"; valid names are balia, cubic, lia, olia, reno and wvegas`},
		{[]string{"sim", empty}, 1,
			"mptcp sim: " + empty + `: invalid scenario: the file holds no scenario (it is empty or only comments; "mptcp sim --show" prints an example)`},
		{[]string{"sim", huge}, 1,
			"mptcp sim: " + huge + `: invalid scenario: paths[0].rate: "1e30bit" is out of range: a rate is 0 (unlimited) to 1000Gbit`},
		// The plot's path is checked before the run: the scenario's bad
		// scheduler, found when the run starts, is not reached.
		{[]string{"sim", badSched, "--plot", filepath.Join(dir, "no", "such", "dir.svg")}, 1,
			"mptcp sim: --plot: open " + filepath.Join(dir, "no", "such", "dir.svg") + ": no such file or directory"},
	} {
		code, _, errOut := runCmd(c.args...)
		if code != c.code || errOut != c.want+"\n" {
			t.Errorf("%q:\n exit %d, stderr %q\n want exit %d, %q", c.args, code, errOut, c.code, c.want+"\n")
		}
	}
}
