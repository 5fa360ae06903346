package drill

import (
	"fmt"
	"strconv"
	"strings"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokEOF   tokKind = iota
	tokWord          // identifiers and keywords: ack, win, mpcapable, O_RDWR
	tokInt           // decimal or hexadecimal integer
	tokFloat         // a number with a fraction: times
	tokStr           // "double quoted"
	tokBack          // `back quoted`
	tokPunct         // one of < > [ ] ( ) { } , = : | ~ + * . - and "..."
)

// token is one lexical token of a statement.
type token struct {
	kind tokKind
	text string
	num  uint64 // tokInt
}

func (t token) is(p string) bool { return (t.kind == tokPunct || t.kind == tokWord) && t.text == p }

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of line"
	}
	return strconv.Quote(t.text)
}

// lex splits one statement into tokens.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '"' || c == '`':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c string", c)
			}
			k := tokStr
			if c == '`' {
				k = tokBack
			}
			out = append(out, token{kind: k, text: s[i+1 : i+1+j]})
			i += j + 2
		case strings.HasPrefix(s[i:], "..."):
			out = append(out, token{kind: tokPunct, text: "..."})
			i += 3
		case isDigit(c):
			j := i
			if strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X") {
				j += 2
				for j < len(s) && isHex(s[j]) {
					j++
				}
				v, err := strconv.ParseUint(s[i+2:j], 16, 64)
				if err != nil {
					return nil, fmt.Errorf("bad number %q", s[i:j])
				}
				out = append(out, token{kind: tokInt, text: s[i:j], num: v})
				i = j
				continue
			}
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
				j++
				for j < len(s) && isDigit(s[j]) {
					j++
				}
				out = append(out, token{kind: tokFloat, text: s[i:j]})
				i = j
				continue
			}
			v, err := strconv.ParseUint(s[i:j], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %q", s[i:j])
			}
			out = append(out, token{kind: tokInt, text: s[i:j], num: v})
			i = j
		case isWordStart(c):
			j := i + 1
			for j < len(s) && isWordChar(s[j]) {
				j++
			}
			out = append(out, token{kind: tokWord, text: s[i:j]})
			i = j
		case strings.IndexByte("<>[](){},=:|~+*.-/!;", c) >= 0:
			out = append(out, token{kind: tokPunct, text: s[i : i+1]})
			i++
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return out, nil
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isHex(c byte) bool       { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' }
func isWordStart(c byte) bool { return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isWordChar(c byte) bool  { return isWordStart(c) || isDigit(c) }

// tokens is a cursor over a statement's tokens.
type tokens struct {
	t []token
	i int
}

func (p *tokens) peek() token {
	if p.i < len(p.t) {
		return p.t[p.i]
	}
	return token{kind: tokEOF}
}

func (p *tokens) peekAt(k int) token {
	if p.i+k < len(p.t) {
		return p.t[p.i+k]
	}
	return token{kind: tokEOF}
}

func (p *tokens) next() token {
	t := p.peek()
	if p.i < len(p.t) {
		p.i++
	}
	return t
}

func (p *tokens) done() bool { return p.i >= len(p.t) }

// accept consumes the token if it is the punctuation or word s.
func (p *tokens) accept(s string) bool {
	if p.peek().is(s) {
		p.i++
		return true
	}
	return false
}

func (p *tokens) expect(s string) error {
	if !p.accept(s) {
		return fmt.Errorf("expected %q, found %v", s, p.peek())
	}
	return nil
}

func (p *tokens) int() (uint64, error) {
	t := p.next()
	if t.kind != tokInt {
		return 0, fmt.Errorf("expected an integer, found %v", t)
	}
	return t.num, nil
}

func (p *tokens) word() (string, error) {
	t := p.next()
	if t.kind != tokWord {
		return "", fmt.Errorf("expected a name, found %v", t)
	}
	return t.text, nil
}
