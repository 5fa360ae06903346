package archtest

import (
	"bufio"
	"go/ast"
	"go/build"
	"go/parser"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/mptcp-go/mptcp"

// ourImports maps each package of the module (relative path, "." for the
// root) to the packages of the module its non-test files import on this
// system, sorted.
func ourImports(t *testing.T) map[string][]string {
	t.Helper()
	root := repoRoot(t)
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "docs") {
			return filepath.SkipDir
		}
		p, err := build.Default.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		var deps []string
		for _, imp := range p.Imports {
			if imp == module {
				deps = append(deps, ".")
			} else if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				deps = append(deps, r)
			}
		}
		slices.Sort(deps)
		out[rel] = deps
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isInternal(p string) bool { return p == "internal" || strings.HasPrefix(p, "internal/") }

// TestImportRules enforces the layering of docs/architecture.md.
func TestImportRules(t *testing.T) {
	allowed := map[string][]string{
		// The protocol and its policies: each imports only what lies below.
		"wire":  {},
		"cc":    {"internal/registry"},
		"sched": {"internal/registry"},
		"pm":    {"internal/registry"},
		"tcp":   {"cc", "internal/bufcache", "internal/heap", "wire"},
		"core":  {"cc", "internal/bufcache", "internal/heap", "pm", "sched", "tcp", "wire"},
	}
	for pkg, deps := range ourImports(t) {
		if want, ok := allowed[pkg]; ok {
			for _, d := range deps {
				if !slices.Contains(want, d) {
					t.Errorf("%s imports %s: it may import only %v of this module", pkg, d, want)
				}
			}
		}
		for _, d := range deps {
			if d == "cmd" || strings.HasPrefix(d, "cmd/") {
				t.Errorf("%s imports %s: nothing imports a command", pkg, d)
			}
			if pkg == "netsim" || strings.HasPrefix(pkg, "netsim/") {
				if slices.Contains([]string{".", "core", "tcp", "link/tun"}, d) {
					t.Errorf("%s imports %s: the simulator runs any stack through its Stack interface", pkg, d)
				}
			}
		}
	}
}

// TestArchitectureDoc keeps the table of docs/architecture.md equal to
// the module's imports: every package listed once, with exactly the
// packages of the module it imports.
func TestArchitectureDoc(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot(t), "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		pkg := strings.Trim(strings.TrimSpace(cells[1]), "`")
		var deps []string
		for _, d := range strings.Split(cells[2], ",") {
			if d = strings.Trim(strings.TrimSpace(d), "`"); d != "" && d != "—" {
				deps = append(deps, d)
			}
		}
		slices.Sort(deps)
		doc[pkg] = deps
	}
	got := ourImports(t)
	for pkg, deps := range got {
		want, ok := doc[pkg]
		if !ok {
			t.Errorf("docs/architecture.md does not list package %s (imports %v)", pkg, deps)
			continue
		}
		if !slices.Equal(want, deps) {
			t.Errorf("docs/architecture.md: %s imports %v, the table says %v", pkg, deps, want)
		}
	}
	for pkg := range doc {
		if _, ok := got[pkg]; !ok {
			t.Errorf("docs/architecture.md lists %s, which is no package", pkg)
		}
	}
}

// TestNoInternalTypesExposed: an exported declaration of a public package
// never names a type of an internal package (a user could not name it).
func TestNoInternalTypesExposed(t *testing.T) {
	root := repoRoot(t)
	for pkg := range ourImports(t) {
		if isInternal(pkg) || strings.HasPrefix(pkg, "cmd") {
			continue
		}
		fset, files := parseSources(t, filepath.Join(root, pkg), parser.SkipObjectResolution)
		for _, af := range files {
			internal := map[string]string{}
			for _, im := range af.Imports {
				path := strings.Trim(im.Path.Value, `"`)
				if r, ok := strings.CutPrefix(path, module+"/"); ok && isInternal(r) {
					name := filepath.Base(path)
					if im.Name != nil {
						name = im.Name.Name
					}
					internal[name] = path
				}
			}
			if len(internal) == 0 {
				continue
			}
			check := func(n ast.Node, what string) {
				ast.Inspect(n, func(x ast.Node) bool {
					if se, ok := x.(*ast.SelectorExpr); ok {
						if id, ok := se.X.(*ast.Ident); ok && internal[id.Name] != "" {
							t.Errorf("%s: exported %s names %s.%s of %s", fset.Position(se.Pos()), what, id.Name, se.Sel.Name, internal[id.Name])
						}
					}
					return true
				})
			}
			for _, d := range af.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Name.IsExported() && (d.Recv == nil || exportedRecv(d.Recv)) {
						check(d.Type, d.Name.Name)
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() && s.Assign == 0 {
								checkExportedType(s.Type, s.Name.Name, check)
							} else if s.Name.IsExported() {
								check(s.Type, s.Name.Name)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() && s.Type != nil {
									check(s.Type, n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
}

// exportedRecv reports whether a method's receiver is an exported type.
func exportedRecv(fl *ast.FieldList) bool {
	e := fl.List[0].Type
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X
	}
	switch x := e.(type) {
	case *ast.Ident:
		return x.IsExported()
	case *ast.IndexExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.IsExported()
	}
	return false
}

// checkExportedType checks the exported parts of a type declaration:
// exported struct fields, interface methods, or the whole type.
func checkExportedType(e ast.Expr, name string, check func(ast.Node, string)) {
	st, ok := e.(*ast.StructType)
	if !ok {
		check(e, name)
		return
	}
	for _, f := range st.Fields.List {
		exported := len(f.Names) == 0 // embedded: promoted fields and methods
		for _, n := range f.Names {
			exported = exported || n.IsExported()
		}
		if exported {
			check(f.Type, name+" field")
		}
	}
}

// TestBinaryWithoutTesting: the lab's helpers take a small interface, so
// package testing stays out of the mptcp binary.
func TestBinaryWithoutTesting(t *testing.T) {
	seen := map[string]bool{}
	var walk func(p string)
	walk = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		bp, err := build.Default.Import(p, repoRoot(t), 0)
		if err != nil {
			return
		}
		for _, imp := range bp.Imports {
			if imp == "testing" {
				t.Errorf("%s imports testing, which the mptcp binary then carries", p)
			}
			if strings.HasPrefix(imp, module) {
				walk(imp)
			}
		}
	}
	walk(module + "/cmd/mptcp")
}
