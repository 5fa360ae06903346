package drill

import (
	"os"
	"testing"
)

// TestTrace runs the script named by DRILL_SCRIPT with a packet trace (a
// debugging aid; skipped without it).
func TestTrace(t *testing.T) {
	f := os.Getenv("DRILL_SCRIPT")
	if f == "" {
		t.Skip("set DRILL_SCRIPT to a script to trace")
	}
	res := RunFile(f, Config{Trace: os.Stdout})
	t.Log(res.String())
}
