//go:build linux

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mptcp-go/mptcp/kpm"
)

// endpointCommand makes the Run of an endpoint command that takes only
// ip-style words.
func endpointCommand(do func(c *kpm.Conn, words []string) error) func(*flag.FlagSet) Action {
	return func(*flag.FlagSet) Action {
		return func(inv *Invocation) error {
			c, err := dialPM()
			if err != nil {
				return err
			}
			defer c.Close()
			return do(c, inv.Args)
		}
	}
}

func endpointListFlags(fs *flag.FlagSet) Action {
	jsonOut := jsonFlag(fs, "print JSON, the same objects as \"ip -j mptcp endpoint show\"")
	return func(inv *Invocation) error {
		c, err := dialPM()
		if err != nil {
			return err
		}
		defer c.Close()
		return endpointList(c, inv.Args, *jsonOut, inv.Stdout)
	}
}

func endpointFlush(c *kpm.Conn, words []string) error {
	if len(words) != 0 {
		return usagef("endpoint flush takes no arguments")
	}
	return c.FlushEndpoints()
}

// jsonFlag defines --json and its synonym -j.
func jsonFlag(fs *flag.FlagSet, usage string) *bool {
	v := fs.Bool("json", false, usage)
	fs.BoolVar(v, "j", false, usage)
	return v
}

// endpointSpec is what an endpoint command line names.
type endpointSpec struct {
	ep      kpm.Endpoint
	idSet   bool
	set     kpm.Flags // flags to set (add: all flags)
	clear   kpm.Flags // flags to clear (set only)
	allowed map[string]bool
}

// parseEndpointWords reads ip-style words: ADDRESS, "dev NAME", "id ID",
// "port NR" and flag names. allowed lists the keywords the command takes.
func parseEndpointWords(verb string, words []string, allowed ...string) (endpointSpec, error) {
	s := endpointSpec{allowed: map[string]bool{}}
	for _, a := range allowed {
		s.allowed[a] = true
	}
	next := func(i int, what string) (string, error) {
		if i+1 >= len(words) {
			return "", usagef("%q needs a value (%s)", words[i], what)
		}
		return words[i+1], nil
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "id" && s.allowed["id"]:
			v, err := next(i, "1-255")
			if err != nil {
				return s, err
			}
			n, err := strconv.ParseUint(v, 10, 8)
			if err != nil {
				return s, usagef("bad id %q: want a number from 0 to 255", v)
			}
			s.ep.ID, s.idSet = uint8(n), true
			i++
		case w == "port" && s.allowed["port"]:
			v, err := next(i, "1-65535")
			if err != nil {
				return s, err
			}
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return s, usagef("bad port %q: want a number from 1 to 65535", v)
			}
			s.ep.Port = uint16(n)
			i++
		case w == "dev" && s.allowed["dev"]:
			v, err := next(i, "interface name")
			if err != nil {
				return s, err
			}
			ifi, err := net.InterfaceByName(v)
			if err != nil {
				return s, fmt.Errorf("device %q does not exist", v)
			}
			s.ep.IfIndex = int32(ifi.Index)
			i++
		case s.allowed["flags"] && isFlagWord(w):
			f, neg := flagWord(w)
			if neg {
				s.clear |= f
			} else {
				s.set |= f
			}
		default:
			a, err := netip.ParseAddr(w)
			if err != nil || !s.allowed["addr"] {
				return s, usagef("unexpected %q", w)
			}
			if s.ep.Addr.IsValid() {
				return s, usagef("two addresses given (%s and %s)", s.ep.Addr, a)
			}
			if a.Zone() != "" {
				return s, usagef("address %q has a zone; use dev instead", w)
			}
			s.ep.Addr = a
		}
	}
	return s, nil
}

func isFlagWord(w string) bool { _, ok := flagWordTable[w]; return ok }

var flagWordTable = map[string]struct {
	f   kpm.Flags
	neg bool
}{
	"signal":     {kpm.FlagSignal, false},
	"subflow":    {kpm.FlagSubflow, false},
	"backup":     {kpm.FlagBackup, false},
	"fullmesh":   {kpm.FlagFullmesh, false},
	"laminar":    {kpm.FlagLaminar, false},
	"nobackup":   {kpm.FlagBackup, true},
	"nofullmesh": {kpm.FlagFullmesh, true},
	"nolaminar":  {kpm.FlagLaminar, true},
}

func flagWord(w string) (kpm.Flags, bool) { t := flagWordTable[w]; return t.f, t.neg }

func endpointAdd(c *kpm.Conn, words []string) error {
	s, err := parseEndpointWords("add", words, "id", "port", "dev", "addr", "flags")
	if err != nil {
		return err
	}
	if s.clear != 0 {
		return usagef("no* words only apply to endpoint set")
	}
	if !s.ep.Addr.IsValid() {
		return usagef("an ADDRESS is required")
	}
	if s.idSet && s.ep.ID == 0 {
		return usagef("id 0 is reserved for the initial subflow's address")
	}
	s.ep.Flags = s.set
	return c.AddEndpoint(s.ep)
}

func endpointDel(c *kpm.Conn, words []string) error {
	s, err := parseEndpointWords("del", words, "id", "addr")
	if err != nil {
		return err
	}
	switch {
	case !s.idSet && !s.ep.Addr.IsValid():
		return usagef("endpoint del: give id ID or an ADDRESS")
	case !s.idSet:
		e, err := findEndpoint(c, s.ep.Addr, 0)
		if err != nil {
			return err
		}
		return c.DeleteEndpoint(e.ID, netip.Addr{})
	case s.ep.ID == 0 && !s.ep.Addr.IsValid():
		return usagef("endpoint del: id 0 needs the ADDRESS it stands for")
	case s.ep.ID != 0 && s.ep.Addr.IsValid():
		// The kernel ignores the address for a non-zero id; say so
		// rather than delete something the user did not mean.
		e, err := c.Endpoint(s.ep.ID)
		if err != nil {
			return err
		}
		if e.Addr != s.ep.Addr {
			return fmt.Errorf("endpoint del: id %d is %s, not %s", s.ep.ID, e.Addr, s.ep.Addr)
		}
		return c.DeleteEndpoint(s.ep.ID, netip.Addr{})
	}
	return c.DeleteEndpoint(s.ep.ID, s.ep.Addr)
}

// findEndpoint returns the endpoint with address addr (and port, if not 0).
func findEndpoint(c *kpm.Conn, addr netip.Addr, port uint16) (kpm.Endpoint, error) {
	eps, err := c.Endpoints()
	if err != nil {
		return kpm.Endpoint{}, err
	}
	for _, e := range eps {
		if e.Addr == addr && (port == 0 || e.Port == port) {
			return e, nil
		}
	}
	return kpm.Endpoint{}, fmt.Errorf("no endpoint has address %s", addr)
}

func endpointSet(c *kpm.Conn, words []string) error {
	s, err := parseEndpointWords("set", words, "id", "port", "addr", "flags")
	if err != nil {
		return err
	}
	if changeable := kpm.FlagBackup | kpm.FlagFullmesh | kpm.FlagLaminar; s.set&^changeable != 0 {
		return usagef("endpoint set: only backup, fullmesh and laminar can change (and their no* forms)")
	}
	if s.set == 0 && s.clear == 0 {
		return usagef("endpoint set: nothing to change (give backup, nobackup, fullmesh, nofullmesh, laminar or nolaminar)")
	}
	if s.set&s.clear != 0 {
		return usagef("endpoint set: %s both set and cleared", (s.set & s.clear).String())
	}
	var cur kpm.Endpoint
	switch {
	case s.idSet && s.ep.ID != 0:
		cur, err = c.Endpoint(s.ep.ID)
	case s.ep.Addr.IsValid():
		cur, err = findEndpoint(c, s.ep.Addr, s.ep.Port)
	default:
		return usagef("endpoint set: give id ID or an ADDRESS")
	}
	if err != nil {
		return err
	}
	flags := (cur.Flags | s.set) &^ s.clear
	return c.SetEndpointFlags(kpm.Endpoint{ID: cur.ID, Flags: flags})
}

func endpointList(c *kpm.Conn, words []string, jsonOut bool, stdout io.Writer) error {
	s, err := parseEndpointWords("list", words, "id")
	if err != nil {
		return err
	}
	var eps []kpm.Endpoint
	if s.idSet {
		e, err := c.Endpoint(s.ep.ID)
		if err != nil {
			return err
		}
		eps = []kpm.Endpoint{e}
	} else if eps, err = c.Endpoints(); err != nil {
		return err
	}
	if jsonOut {
		out := make([]orderedJSON, 0, len(eps))
		for _, e := range eps {
			out = append(out, endpointJSON(e))
		}
		return writeJSON(stdout, out)
	}
	for _, e := range eps {
		fmt.Fprintln(stdout, formatEndpoint(e))
	}
	return nil
}

// formatEndpoint prints e as "ip mptcp endpoint show" does:
// "10.0.0.2 port 8080 id 3 signal backup dev eth1".
func formatEndpoint(e kpm.Endpoint) string {
	var parts []string
	if e.Addr.IsValid() {
		parts = append(parts, e.Addr.String())
	}
	if e.Port != 0 {
		parts = append(parts, "port "+strconv.Itoa(int(e.Port)))
	}
	parts = append(parts, "id "+strconv.Itoa(int(e.ID)))
	parts = append(parts, e.Flags.Names()...)
	if dev := ifName(e.IfIndex); dev != "" {
		parts = append(parts, "dev "+dev)
	}
	return strings.Join(parts, " ")
}

// endpointJSON uses the keys of "ip -j mptcp endpoint show", in its order.
func endpointJSON(e kpm.Endpoint) orderedJSON {
	var o orderedJSON
	if e.Addr.IsValid() {
		o.add("address", e.Addr.String())
	}
	if e.Port != 0 {
		o.add("port", e.Port)
	}
	o.add("id", e.ID)
	for _, n := range e.Flags.Names() {
		if raw, ok := strings.CutPrefix(n, "rawflags "); ok {
			o.add("rawflags", raw)
		} else {
			o.add(n, true)
		}
	}
	if dev := ifName(e.IfIndex); dev != "" {
		o.add("dev", dev)
	}
	return o
}

// orderedJSON is a JSON object that keeps its keys in insertion order, so
// that output reads like the tools it mirrors.
type orderedJSON struct {
	keys []string
	vals []any
}

func (o *orderedJSON) add(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// MarshalJSON implements json.Marshaler.
func (o orderedJSON) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}

func ifName(index int32) string {
	if index <= 0 {
		return ""
	}
	ifi, err := net.InterfaceByIndex(int(index))
	if err != nil {
		return "if" + strconv.Itoa(int(index))
	}
	return ifi.Name
}
