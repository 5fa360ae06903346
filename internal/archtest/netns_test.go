package archtest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneNamespaceHelper keeps network namespaces in one package: only
// internal/lab creates them, so that every test's namespaces are named,
// swept after a killed run and removed the same way.
func TestOneNamespaceHelper(t *testing.T) {
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != root || rel == "internal/lab" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || rel == "internal/archtest/netns_test.go" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(src, []byte(`"netns", "add"`)) {
			t.Errorf("%s creates a network namespace itself: use internal/lab (TempNetns, NewNetns)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
