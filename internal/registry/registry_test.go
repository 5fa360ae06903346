package registry

import (
	"errors"
	"slices"
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
	if !errors.Is(err, sentinel) || err.Error() != `unknown thing "c"; valid names are a and b` {
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

func TestList(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a and b"}, {[]string{"a", "b", "c"}, "a, b and c"}} {
		if got := List(c.in); got != c.want {
			t.Errorf("List(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
