//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goFile is a Go block to compile: a whole file of its own package.
type goFile struct {
	block docBlock
	dir   string
}

// goBlock checks a Go block: a whole file (it starts with its package
// clause) is compiled with the others; one marked from=PATH is an excerpt
// of that file of the repository, which the module's build compiles, and
// must appear in it line for line.
func (d *docCheck) goBlock(t *testing.T, b docBlock) {
	for _, a := range b.attrs {
		if path, ok := strings.CutPrefix(a, "from="); ok {
			src, err := os.ReadFile(filepath.Join(d.repo, path))
			if err != nil {
				t.Errorf("%s: %v", b, err)
				return
			}
			if !strings.Contains(trimLines(string(src)), trimLines(b.body)) {
				t.Errorf("%s: not an excerpt of %s: the block's lines are not in that file as written", b, path)
			}
			return
		}
	}
	if !strings.HasPrefix(skipComments(b.body), "package ") {
		t.Errorf("%s: a Go block is a whole file (from its package clause) or an excerpt marked from=PATH", b)
		return
	}
	d.goFiles = append(d.goFiles, goFile{block: b, dir: fmt.Sprintf("b%02d", len(d.goFiles))})
}

// skipComments drops the comment lines and blank lines a file may start with.
func skipComments(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\n")
		if !strings.HasPrefix(s, "//") {
			return s
		}
		_, s, _ = strings.Cut(s, "\n")
	}
}

// trimLines removes the trailing blanks of every line.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

// compileGo compiles every whole-file Go block, each a package of a
// scratch module that requires this one from the checkout, with one go vet
// (which type-checks, as the compiler does, and runs vet's checks).
func (d *docCheck) compileGo(t *testing.T) {
	if len(d.goFiles) == 0 {
		return
	}
	mod := t.TempDir()
	gomod := fmt.Sprintf("module doctest.invalid\n\ngo 1.26.0\n\nrequire github.com/mptcp-go/mptcp v0.0.0\n\nreplace github.com/mptcp-go/mptcp => %s\n", d.repo)
	sum, err := os.ReadFile(filepath.Join(d.repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(mod, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", gomod)
	write("go.sum", string(sum))
	for _, g := range d.goFiles {
		write(filepath.Join(g.dir, "doc.go"), g.block.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "vet", "./...")
	cmd.Dir = mod
	// Offline: the checkout's module cache has every dependency; -mod=mod
	// lets go fill in the scratch module's indirect requirements.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	msg := string(out)
	for _, g := range d.goFiles { // name the blocks, not the scratch files
		msg = strings.ReplaceAll(msg, g.dir+"/doc.go:", g.block.file+" block at line "+fmt.Sprint(g.block.line)+", line ")
	}
	t.Errorf("Go blocks do not compile (%v):\n%s", err, msg)
}
