package scenario

import (
	"errors"
	"strings"
	"testing"
)

// TestSimulable: a path or competitor without rate or delay would make the
// simulator spin (issue 19, point 1); it is refused with a one-line error
// naming the field, and every built-in passes.
func TestSimulable(t *testing.T) {
	for name, c := range map[string]struct{ file, want string }{
		"path":       {"paths:\n  - name: a\n", "paths[0]: the simulator needs a rate or a delay"},
		"up":         {"paths:\n  - rate: 1Mbit\n    up:\n      rate: 0\n", "paths[0].up: the simulator needs"},
		"competitor": {"paths:\n  - rate: 1Mbit\ncompetitors:\n  - name: c\n", "competitors[0]: the simulator needs"},
	} {
		s, err := Parse([]byte(c.file))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err = s.Simulable()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	for _, n := range BuiltinNames() {
		s, err := Builtin(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Simulable(); err != nil {
			t.Errorf("built-in %s: %v", n, err)
		}
	}
	if s, _ := Parse([]byte("paths:\n  - delay: 1ms\n")); s.Simulable() != nil {
		t.Error("a path with a delay only is refused")
	}
}
