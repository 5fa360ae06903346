package scenario

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// A scenario file may leave values to be filled in per run, for sweeps:
// ${name} takes the value given for name, ${name:-default} falls back to
// default. Substitution works on the text, so any value can be a
// placeholder: a rate, a k, a scheduler, a whole list.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Substitute fills the placeholders of a scenario's source with vars. A
// placeholder without a value or default, and a value that no placeholder
// takes, are errors.
func Substitute(src []byte, vars map[string]string) ([]byte, error) {
	used := map[string]bool{}
	var missing []string
	out := placeholder.ReplaceAllFunc(src, func(m []byte) []byte {
		sub := placeholder.FindSubmatch(m)
		name := string(sub[1])
		if v, ok := vars[name]; ok {
			used[name] = true
			return []byte(v)
		}
		if len(sub[2]) > 0 {
			return sub[3]
		}
		missing = append(missing, name)
		return m
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: placeholder ${%s} has no value (give it with --var %s=VALUE)", ErrInvalid, missing[0], missing[0])
	}
	var unused []string
	for k := range vars {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return nil, fmt.Errorf("%w: no placeholder ${%s} in the scenario for --var %s", ErrInvalid, unused[0], strings.Join(unused, ", "))
	}
	return out, nil
}
