package drill

import (
	"fmt"
	"net/netip"
)

// parseMPOption reads the fields of an MPTCP option after its name.
func parseMPOption(kind string, p *tokens) (*MPOption, error) {
	m := &MPOption{Kind: kind}
	if kind == "mp_tcprst" {
		m.Kind = "mp_reset"
	}
	var err error
	switch m.Kind {
	case "mpcapable":
		err = parseMPCapable(p, m)
	case "mp_reset":
		var r uint64
		if r, err = p.int(); err == nil {
			m.Reason = uint8(r)
			if p.accept("flags") {
				err = parseNamedFlags(p, func(f string) error {
					switch f {
					case "flag_t":
						m.Transient = true
					case "no_flags":
					default:
						return fmt.Errorf("unknown mp_reset flag %q", f)
					}
					return nil
				})
			}
		}
	case "remove_address":
		err = parseRemoveAddr(p, m)
	case "mp_fastclose":
		err = unsupported("mp_fastclose")
	default:
		err = parseMPFields(p, m)
	}
	return m, err
}

func parseMPCapable(p *tokens, m *MPOption) error {
	m.Version, m.Flags = 1, 0x01
	switch {
	case p.accept("v0"):
		m.Version = 0
	case p.accept("v1"):
	}
	if p.accept("flags") {
		if p.peek().kind == tokInt {
			v, _ := p.int()
			m.Flags = uint8(v)
		} else {
			m.Flags = 0
			err := parseNamedFlags(p, func(f string) error {
				if f == "no_flags" {
					return nil
				}
				if len(f) != 6 || f[:5] != "flag_" || f[5] < 'a' || f[5] > 'h' {
					return fmt.Errorf("unknown mpcapable flag %q", f)
				}
				m.Flags |= 0x80 >> (f[5] - 'a')
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	switch {
	case p.accept("nokey"):
	case p.accept("key"):
		if err := p.expect("["); err != nil {
			return err
		}
		for {
			k, err := parseKeyVar(p)
			if err != nil {
				return err
			}
			m.Keys = append(m.Keys, k)
			if p.accept("]") {
				break
			}
			if err := p.expect(","); err != nil {
				return err
			}
		}
		if len(m.Keys) > 2 {
			return fmt.Errorf("mpcapable with %d keys", len(m.Keys))
		}
	}
	if p.accept("mpcdatalen") {
		v, err := p.int()
		if err != nil {
			return err
		}
		d := uint16(v)
		m.DataLen = &d
	}
	return nil
}

func parseKeyVar(p *tokens) (KeyVar, error) {
	name, err := p.word()
	if err != nil {
		return KeyVar{}, err
	}
	k := KeyVar{Name: name}
	if p.accept("=") {
		v, err := p.int()
		if err != nil {
			return k, err
		}
		k.Val = &v
	}
	return k, nil
}

// parseNamedFlags reads "[f, f, ...]".
func parseNamedFlags(p *tokens, f func(string) error) error {
	if err := p.expect("["); err != nil {
		return err
	}
	for {
		w, err := p.word()
		if err != nil {
			return err
		}
		if err := f(w); err != nil {
			return err
		}
		if p.accept("]") {
			return nil
		}
		if err := p.expect(","); err != nil {
			return err
		}
	}
}

func parseRemoveAddr(p *tokens, m *MPOption) error {
	for _, s := range []string{"address_id", "=", "["} {
		if err := p.expect(s); err != nil {
			return err
		}
	}
	for {
		v, err := p.int()
		if err != nil {
			return err
		}
		m.IDs = append(m.IDs, uint8(v))
		if p.accept("]") {
			return nil
		}
		if err := p.expect(","); err != nil {
			return err
		}
	}
}

// parseMPFields reads the name=value and bare-word fields of MP_JOIN,
// DSS, ADD_ADDR, MP_PRIO and MP_FAIL until the option ends.
func parseMPFields(p *tokens, m *MPOption) error {
	for {
		t := p.peek()
		if t.kind != tokWord {
			return nil
		}
		p.next()
		if err := parseMPField(p, m, t.text); err != nil {
			return err
		}
	}
}

func parseMPField(p *tokens, m *MPOption, name string) error {
	switch name {
	case "nocs":
		m.Checksum = CsumNone
		return nil
	case "fin":
		m.Fin = true
		return nil
	case "addr_echo":
		m.Echo = true
		return nil
	case "addr":
		return parseAddAddrAddr(p, m)
	}
	if err := p.expect("="); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if p.accept("auto") {
		switch name {
		case "token":
			m.Token = &TokenSpec{Auto: true}
		case "sender_hmac", "hmac":
			m.HMACAuto = true
		case "address_id":
		default:
			return unsupported("%s=auto in %s", name, m.Kind)
		}
		return nil
	}
	if name == "token" && (p.peek().is("sha256_32") || p.peek().is("sha1_32")) {
		fn := p.next().text
		if fn == "sha1_32" {
			return unsupported("MPTCP v0 tokens (sha1_32)")
		}
		if err := p.expect("("); err != nil {
			return err
		}
		v, err := p.word()
		if err != nil {
			return err
		}
		m.Token = &TokenSpec{Var: v}
		return p.expect(")")
	}
	if p.peek().kind == tokWord {
		return unsupported("%s=%s(...) in %s", name, p.peek().text, m.Kind)
	}
	v, err := p.int()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return setMPField(m, name, v)
}

func setMPField(m *MPOption, name string, v uint64) error {
	switch name {
	case "backup":
		b := v != 0
		m.Backup = &b
	case "address_id":
		id := uint8(v)
		m.AddrID = &id
	case "token":
		t := uint32(v)
		m.Token = &TokenSpec{Lit: &t}
	case "rand":
		r := uint32(v)
		m.Rand = &r
	case "dack4", "dack8":
		m.DAck = &SeqVal{Wide: name == "dack8", Val: v}
	case "dsn4", "dsn8":
		m.DSN = &SeqVal{Wide: name == "dsn8", Val: v}
	case "ssn":
		s := uint32(v)
		m.SSN = &s
	case "dll":
		d := uint16(v)
		m.DLL = &d
	case "cs", "cksum":
		m.Checksum, m.CsumVal = CsumValue, uint16(v)
	case "port":
		pt := uint16(v)
		m.Port = &pt
	case "hmac", "sender_hmac":
		return unsupported("literal %s in %s", name, m.Kind)
	default:
		return fmt.Errorf("unknown field %q in %s", name, m.Kind)
	}
	return nil
}

// parseAddAddrAddr reads "[NAME]" or "[NAME=inet_addr("a.b.c.d")]".
func parseAddAddrAddr(p *tokens, m *MPOption) error {
	if err := p.expect("["); err != nil {
		return err
	}
	name, err := p.word()
	if err != nil {
		return err
	}
	m.AddrVar = name
	if p.accept("=") {
		fn, err := p.word()
		if err != nil {
			return err
		}
		if fn != "inet_addr" && fn != "inet6_addr" {
			return fmt.Errorf("expected inet_addr(...), found %s", fn)
		}
		if err := p.expect("("); err != nil {
			return err
		}
		t := p.next()
		if t.kind != tokStr {
			return fmt.Errorf("expected a quoted address, found %v", t)
		}
		a, err := netip.ParseAddr(t.text)
		if err != nil {
			return err
		}
		m.AddrLit = a
		if err := p.expect(")"); err != nil {
			return err
		}
	}
	return p.expect("]")
}
