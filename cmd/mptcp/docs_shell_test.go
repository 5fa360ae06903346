//go:build linux

package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// docCommand is an mptcp command line of a block that the test runs.
type docCommand struct {
	block docBlock
	args  []string
	// output is what the transcript shows the command print, nil if it
	// shows nothing; user is set for a command after a "$ " prompt.
	output []string
	user   bool
}

// shellBlock checks a sh block (every line a command) or a console block
// (a transcript: commands after a "$ " or "# " prompt, output between).
func (d *docCheck) shellBlock(t *testing.T, b docBlock, console bool) {
	if !console {
		d.shellLine(t, b, b.body)
		return
	}
	lines := strings.Split(strings.TrimSuffix(b.body, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !strings.HasPrefix(line, "$ ") && !strings.HasPrefix(line, "# ") {
			continue // output of no command shown: a transcript may start mid-way
		}
		sub := b
		sub.line += i
		cmd := line[2:]
		for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
			i++
			cmd += "\n" + lines[i]
		}
		var output []string
		for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "$ ") && !strings.HasPrefix(lines[i+1], "# ") {
			i++
			output = append(output, lines[i])
		}
		queued := len(d.runs)
		d.shellLine(t, sub, cmd)
		if n := len(d.runs); n > queued {
			d.runs[n-1].output = output // what the line's last mptcp command prints
			for j := queued; j < n; j++ {
				d.runs[j].user = line[0] == '$'
			}
		}
	}
}

// shellLine parses src as a shell program and checks each simple command.
func (d *docCheck) shellLine(t *testing.T, b docBlock, src string) {
	f, err := syntax.NewParser().Parse(strings.NewReader(src), b.String())
	if err != nil {
		t.Errorf("%s: shell syntax: %v", b, err)
		return
	}
	d.stmts(t, b, f.Stmts, nil)
}

// stmts walks the statements the docs use: simple commands, pipes and
// lists, and for loops over words, which it unrolls.
func (d *docCheck) stmts(t *testing.T, b docBlock, stmts []*syntax.Stmt, env []string) {
	for _, st := range stmts {
		at := b
		at.line += int(st.Pos().Line()) - 1
		switch c := st.Cmd.(type) {
		case *syntax.CallExpr:
			cfg := &expand.Config{Env: expand.ListEnviron(env...), NoUnset: true}
			argv, err := expand.Fields(cfg, c.Args...)
			if err != nil {
				t.Errorf("%s: %v", at, err)
				continue
			}
			if len(argv) > 0 {
				d.command(t, at, argv, st.Background)
			}
		case *syntax.BinaryCmd:
			d.stmts(t, b, []*syntax.Stmt{c.X, c.Y}, env)
		case *syntax.Block:
			d.stmts(t, b, c.Stmts, env)
		case *syntax.ForClause:
			it, ok := c.Loop.(*syntax.WordIter)
			if !ok {
				t.Errorf("%s: only for NAME in WORDS loops are checked", at)
				continue
			}
			for _, w := range it.Items {
				v, err := expand.Literal(&expand.Config{Env: expand.ListEnviron(env...)}, w)
				if err != nil {
					t.Errorf("%s: %v", at, err)
					continue
				}
				d.stmts(t, b, c.Do, append(slices.Clone(env), it.Name.Value+"="+v))
			}
		default:
			t.Errorf("%s: shell construct %T is not checked: write simple commands", at, c)
		}
	}
}

// command checks one command line: mptcp's are parsed with the command's
// own flag sets (and queued to run unless the block says otherwise), go
// test's name packages and tests that exist, other tools must be standard
// or installed by .ci/run.
func (d *docCheck) command(t *testing.T, b docBlock, argv []string, background bool) {
	switch {
	case argv[0] == "go" && len(argv) > 2 && argv[1] == "run" && argv[2] == "./cmd/mptcp":
		d.mptcp(t, b, argv[3:], background)
	case argv[0] == "go" && len(argv) > 1 && argv[1] == "test":
		d.goTest(t, b, argv[2:])
	case argv[0] == "go":
		t.Errorf("%s: %q: the test knows \"go run ./cmd/mptcp\" and \"go test\"", b, strings.Join(argv, " "))
	case filepath.Base(argv[0]) == "mptcp":
		d.mptcp(t, b, argv[1:], background)
	default:
		d.tool(t, b, argv)
	}
}

// mptcp parses an mptcp command line as the command does, without running
// it, and queues it to run when the block allows.
func (d *docCheck) mptcp(t *testing.T, b docBlock, args []string, background bool) {
	var stdout, stderr bytes.Buffer
	c, action, pos, status := resolve(root, args, &stdout, &stderr)
	if status != 0 {
		t.Errorf("%s: mptcp %s: does not parse: %s", b, strings.Join(args, " "), strings.TrimSpace(stderr.String()))
		return
	}
	if c.StopAtArgs && action != nil && len(pos) > 0 {
		d.tool(t, b, pos) // "mptcp run -- curl ...": curl must exist too
	}
	switch {
	case b.has("netns") && os.Geteuid() == 0:
		d.runs = append(d.runs, docCommand{block: b, args: args})
	case b.has("root") || b.has("long") || b.has("netns"):
		return
	case background:
		t.Errorf("%s: mptcp %s &: a block that runs cannot start a background command; mark it root or long", b, strings.Join(args, " "))
	default:
		d.runs = append(d.runs, docCommand{block: b, args: args})
	}
}

// standardTools are what every Linux system has (the shell's builtins,
// coreutils, grep); toolPackages are the Debian packages that .ci/run
// installs for the others.
var (
	standardTools = map[string]bool{
		"cat": true, "cd": true, "echo": true, "grep": true, "head": true, "kill": true, "ls": true,
		"mkdir": true, "printf": true, "rm": true, "sleep": true, "tail": true, "tee": true, "wait": true,
	}
	toolPackages = map[string]string{
		"ip": "iproute2", "ss": "iproute2", "iptables": "iptables", "ip6tables": "iptables",
		"iperf3": "iperf3", "mptcpize": "mptcpd", "tshark": "tshark", "curl": "curl",
		"ping": "iputils-ping", "sysctl": "procps", "ethtool": "ethtool", "setpriv": "util-linux",
		"python3": "python3",
	}
)

// tool checks that a program the docs run other than mptcp is standard or
// installed by CI; it never runs it. Wrappers are followed to the program
// they run.
func (d *docCheck) tool(t *testing.T, b docBlock, argv []string) {
	name := argv[0]
	switch {
	case name == "mptcpize" && len(argv) > 2 && argv[1] == "run":
		d.command(t, b, argv[2:], false)
	case name == "ip" && len(argv) > 4 && argv[1] == "netns" && argv[2] == "exec":
		d.command(t, b, argv[4:], false)
	}
	if standardTools[name] {
		return
	}
	pkg, ok := toolPackages[name]
	if !ok {
		t.Errorf("%s: %s is neither a standard tool nor one .ci/run installs (add it to the test's toolPackages and .ci/run)", b, name)
		return
	}
	if !d.ciPackages[pkg] {
		t.Errorf("%s: %s comes from Debian's %s, which .ci/run does not install", b, name, pkg)
	}
}

// ciPackages reads the Debian packages .ci/run installs.
func ciPackages(t *testing.T, repo string) map[string]bool {
	src, err := os.ReadFile(filepath.Join(repo, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*for p in ([^;]+); do`).FindSubmatch(src)
	if m == nil {
		t.Fatal(`.ci/run: no "for p in PACKAGES; do" line`)
	}
	pkgs := map[string]bool{}
	for _, p := range strings.Fields(string(m[1])) {
		pkgs[p] = true
	}
	return pkgs
}

// goTestValueFlags are go test's flags that take a value.
var goTestValueFlags = map[string]bool{
	"run": true, "bench": true, "fuzz": true, "list": true, "skip": true, "count": true,
	"benchtime": true, "fuzztime": true, "timeout": true, "cpu": true, "parallel": true,
	"coverprofile": true, "cpuprofile": true, "memprofile": true, "tags": true, "p": true,
}

// goTestBoolFlags are go test's flags that take none.
var goTestBoolFlags = map[string]bool{
	"v": true, "short": true, "benchmem": true, "race": true, "failfast": true, "cover": true, "json": true,
}

// goTest checks a "go test" line without running it: its packages exist,
// each alternative of its -run, -bench, -fuzz and -list patterns names a
// function of their tests, and its other flags are go test's or defined
// by the packages' tests.
func (d *docCheck) goTest(t *testing.T, b docBlock, args []string) {
	var pkgs []string
	flags := map[string]string{}
	var custom []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			pkgs = append(pkgs, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case goTestBoolFlags[name]:
		case goTestValueFlags[name]:
			if !hasVal {
				if i+1 >= len(args) {
					t.Errorf("%s: go test %s: no value", b, a)
					return
				}
				i++
				val = args[i]
			}
			flags[name] = val
		default:
			custom = append(custom, name)
		}
	}
	if len(pkgs) == 0 {
		pkgs = []string{"."}
	}
	var funcs []string
	var testSrc strings.Builder
	for _, p := range pkgs {
		dir, all := strings.CutSuffix(p, "/...")
		if !strings.HasPrefix(dir, ".") {
			t.Errorf("%s: go test %s: write packages as ./path", b, p)
			continue
		}
		names, src, err := testFuncs(filepath.Join(d.repo, dir), all)
		if err != nil {
			t.Errorf("%s: go test %s: %v", b, p, err)
			continue
		}
		funcs = append(funcs, names...)
		testSrc.WriteString(src)
	}
	for _, c := range custom {
		if !strings.Contains(testSrc.String(), strconv.Quote(c)) {
			t.Errorf("%s: go test -%s: neither a go test flag nor one the packages' tests define", b, c)
		}
	}
	_, bench := flags["bench"]
	_, fuzz := flags["fuzz"]
	for _, f := range []struct{ flag, prefix string }{{"run", "Test|Example"}, {"bench", "Benchmark"}, {"fuzz", "Fuzz"}, {"list", "Test|Example|Benchmark|Fuzz"}} {
		pat, ok := flags[f.flag]
		if !ok || f.flag == "run" && (bench || fuzz) {
			continue // with -bench or -fuzz, -run only keeps the tests out
		}
		for _, alt := range topAlternatives(pat) {
			re, err := regexp.Compile(alt)
			if err != nil {
				t.Errorf("%s: go test -%s %q: %v", b, f.flag, pat, err)
				continue
			}
			kind := regexp.MustCompile("^(" + f.prefix + ")")
			if !slices.ContainsFunc(funcs, func(fn string) bool { return kind.MatchString(fn) && re.MatchString(fn) }) {
				t.Errorf("%s: go test -%s: %q matches no function of %s", b, f.flag, alt, strings.Join(pkgs, " "))
			}
		}
	}
}

// topAlternatives splits a go test pattern at its top-level "|", first
// cutting it at its first top-level "/" (go test's subtest separator).
func topAlternatives(pat string) []string {
	var alts []string
	depth, start := 0, 0
	for i, r := range pat {
		switch r {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case '/':
			if depth == 0 {
				return append(alts, pat[start:i])
			}
		case '|':
			if depth == 0 {
				alts = append(alts, pat[start:i])
				start = i + 1
			}
		}
	}
	return append(alts, pat[start:])
}

// testFuncs lists the test, benchmark, fuzz and example functions of the
// _test.go files in dir (and below it when all), with those files' text.
func testFuncs(dir string, all bool) ([]string, string, error) {
	var names []string
	var src strings.Builder
	found := false
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path != dir && (!all || e.Name() == "testdata" || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		found = true
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src.Write(data)
		f, err := parser.ParseFile(token.NewFileSet(), path, data, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil {
				names = append(names, fn.Name.Name)
			}
		}
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("no Go package in %s", dir)
	}
	return names, src.String(), err
}

// docSandbox is the directory documented commands run in: it links every
// entry of the checkout, so that paths such as docs/research/olia.yaml
// resolve, and takes the files the commands write.
func docSandbox(t *testing.T, repo string) string {
	dir := t.TempDir()
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		if err := os.Symlink(filepath.Join(repo, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
