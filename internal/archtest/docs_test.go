package archtest

import (
	"go/ast"
	"go/parser"
	"testing"
)

// TestExportedDocs keeps a doc comment on every exported name of the
// repository's code (tests aside): types, functions, methods of exported
// types, constants and variables (a group's comment covers its members).
func TestExportedDocs(t *testing.T) {
	for _, dir := range goDirs(t, repoRoot(t)) {
		fset, files := parseSources(t, dir, parser.ParseComments)
		for _, af := range files {
			for _, d := range af.Decls {
				for _, name := range undocumented(d) {
					t.Errorf("%s: exported %s has no doc comment", fset.Position(name.Pos()), name.Name)
				}
			}
		}
	}
}

// undocumented returns the exported names d declares without a doc
// comment.
func undocumented(d ast.Decl) []*ast.Ident {
	var out []*ast.Ident
	switch x := d.(type) {
	case *ast.FuncDecl:
		if x.Name.IsExported() && x.Doc == nil && (x.Recv == nil || exportedRecv(x.Recv)) {
			out = append(out, x.Name)
		}
	case *ast.GenDecl:
		if x.Doc != nil {
			return nil
		}
		for _, sp := range x.Specs {
			switch s := sp.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() && s.Doc == nil {
					out = append(out, s.Name)
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.IsExported() && s.Doc == nil && s.Comment == nil {
						out = append(out, n)
					}
				}
			}
		}
	}
	return out
}
