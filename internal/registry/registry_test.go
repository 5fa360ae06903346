package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestMap(t *testing.T) {
	r := New[func() int]("test")
	r.Register("b", func() int { return 2 }, false)
	r.Register("a", func() int { return 1 }, false)
	if f, ok := r.Lookup("b"); !ok || f() != 2 {
		t.Fatal("lookup of b failed")
	}
	if _, ok := r.Lookup("c"); ok {
		t.Fatal("lookup of c succeeded")
	}
	if got := r.Names("z"); !slices.Equal(got, []string{"a", "b", "z"}) {
		t.Fatalf("names %v", got)
	}
	sentinel := errors.New("unknown thing")
	err := r.Unknown(sentinel, "c", r.Names())
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), `"c" (valid: a, b)`) {
		t.Fatalf("error %v", err)
	}
	for name, f := range map[string]func(){
		"duplicate": func() { r.Register("a", func() int { return 0 }, false) },
		"empty":     func() { r.Register("", func() int { return 0 }, false) },
		"nil":       func() { r.Register("n", nil, true) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
