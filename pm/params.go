package pm

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrParam is returned, wrapped, by New for a malformed or unknown
// parameter in a path manager's name.
var ErrParam = errors.New("bad path manager parameter")

// Params are the parameters a path manager takes with its name, so that a
// name alone (core.Config.PathManager, a scenario's pm key, mptcp sim
// --pm) selects a configured path manager:
//
//	ndiffports            the default: 2 subflows in all
//	ndiffports:4          a bare value is the path manager's main parameter
//	ndiffports:subflows=4
//	kernel:subflows=4,add_addr_accepted=2
//
// Keys are given as written; a bare value has the key "". Each path
// manager documents its keys and rejects those it does not know.
type Params map[string]string

// ParamFactory makes the Factory of a path manager configured by p (nil
// when the name had no parameters). A Set calls it once per distinct
// name: the Factory it returns serves every connection of that Set (one
// stack), so state it shares across connections (counters) is the
// stack's, never the process's.
type ParamFactory func(p Params) (Factory, error)

var params struct {
	sync.Mutex
	m map[string]ParamFactory
}

// Set resolves path-manager names for one stack. A name with parameters
// is built once per Set, so the connections of a stack that chose
// "kernel:subflows=4" share one Kernel and its counters, and two stacks
// in one process (a simulated client and server) never do. The zero Set
// is ready to use; a Set is used from one goroutine, as its stack is.
type Set struct {
	built map[string]Factory // by full name, parameters included
}

// New returns a new path manager of the named kind for a connection of
// the Set's stack, as package-level New does.
func (s *Set) New(name string) (PathManager, error) {
	if name == "" {
		name = Default
	}
	if f := s.built[name]; f != nil {
		return f(), nil
	}
	f, ok, err := lookupParams(name)
	if !ok {
		return New(name)
	}
	if err != nil {
		return nil, err
	}
	if s.built == nil {
		s.built = make(map[string]Factory)
	}
	s.built[name] = f
	return f(), nil
}

// Kernel returns the Kernel behind a name such as "kernel" or
// "kernel:subflows=4" once a connection of the Set used it, for its
// counters; nil otherwise.
func (s *Set) Kernel(name string) *Kernel {
	f := s.built[name]
	if f == nil {
		return nil
	}
	if kp, ok := f().(*kernelPM); ok {
		return kp.k
	}
	return nil
}

// RegisterParams makes a path manager that takes parameters available by
// name. It panics on an empty or malformed name, a nil factory or a name
// registered before, as Register does.
func RegisterParams(name string, f ParamFactory) {
	if name == "" || f == nil || strings.ContainsAny(name, ":,=") {
		panic("pm: RegisterParams with empty or malformed name or nil factory")
	}
	_, dup := registry.Lookup(name)
	params.Lock()
	defer params.Unlock()
	if _, again := params.m[name]; dup || again {
		panic("pm: RegisterParams called twice for " + name)
	}
	if params.m == nil {
		params.m = make(map[string]ParamFactory)
	}
	params.m[name] = f
}

// lookupParams builds the factory of spec if its base name was
// registered with RegisterParams; ok is false otherwise (and for specs
// New should treat as plain names).
func lookupParams(spec string) (f Factory, ok bool, err error) {
	base, rest, hasParams := strings.Cut(spec, ":")
	params.Lock()
	defer params.Unlock()
	pf := params.m[base]
	if pf == nil {
		if !hasParams {
			return nil, false, nil
		}
		if _, plain := registry.Lookup(base); plain {
			return nil, true, fmt.Errorf("pm: %w: %s takes no parameters", ErrParam, base)
		}
		return nil, true, registry.Unknown(ErrUnknown, base, namesLocked())
	}
	var p Params
	if hasParams {
		if p, err = parseParams(rest); err != nil {
			return nil, true, fmt.Errorf("pm: %s: %w", spec, err)
		}
	}
	f, err = pf(p)
	if err != nil {
		return nil, true, fmt.Errorf("pm: %s: %w", spec, err)
	}
	return f, true, nil
}

// namesLocked lists every registered name; params is locked.
func namesLocked() []string {
	extra := make([]string, 0, len(params.m))
	for n := range params.m {
		extra = append(extra, n)
	}
	return registry.Names(extra...)
}

func paramNames() []string {
	params.Lock()
	defer params.Unlock()
	out := make([]string, 0, len(params.m))
	for n := range params.m {
		out = append(out, n)
	}
	return out
}

func paramRegistered(name string) bool {
	params.Lock()
	defer params.Unlock()
	_, ok := params.m[name]
	return ok
}

// parseParams parses "k=v,k=v" (a bare "v" has key "").
func parseParams(s string) (Params, error) {
	p := Params{}
	if s == "" {
		return nil, fmt.Errorf("%w: empty parameter list after ':'", ErrParam)
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, eq := strings.Cut(kv, "=")
		if !eq {
			k, v = "", kv
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if v == "" {
			return nil, fmt.Errorf("%w: %q has no value", ErrParam, kv)
		}
		if _, dup := p[k]; dup {
			return nil, fmt.Errorf("%w: %q given twice", ErrParam, kv)
		}
		p[k] = v
	}
	return p, nil
}

// Int returns parameter key as an integer in [lo, hi], def if absent.
func (p Params) Int(key string, def, lo, hi int) (int, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		name := key
		if name == "" {
			name = "value"
		}
		return 0, fmt.Errorf("%w: %s %q: want an integer from %d to %d", ErrParam, name, v, lo, hi)
	}
	return n, nil
}

// Check returns an error naming the first key of p not in known.
func (p Params) Check(known ...string) error {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ok := false
		for _, n := range known {
			ok = ok || k == n
		}
		if !ok {
			valid := make([]string, 0, len(known))
			for _, n := range known {
				if n != "" {
					valid = append(valid, n)
				}
			}
			return fmt.Errorf("%w: unknown key %q (valid: %s)", ErrParam, k, strings.Join(valid, ", "))
		}
	}
	return nil
}
