package drill

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// UnsupportedError reports a construct the runner does not support: the
// script is neither passed nor failed.
type UnsupportedError struct {
	Line int
	What string
}

// Error names what the script uses that the runner does not support.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("line %d: unsupported: %s", e.Line, e.What)
}

// SyntaxError reports a statement the parser cannot read.
type SyntaxError struct {
	Line int
	Err  error
}

// Error gives the line and what is wrong on it.
func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the error the line caused.
func (e *SyntaxError) Unwrap() error { return e.Err }

// errUnsupported marks an error as an unsupported construct; the parser
// turns it into an UnsupportedError with the line.
var errUnsupported = errors.New("unsupported")

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUnsupported}, a...)...)
}

// ParseFile reads and parses a script.
func ParseFile(path string) (*Script, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(string(b))
	if s != nil {
		s.Path = path
	}
	return s, err
}

// Parse parses a script's text.
func Parse(text string) (*Script, error) {
	s := &Script{Options: map[string]string{}}
	lines := strings.Split(stripBlockComments(text), "\n")
	for i, raw := range lines {
		line := strings.TrimSpace(stripLineComment(raw))
		if line == "" {
			continue
		}
		n := i + 1
		if strings.HasPrefix(line, "--") {
			k, v, _ := strings.Cut(line[2:], "=")
			s.Options[k] = v
			continue
		}
		ev, err := parseEvent(line)
		if err != nil {
			if errors.Is(err, errUnsupported) {
				return s, &UnsupportedError{Line: n, What: strings.TrimPrefix(err.Error(), errUnsupported.Error()+": ")}
			}
			return s, &SyntaxError{Line: n, Err: err}
		}
		ev.Line, ev.Text = n, line
		s.Events = append(s.Events, ev)
	}
	return s, nil
}

// stripBlockComments blanks /* ... */ comments, keeping line breaks so
// that line numbers stay right.
func stripBlockComments(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.Index(s[i:], "*/")
		if j < 0 {
			j = len(s) - i
		} else {
			j += 2
		}
		b.WriteString(strings.Repeat("\n", strings.Count(s[i:i+j], "\n")))
		s = s[i+j:]
	}
}

// stripLineComment removes a // comment outside quotes.
func stripLineComment(s string) string {
	var q byte
	for i := 0; i+1 < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '`':
			q = c
		case c == '/' && s[i+1] == '/':
			return s[:i]
		}
	}
	return s
}

func parseEvent(line string) (*Event, error) {
	ev := &Event{}
	if strings.HasPrefix(line, "`") {
		// An init command: no time, runs at the start.
		ev.Time = Time{Rel: true}
		return ev, parseCommand(ev, line)
	}
	toks, err := lex(line)
	if err != nil {
		return nil, err
	}
	p := &tokens{t: toks}
	if err := parseTime(p, &ev.Time); err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.is("<") || t.is(">"):
		ev.Kind = EventPacket
		ev.Packet, err = parsePacket(p)
	case t.kind == tokBack:
		ev.Kind, ev.Command = EventCommand, t.text
		p.next()
		if !p.done() {
			err = fmt.Errorf("text after command: %v", p.peek())
		}
	case t.is("%"):
		err = unsupported("code events (%%{ python }%%)")
	case t.kind == tokWord:
		ev.Kind = EventSyscall
		ev.Call, err = parseCall(p)
	default:
		err = fmt.Errorf("expected a packet, a system call or a command, found %v", t)
	}
	return ev, err
}

func parseCommand(ev *Event, line string) error {
	toks, err := lex(line)
	if err != nil {
		return err
	}
	if len(toks) != 1 || toks[0].kind != tokBack {
		return fmt.Errorf("malformed command %q", line)
	}
	ev.Kind, ev.Command = EventCommand, toks[0].text
	return nil
}

func parseTime(p *tokens, t *Time) error {
	switch {
	case p.accept("*"):
		t.Any = true
		return nil
	case p.accept("+"):
		t.Rel = true
	}
	d, err := parseSeconds(p)
	if err != nil {
		return err
	}
	t.At = d
	if p.peek().is("~") {
		return unsupported("time ranges (~)")
	}
	if p.accept("...") {
		t.HasEnd = true
		t.EndRel = p.accept("+")
		if t.End, err = parseSeconds(p); err != nil {
			return err
		}
	}
	return nil
}

func parseSeconds(p *tokens) (time.Duration, error) {
	t := p.next()
	if t.kind != tokInt && t.kind != tokFloat {
		return 0, fmt.Errorf("expected a time, found %v", t)
	}
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		return 0, fmt.Errorf("bad time %q", t.text)
	}
	return time.Duration(f*1e6+0.5) * time.Microsecond, nil
}

func parsePacket(p *tokens) (*Packet, error) {
	pk := &Packet{Out: p.next().is(">")}
	if err := parsePrefix(p, pk); err != nil {
		return nil, err
	}
	// Flags: a word (S, P, F, R, combinations), optionally followed by
	// '.', or a lone '.'.
	switch t := p.peek(); {
	case t.is("."):
		p.next()
		pk.Flags = "."
	case t.kind == tokWord:
		p.next()
		pk.Flags = t.text
		if p.accept(".") {
			pk.Flags += "."
		}
	case t.is("-"):
		p.next()
		pk.Flags = "-"
	default:
		if t.is("udp") || t.is("icmp") {
			return nil, unsupported("%s packets", t.text)
		}
		return nil, fmt.Errorf("expected TCP flags, found %v", t)
	}
	if strings.Trim(pk.Flags, "SPFR.EWU") != "" {
		if pk.Flags == "udp" || pk.Flags == "icmp" {
			return nil, unsupported("%s packets", pk.Flags)
		}
		return nil, fmt.Errorf("bad TCP flags %q", pk.Flags)
	}
	a, err := p.int()
	if err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	b, err := p.int()
	if err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	n, err := p.int()
	if err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if uint32(b-a) != uint32(n) {
		return nil, fmt.Errorf("sequence range %d:%d does not have length %d", a, b, n)
	}
	pk.Seq, pk.End, pk.Len = uint32(a), uint32(b), int(n)
	for {
		switch {
		case p.accept("ack"):
			v, err := p.int()
			if err != nil {
				return nil, err
			}
			v32 := uint32(v)
			pk.Ack = &v32
		case p.accept("win"):
			v, err := p.int()
			if err != nil {
				return nil, err
			}
			v32 := uint32(v)
			pk.Win = &v32
		case p.peek().is("urg"):
			return nil, unsupported("urgent pointer")
		case p.peek().is("<"):
			p.next()
			return pk, parseOptions(p, pk)
		case p.done():
			return pk, nil
		default:
			return nil, fmt.Errorf("unexpected %v in packet", p.peek())
		}
	}
}

// parsePrefix reads the MPTCP fork's address prefix: "addr[X] > addr[Y]",
// or "> addr[Y]" (the source of the current flow).
func parsePrefix(p *tokens, pk *Packet) error {
	if p.peek().is("addr") {
		name, err := parseAddrVar(p)
		if err != nil {
			return err
		}
		pk.Src = name
		if err := p.expect(">"); err != nil {
			return err
		}
		if pk.Dst, err = parseAddrVar(p); err != nil {
			return err
		}
		return nil
	}
	if p.peek().is(">") && p.peekAt(1).is("addr") {
		p.next()
		var err error
		pk.Dst, err = parseAddrVar(p)
		return err
	}
	if t := p.peek(); t.kind == tokWord && (t.text == "ipv4" || t.text == "ipv6" || t.text == "gre" || t.text == "mpls") {
		return unsupported("%s encapsulation prefix", t.text)
	}
	return nil
}

func parseAddrVar(p *tokens) (string, error) {
	if err := p.expect("addr"); err != nil {
		return "", err
	}
	if err := p.expect("["); err != nil {
		return "", err
	}
	name, err := p.word()
	if err != nil {
		return "", err
	}
	return name, p.expect("]")
}

// parseOptions reads "opt, opt, ... >" after the opening '<'.
func parseOptions(p *tokens, pk *Packet) error {
	pk.HasOpts = true
	if p.accept("...") {
		pk.AnyOpts = true
		return p.expect(">")
	}
	for {
		start := p.i
		o, err := parseOption(p)
		if err != nil {
			return err
		}
		o.Text = joinTokens(p.t[start:p.i])
		pk.Opts = append(pk.Opts, o)
		switch {
		case p.accept(","):
		case p.accept(">"):
			if !p.done() {
				return fmt.Errorf("text after options: %v", p.peek())
			}
			return nil
		default:
			return fmt.Errorf("expected ',' or '>' after option, found %v", p.peek())
		}
	}
}

func joinTokens(ts []token) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 && !(t.is("]") || t.is("=") || t.is("(") || t.is(")") || t.is(",") || t.is("[")) &&
			!(ts[i-1].is("[") || ts[i-1].is("=") || ts[i-1].is("(")) {
			b.WriteByte(' ')
		}
		switch t.kind {
		case tokStr:
			b.WriteString(strconv.Quote(t.text))
		default:
			b.WriteString(t.text)
		}
		if t.is(",") {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func parseOption(p *tokens) (*Option, error) {
	name, err := p.word()
	if err != nil {
		return nil, err
	}
	o := &Option{Name: name}
	switch name {
	case "nop", "eol", "sackOK":
	case "mss", "wscale":
		o.Val, err = p.int()
	case "TS":
		if err := p.expect("val"); err != nil {
			return nil, err
		}
		v, err := p.int()
		if err != nil {
			return nil, err
		}
		if err := p.expect("ecr"); err != nil {
			return nil, err
		}
		e, err := p.int()
		if err != nil {
			return nil, err
		}
		o.TSVal, o.TSEcr = uint32(v), uint32(e)
	case "sack":
		for p.peek().kind == tokInt {
			a, _ := p.int()
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			b, err := p.int()
			if err != nil {
				return nil, err
			}
			o.Blocks = append(o.Blocks, [2]uint32{uint32(a), uint32(b)})
		}
	case "mpcapable", "mp_join_syn", "mp_join_syn_ack", "mp_join_ack", "dss", "add_address",
		"remove_address", "mp_prio", "mp_fail", "mp_fastclose", "mp_reset", "mp_tcprst":
		o.MP, err = parseMPOption(name, p)
	default:
		err = unsupported("TCP option %q", name)
	}
	return o, err
}

// parseCall reads "name(arg, ...) = ret [ERRNO (note)] [(note)]".
func parseCall(p *tokens) (*Call, error) {
	c := &Call{}
	var err error
	if c.Name, err = p.word(); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	depth, start := 0, p.i
	for {
		t := p.next()
		switch {
		case t.kind == tokEOF:
			return nil, fmt.Errorf("unterminated argument list of %s", c.Name)
		case t.is("(") || t.is("[") || t.is("{"):
			depth++
		case (t.is(")") || t.is("]") || t.is("}")) && depth > 0:
			depth--
		case t.is(",") && depth == 0:
			c.Args = append(c.Args, p.t[start:p.i-1])
			start = p.i
			continue
		case t.is(")"):
			if p.i-1 > start || len(c.Args) > 0 {
				c.Args = append(c.Args, p.t[start:p.i-1])
			}
		default:
			continue
		}
		if t.is(")") && depth == 0 {
			break
		}
	}
	if err := p.expect("="); err != nil {
		return nil, err
	}
	neg := p.accept("-")
	v, err := p.int()
	if err != nil {
		return nil, fmt.Errorf("return value of %s: %w", c.Name, err)
	}
	c.Ret = int64(v)
	if neg {
		c.Ret = -c.Ret
	}
	if t := p.peek(); t.kind == tokWord {
		c.Errno = t.text
		p.next()
	}
	if p.accept("(") { // a note: "(Operation now in progress)", "(flags O_RDWR)"
		for !p.done() && !p.accept(")") {
			p.next()
		}
	}
	if !p.done() {
		return nil, fmt.Errorf("text after system call: %v", p.peek())
	}
	return c, nil
}
