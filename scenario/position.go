package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// positions finds where a scenario file writes its fields, named as
// errors name them ("paths[1].changes[0].rate"), so that every error
// points at the line and column of the user's file.
type positions struct{ root *yaml.Node }

// locate returns the positions of a parsed document.
func locate(root *yaml.Node) positions {
	if root != nil && root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		return positions{root.Content[0]}
	}
	return positions{}
}

// maxAliasDepth bounds the aliases and merge keys followed in a row.
const maxAliasDepth = 16

// lookup returns the node of field's value, following aliases and merge
// keys ("<<: *anchor": a merged field is where the anchor's map writes
// it), or nil if the file does not write it.
func (p positions) lookup(field string) *yaml.Node {
	n := p.root
	for rest := field; n != nil && rest != ""; {
		var seg string
		seg, rest = nextSegment(rest)
		n = deref(n)
		if n == nil {
			return nil
		}
		if i, err := strconv.Atoi(seg); err == nil && n.Kind == yaml.SequenceNode {
			if i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			continue
		}
		n = member(n, seg, 0)
	}
	return n
}

// nextSegment splits the first key or index off a field's name:
// "paths", "[1].rate" -> "1", ".rate" -> "rate", "".
func nextSegment(f string) (seg, rest string) {
	f = strings.TrimPrefix(f, ".")
	if strings.HasPrefix(f, "[") {
		i := strings.IndexByte(f, ']')
		if i < 0 {
			return f[1:], ""
		}
		return f[1:i], f[i+1:]
	}
	i := strings.IndexAny(f, ".[")
	if i < 0 {
		return f, ""
	}
	return f[:i], f[i:]
}

// deref follows an alias to its anchor's node.
func deref(n *yaml.Node) *yaml.Node {
	for d := 0; n != nil && n.Kind == yaml.AliasNode; d++ {
		if d == maxAliasDepth {
			return nil
		}
		n = n.Alias
	}
	return n
}

// member returns the value of key in mapping n, its own keys first, then
// those merged into it.
func member(n *yaml.Node, key string, depth int) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode || depth > maxAliasDepth {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Value == key && k.Value != "<<" {
			return n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "<<" {
			continue
		}
		merged := []*yaml.Node{n.Content[i+1]}
		if v := deref(n.Content[i+1]); v != nil && v.Kind == yaml.SequenceNode {
			merged = v.Content
		}
		for _, m := range merged {
			if v := member(deref(m), key, depth+1); v != nil {
				return v
			}
		}
	}
	return nil
}

// at returns "line L, column C: " for field, or for the nearest enclosing
// field the file writes (a field left out is reported where its parent
// is), or "" if there is none.
func (p positions) at(field string) string {
	for f := field; f != ""; f = parent(f) {
		if n := p.lookup(f); n != nil {
			return fmt.Sprintf("line %d, column %d: ", n.Line, n.Column)
		}
	}
	return ""
}

// parent returns the field that holds f: "paths[1]" for "paths[1].rate",
// "paths" for "paths[1]", "" at the top.
func parent(f string) string {
	i := strings.LastIndexAny(f, ".[")
	if i < 0 {
		return ""
	}
	return f[:i]
}

// find walks the file as written (aliases are not followed: what they
// stand for is written, and found, at their anchor) and returns the
// first field, in the order of the file, for which match returns a node.
func (p positions) find(match func(key, val *yaml.Node) *yaml.Node) (string, *yaml.Node) {
	var walk func(path string, key, n *yaml.Node) (string, *yaml.Node)
	walk = func(path string, key, n *yaml.Node) (string, *yaml.Node) {
		if path != "" {
			if m := match(key, n); m != nil {
				return path, m
			}
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if path != "" {
					k = path + "." + k
				}
				if f, m := walk(k, n.Content[i], n.Content[i+1]); m != nil {
					return f, m
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if f, m := walk(fmt.Sprintf("%s[%d]", path, i), nil, c); m != nil {
					return f, m
				}
			}
		}
		return "", nil
	}
	if p.root == nil {
		return "", nil
	}
	return walk("", nil, p.root)
}

// keyAt returns the field whose key, named name, is written at line.
func (p positions) keyAt(line int, name string) (string, *yaml.Node) {
	return p.find(func(key, _ *yaml.Node) *yaml.Node {
		if key != nil && key.Line == line && key.Value == name {
			return key
		}
		return nil
	})
}

// valueAt returns the outermost field whose value starts at line and has
// yaml.v3's tag (a scalar: and is written text).
func (p positions) valueAt(line int, tag, text string) (string, *yaml.Node) {
	return p.find(func(_, val *yaml.Node) *yaml.Node {
		if val.Line == line && val.ShortTag() == tag && (val.Kind != yaml.ScalarNode || val.Value == text) {
			return val
		}
		return nil
	})
}

var (
	yamlLineMsg  = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	cannotRead   = regexp.MustCompile("(?s)^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
)

// decodeError turns a YAML decoding error into one line naming the field,
// with the line and, where the file says, the column.
func decodeError(err error, p positions) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0] // the first of several, each on its own line
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	m := yamlLineMsg.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(strings.Fields(msg), " "))
	}
	line, _ := strconv.Atoi(m[1])
	msg = m[2]
	if u := unknownField.FindStringSubmatch(msg); u != nil {
		if f, n := p.keyAt(line, u[1]); n != nil {
			return fmt.Errorf("%w: line %d, column %d: %s: unknown field", ErrInvalid, n.Line, n.Column, f)
		}
		return fmt.Errorf("%w: line %d: unknown field %q", ErrInvalid, line, u[1])
	}
	if c := cannotRead.FindStringSubmatch(msg); c != nil {
		got := map[string]string{"!!map": "a mapping", "!!seq": "a list"}[c[1]]
		switch {
		case got != "":
		case strings.ContainsAny(c[2], "\r\n"):
			got = strconv.Quote(c[2]) // one line
		default:
			got = "`" + c[2] + "`"
		}
		if f, n := p.valueAt(line, c[1], c[2]); n != nil {
			return fmt.Errorf("%w: line %d, column %d: %s: want %s, not %s", ErrInvalid, n.Line, n.Column, f, goTypeWords(c[3]), got)
		}
		return fmt.Errorf("%w: line %d: want %s, not %s", ErrInvalid, line, goTypeWords(c[3]), got)
	}
	return fmt.Errorf("%w: line %d: %s", ErrInvalid, line, strings.Join(strings.Fields(msg), " "))
}

// goTypeWords says in words what a field of Go type t takes.
func goTypeWords(t string) string {
	switch {
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "uint"):
		return "a whole number, 0 or more"
	case strings.HasPrefix(t, "int"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a single value"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	default:
		return "a mapping (key: value lines)"
	}
}

// syntaxError rewrites yaml.v3's answer to a document it cannot parse
// with the line where the problem is. yaml.v3 reports the line where the
// construct it was reading began (a list's first item for a key indented
// wrongly six lines below it), so the line is found again: the first
// line whose addition to the document makes it fail with the same
// message. The search is a bisection from yaml.v3's line (the problem is
// never before it), so a file costs a few parses; past maxBisect bytes
// yaml.v3's line stands.
func syntaxError(data []byte, err error) error {
	const maxBisect = 1 << 20
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := yamlLineMsg.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(strings.Fields(msg), " "))
	}
	line, _ := strconv.Atoi(m[1])
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(k int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		if err == nil {
			return false
		}
		e := yamlLineMsg.FindStringSubmatch(strings.TrimPrefix(err.Error(), "yaml: "))
		return e != nil && e[2] == m[2]
	}
	lo, hi := max(line, 1), len(lines)
	if len(data) <= maxBisect && lo <= hi && fails(hi) {
		for lo < hi {
			if mid := (lo + hi) / 2; fails(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		line = lo
	}
	return fmt.Errorf("%w: line %d: %s", ErrInvalid, line, strings.Join(strings.Fields(m[2]), " "))
}
