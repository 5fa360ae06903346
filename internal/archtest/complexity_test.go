package archtest

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var showComplexity = flag.Int("complexity.top", 0, "print the N most complex functions of each checked package")

// complexity is a function's cyclomatic complexity as gocyclo counts it:
// one, plus one for each if, for, range, non-default case or select
// clause, && and ||.
func complexity(fn *ast.FuncDecl) int {
	n := 1
	ast.Inspect(fn, func(node ast.Node) bool {
		switch x := node.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			n++
		case *ast.CaseClause:
			if x.List != nil {
				n++
			}
		case *ast.CommClause:
			if x.Comm != nil {
				n++
			}
		case *ast.BinaryExpr:
			if x.Op == token.LAND || x.Op == token.LOR {
				n++
			}
		}
		return true
	})
	return n
}

type funcComplexity struct {
	name string
	pos  token.Position
	n    int
}

// packageComplexity returns the complexity of every function in the
// non-test Go files of dir, most complex first.
func packageComplexity(t *testing.T, dir string) []funcComplexity {
	t.Helper()
	fset, files := parseSources(t, dir, 0)
	var out []funcComplexity
	for _, af := range files {
		for _, d := range af.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			name := fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) > 0 {
				name = fmt.Sprintf("(%s).%s", recvName(fn.Recv.List[0].Type), name)
			}
			out = append(out, funcComplexity{name: name, pos: fset.Position(fn.Pos()), n: complexity(fn)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n })
	return out
}

// parseSources parses the non-test Go files of dir with mode.
func parseSources(t *testing.T, dir string, mode parser.Mode) (*token.FileSet, []*ast.File) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, name, nil, mode)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, af)
	}
	return fset, files
}

func recvName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return "*" + recvName(x.X)
	case *ast.Ident:
		return x.Name
	case *ast.IndexExpr:
		return recvName(x.X)
	case *ast.IndexListExpr:
		return recvName(x.X)
	}
	return "?"
}

// TestComplexity keeps every function of the repository's code (tests
// aside) under a cyclomatic complexity of 30, the limit beyond which a
// function is hard to change without fear (gVisor's worst TCP function
// is 51).
func TestComplexity(t *testing.T) {
	const limit = 30
	for _, dir := range goDirs(t, repoRoot(t)) {
		fs := packageComplexity(t, dir)
		for i := 0; i < *showComplexity && i < len(fs); i++ {
			t.Logf("%3d %s %s:%d", fs[i].n, fs[i].name, filepath.Base(fs[i].pos.Filename), fs[i].pos.Line)
		}
		for _, f := range fs {
			if f.n >= limit {
				t.Errorf("%s: %s has cyclomatic complexity %d (limit %d): split it", f.pos, f.name, f.n, limit)
			}
		}
	}
}

// goDirs returns the directories under root that hold Go files, leaving
// out testdata and hidden directories.
func goDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".")) {
			return filepath.SkipDir
		}
		if m, _ := filepath.Glob(filepath.Join(path, "*.go")); len(m) > 0 {
			dirs = append(dirs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestCoreFileMap keeps core/doc.go's map of the package's files
// complete: every source file is named there.
func TestCoreFileMap(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "core")
	doc, err := os.ReadFile(filepath.Join(dir, "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasSuffix(name, "_test.go") || name == "doc.go" {
			continue
		}
		if !strings.Contains(string(doc), name) {
			t.Errorf("core/doc.go does not name %s in its file map", name)
		}
	}
}
