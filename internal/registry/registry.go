// Package registry is the name-to-factory table that the policy packages
// (sched, cc, pm) share: policies register themselves by name from init
// functions, and users select them by name.
package registry

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Map holds the factories of one kind of policy. Its zero value is not
// usable: make one with New.
type Map[F any] struct {
	pkg string // prefixes panics and errors, e.g. "sched"
	mu  sync.RWMutex
	m   map[string]F
}

// New returns an empty Map whose messages name package pkg.
func New[F any](pkg string) *Map[F] {
	return &Map[F]{pkg: pkg, m: make(map[string]F)}
}

// Register adds f under name. It panics on an empty or duplicate name or a
// nil factory (isNil): programming errors, found when the program starts.
func (r *Map[F]) Register(name string, f F, isNil bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" || isNil {
		panic(r.pkg + ": Register with empty name or nil factory")
	}
	if _, dup := r.m[name]; dup {
		panic(r.pkg + ": Register called twice for " + name)
	}
	r.m[name] = f
}

// Lookup returns the factory registered under name.
func (r *Map[F]) Lookup(name string) (F, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.m[name]
	return f, ok
}

// Names returns the registered names and extra ones, sorted.
func (r *Map[F]) Names(extra ...string) []string {
	r.mu.RLock()
	names := make([]string, 0, len(r.m)+len(extra))
	for n := range r.m {
		names = append(names, n)
	}
	r.mu.RUnlock()
	names = append(names, extra...)
	sort.Strings(names)
	return names
}

// Unknown returns the error for a name nothing registered: sentinel,
// wrapped, with the valid names listed in words, as a user reads them
// after a flag or a field name: `unknown scheduler "foo"; valid names are
// blest, default and ecf`. It names no package: the caller says where
// the name came from.
func (r *Map[F]) Unknown(sentinel error, name string, valid []string) error {
	return fmt.Errorf("%w %q; valid names are %s", sentinel, name, List(valid))
}

// List joins names in words: "a", "a and b", "a, b and c".
func List(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
