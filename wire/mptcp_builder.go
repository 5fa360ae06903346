package wire

// The MPTCP adders of OptionBuilder. Each takes a pointer to its concrete
// option type (no interface), so adding the DSS of a data segment does not
// allocate. Like the kernel, they follow an option whose length is not a
// multiple of four with NOPs when there is room, so the options after it
// stay aligned; when there is not, the option goes in unpadded.

// reserveMPTCP reserves n bytes for an option, plus NOP padding to a
// multiple of four if that fits, and returns the n bytes.
func (b *OptionBuilder) reserveMPTCP(n int) ([]byte, error) {
	padded := (n + 3) &^ 3
	if padded > b.Free() {
		padded = n
	}
	s, err := b.reserve(padded)
	if err != nil {
		return nil, err
	}
	for i := n; i < padded; i++ {
		s[i] = OptNOP
	}
	return s[:n], nil
}

// AddMPCapable adds an MP_CAPABLE option of c's form.
func (b *OptionBuilder) AddMPCapable(c *MPCapable) error {
	if err := c.check(); err != nil {
		return err
	}
	s, err := b.reserveMPTCP(c.Len())
	if err != nil {
		return err
	}
	c.Encode(s)
	return nil
}

// AddMPJoin adds an MP_JOIN option of j's form.
func (b *OptionBuilder) AddMPJoin(j *MPJoin) error {
	if err := j.check(); err != nil {
		return err
	}
	s, err := b.reserveMPTCP(j.Len())
	if err != nil {
		return err
	}
	j.Encode(s)
	return nil
}

// AddDSS adds a DSS option.
func (b *OptionBuilder) AddDSS(d *DSS) error {
	if err := d.check(); err != nil {
		return err
	}
	s, err := b.reserveMPTCP(d.Len())
	if err != nil {
		return err
	}
	d.Encode(s)
	return nil
}

// AddAddAddr adds an ADD_ADDR option (or its echo).
func (b *OptionBuilder) AddAddAddr(a *AddAddr) error {
	if err := a.check(); err != nil {
		return err
	}
	s, err := b.reserveMPTCP(a.Len())
	if err != nil {
		return err
	}
	a.Encode(s)
	return nil
}

// AddRemoveAddr adds a REMOVE_ADDR option.
func (b *OptionBuilder) AddRemoveAddr(r *RemoveAddr) error {
	if err := r.check(); err != nil {
		return err
	}
	s, err := b.reserveMPTCP(r.Len())
	if err != nil {
		return err
	}
	r.Encode(s)
	return nil
}

// AddMPPrio adds an MP_PRIO option.
func (b *OptionBuilder) AddMPPrio(p *MPPrio) error {
	s, err := b.reserveMPTCP(p.Len())
	if err != nil {
		return err
	}
	p.Encode(s)
	return nil
}

// AddMPFail adds an MP_FAIL option.
func (b *OptionBuilder) AddMPFail(f *MPFail) error {
	s, err := b.reserveMPTCP(f.Len())
	if err != nil {
		return err
	}
	f.Encode(s)
	return nil
}

// AddMPFastclose adds an MP_FASTCLOSE option.
func (b *OptionBuilder) AddMPFastclose(f *MPFastclose) error {
	s, err := b.reserveMPTCP(f.Len())
	if err != nil {
		return err
	}
	f.Encode(s)
	return nil
}

// AddMPTCPRst adds an MP_TCPRST option (on a RST segment).
func (b *OptionBuilder) AddMPTCPRst(r *MPTCPRst) error {
	s, err := b.reserveMPTCP(r.Len())
	if err != nil {
		return err
	}
	r.Encode(s)
	return nil
}
