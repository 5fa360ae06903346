package scenario

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// DefaultBuiltin is the scenario `mptcp sim` runs without arguments.
const DefaultBuiltin = "handover"

// Builtin returns the built-in scenario with the given name. The built-ins
// are ordinary scenario files, embedded from scenario/builtin, so each is
// also an example of the file format.
func Builtin(name string) (*Scenario, error) {
	data, err := builtinFS.ReadFile(path.Join("builtin", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("%w: no built-in scenario %q (built-ins: %s)", ErrInvalid, name, strings.Join(BuiltinNames(), ", "))
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("built-in scenario %s: %w", name, err)
	}
	return s, nil
}

// BuiltinFile returns the source of a built-in scenario.
func BuiltinFile(name string) ([]byte, bool) {
	data, err := builtinFS.ReadFile(path.Join("builtin", name+".yaml"))
	return data, err == nil
}

// BuiltinNames lists the built-in scenarios, sorted.
func BuiltinNames() []string {
	ents, _ := builtinFS.ReadDir("builtin")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}
