package archtest

import (
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the module's root directory (two levels above this package).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}
