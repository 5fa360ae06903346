//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
	"gopkg.in/yaml.v3"

	"github.com/mptcp-go/mptcp/internal/pmdaemon"
	"github.com/mptcp-go/mptcp/internal/proxy"
	"github.com/mptcp-go/mptcp/scenario"
)

// TestDocs checks that the documentation tells the truth: every fenced
// block of README.md and docs/*.md is run, compiled or parsed as its info
// string says (the convention is in docs/architecture.md, "Documentation
// blocks"), and no link leaves the repository or points at a missing file.
// It runs on Linux, where every documented command exists.
func TestDocs(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(repo, "README.md")}
	docs, err := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	files = append(files, docs...)
	more, _ := filepath.Glob(filepath.Join(repo, "docs", "*", "*.md"))
	files = append(files, more...)

	d := &docCheck{repo: repo, sandbox: docSandbox(t, repo), ciPackages: ciPackages(t, repo)}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repo, f)
		t.Run(rel, func(t *testing.T) { d.file(t, rel, src) })
	}
	t.Run("layout", func(t *testing.T) { layoutTable(t, repo) })
	t.Run("compile", d.compileGo)
	t.Run("run", d.runCommands)
}

// docCheck holds what the blocks of all files need: the checkout, the
// directory commands run in, and the Go blocks gathered to compile at once.
type docCheck struct {
	repo       string
	sandbox    string
	ciPackages map[string]bool
	goFiles    []goFile
	runs       []docCommand
}

// docBlock is one fenced block: where it is and what its info string says.
type docBlock struct {
	file  string // relative to the repository
	start int    // line of the block's first content line
	line  int    // of the line being checked
	lang  string
	attrs []string
	body  string
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

func (b docBlock) has(attr string) bool { return slices.Contains(b.attrs, attr) }

// docAttrs are the words an info string may carry after its language.
var docAttrs = map[string]bool{
	"root": true, // needs root or changes the host: commands are parse-checked only
	"long": true, // runs for long: commands are parse-checked only
	"fail": true, // the transcript shows a failure: the command must exit non-zero
	// as root, commands run in a network namespace of their own (with a
	// veth device for every "dev NAME"); parse-checked only otherwise
	"netns": true,
	// a text block of command synopses: their commands and flags must exist
	"usage": true,
	// loaders for YAML blocks
	"scenario": true, "pm-daemon": true, "proxy": true,
}

var mdParser = goldmark.New(goldmark.WithExtensions(extension.Linkify, extension.Table)).Parser()

// file checks one markdown file's links and blocks.
func (d *docCheck) file(t *testing.T, rel string, src []byte) {
	doc := mdParser.Parse(text.NewReader(src))
	lineOf := func(offset int) int { return bytes.Count(src[:offset], []byte("\n")) + 1 }
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			d.link(t, rel, string(n.Destination))
		case *ast.Image:
			d.link(t, rel, string(n.Destination))
		case *ast.AutoLink:
			t.Errorf("%s: link outside the repository: %s", rel, n.URL(src))
		case *ast.CodeBlock:
			t.Errorf("%s:%d: indented code block: write it fenced, with a language", rel, lineOf(n.Lines().At(0).Start))
		case *ast.FencedCodeBlock:
			b := docBlock{file: rel}
			if n.Info != nil {
				info := strings.Fields(string(n.Info.Segment.Value(src)))
				if len(info) > 0 {
					b.lang, b.attrs = info[0], info[1:]
				}
			}
			var body strings.Builder
			for i := 0; i < n.Lines().Len(); i++ {
				seg := n.Lines().At(i)
				if i == 0 {
					b.start = lineOf(seg.Start)
					b.line = b.start
				}
				body.Write(seg.Value(src))
			}
			b.body = body.String()
			d.block(t, b)
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// urlScheme matches a link with a scheme (https:, mailto:): outside the
// repository.
var urlScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)

// link checks one link: inside the repository, to a file that exists.
func (d *docCheck) link(t *testing.T, rel, dest string) {
	if urlScheme.MatchString(dest) {
		t.Errorf("%s: link outside the repository: %s", rel, dest)
		return
	}
	dest, _, _ = strings.Cut(dest, "#")
	if dest == "" {
		return
	}
	target := filepath.Join(d.repo, filepath.Dir(rel), dest)
	if !strings.HasPrefix(target, d.repo+string(filepath.Separator)) {
		t.Errorf("%s: link %s leaves the repository", rel, dest)
		return
	}
	if _, err := os.Stat(target); err != nil {
		t.Errorf("%s: link to a missing file: %s", rel, dest)
	}
}

// block dispatches a block to the check its language names.
func (d *docCheck) block(t *testing.T, b docBlock) {
	for _, a := range b.attrs {
		if !docAttrs[a] && !strings.HasPrefix(a, "from=") {
			t.Errorf("%s: unknown word %q in the info string", b, a)
		}
	}
	switch b.lang {
	case "":
		t.Errorf("%s: fenced block without a language: name one (sh, console, go, yaml, json, ini, text)", b)
	case "text":
		// output, diagrams: read, not run
		if b.has("usage") {
			usageBlock(t, b)
		}
	case "go":
		d.goBlock(t, b)
	case "sh":
		d.shellBlock(t, b, false)
	case "console":
		d.shellBlock(t, b, true)
	case "yaml":
		d.yamlBlock(t, b)
	case "json":
		jsonBlock(t, b)
	case "ini":
		d.unitBlock(t, b)
	default:
		t.Errorf("%s: language %q: the test knows sh, console, go, yaml, json, ini and text", b, b.lang)
	}
}

// yamlBlock parses a YAML block, with the loader its info string names.
func (d *docCheck) yamlBlock(t *testing.T, b docBlock) {
	data := []byte(b.body)
	var err error
	switch {
	case b.has("scenario") && scenario.IsV2(data):
		_, err = scenario.ParseNet(data)
	case b.has("scenario"):
		_, err = scenario.Parse(data)
	case b.has("pm-daemon"):
		_, err = pmdaemon.ParseConfig(data)
	case b.has("proxy"):
		path := filepath.Join(t.TempDir(), "proxy.yaml")
		if err = os.WriteFile(path, data, 0o600); err == nil {
			_, err = proxy.LoadConfig(path)
		}
	default:
		var v any
		err = yaml.Unmarshal(data, &v)
	}
	if err != nil {
		t.Errorf("%s: %v", b, err)
	}
}

// jsonBlock checks that a JSON block is one JSON value or JSON lines.
func jsonBlock(t *testing.T, b docBlock) {
	if json.Valid([]byte(b.body)) {
		return
	}
	for i, line := range strings.Split(strings.TrimSpace(b.body), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("%s: line %d is not JSON: %.60s", b, i+1, line)
		}
	}
}

// unitBlock checks a systemd unit: the mptcp command lines it starts.
func (d *docCheck) unitBlock(t *testing.T, b docBlock) {
	for i, line := range strings.Split(b.body, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "Exec") {
			continue
		}
		v = strings.TrimLeft(v, "+-!@:") // systemd's prefixes
		sub := b
		sub.line += i
		sub.attrs = []string{"root"}
		d.shellLine(t, sub, v)
	}
}

// usageFlag matches a flag in a synopsis: "--name" or "-x" after a space,
// "[" or "|"; usageWord a command's name.
var (
	usageFlag = regexp.MustCompile(`(?:^|[\s\[|])--?([a-zA-Z][-a-zA-Z0-9]*)`)
	usageWord = regexp.MustCompile(`^[a-z][-a-z]*$`)
)

// usageBlock checks a block of synopses: on each line that starts with
// "mptcp", the words up to the first argument must name a command, and
// every flag written must be one of that command's.
func usageBlock(t *testing.T, b docBlock) {
	for i, line := range strings.Split(b.body, "\n") {
		words := strings.Fields(line)
		if len(words) == 0 || words[0] != "mptcp" {
			continue
		}
		at := b
		at.line += i
		n := 1
		for n < len(words) && usageWord.MatchString(words[n]) {
			n++
		}
		c, rest := root.Find(words[1:n])
		if len(rest) > 0 && c.Run == nil {
			t.Errorf("%s: %s: no command %q", at, c.Path(), rest[0])
			continue
		}
		if c.Run == nil {
			continue
		}
		fs := flag.NewFlagSet(c.Path(), flag.ContinueOnError)
		c.Run(fs)
		for _, m := range usageFlag.FindAllStringSubmatch(line, -1) {
			if fs.Lookup(m[1]) == nil {
				t.Errorf("%s: %s has no flag --%s", at, c.Path(), m[1])
			}
		}
	}
}

// layoutTable checks that README's layout table names every public
// package of the module (those outside internal/; the root package is
// the table's "root package" row).
func layoutTable(t *testing.T, repo string) {
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows strings.Builder
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `") {
			rows.WriteString(line + "\n")
		}
	}
	err = filepath.WalkDir(repo, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, path)
		if e.IsDir() {
			if name := e.Name(); rel == "internal" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir == "." || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if !strings.Contains(rows.String(), "`"+dir+"`") {
			t.Errorf("README.md: the layout table does not name package %s", dir)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
