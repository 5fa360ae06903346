package drill

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir locates the upstream scripts: $MPTCP_PACKETDRILL, or
// ../shared/packetdrill from the repository root.
func sharedDir(t *testing.T) string {
	t.Helper()
	d := UpstreamDir()
	if d == "" {
		t.Skip("upstream packetdrill scripts not found: set MPTCP_PACKETDRILL or place them in ../shared/packetdrill beside the repository")
	}
	return d
}

func TestParseUpstream(t *testing.T) {
	dir := sharedDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pkt"))
	if len(files) == 0 {
		t.Skip("no scripts in " + dir)
	}
	for _, f := range files {
		s, err := ParseFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(s.Events) == 0 {
			t.Errorf("%s: no events", f)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		text        string
		unsupported bool
	}{
		{"+0 < S 0:0(0) win 10 <md5 abcd>", true},
		{"+0 < udp (10)", true},
		{"0.1~0.2 > S 0:0(0)", true},
		{"+0 < S 0:1(0)", false},
		{"+0 write(3, ..., 10", false},
		{"+0 < S 0:0(0) <dss dack4=>", false},
	} {
		_, err := Parse(c.text)
		var u *UnsupportedError
		if err == nil || (c.unsupported != asUnsupported(err, &u)) {
			t.Errorf("%q: got %v, want unsupported=%v", c.text, err, c.unsupported)
		}
	}
	if _, err := os.Stat("/nonexistent"); err == nil {
		t.Fatal("unexpected")
	}
}
