package drill

import (
	"path/filepath"
	"testing"
)

// TestOwnScripts runs the project's own scripts (testdata): regression
// tests of findings, each of which failed before its fix.
func TestOwnScripts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.pkt"))
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	for _, f := range files {
		if res := RunFile(f, Config{}); res.Status != Pass {
			t.Errorf("%v", res)
		}
	}
}
