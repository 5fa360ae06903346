package drill

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// outPkt is a packet the stack sent, parsed.
type outPkt struct {
	src, dst netip.Addr
	t        wire.TCP
	opts     []rawOpt
	f        *flow
}

// rawOpt is one TCP option as sent: its kind and whole bytes.
type rawOpt struct {
	kind byte
	b    []byte
}

// parseOpts splits an option area; trailing EOL padding is dropped.
func parseOpts(b []byte) ([]rawOpt, error) {
	var out []rawOpt
	for i := 0; i < len(b); {
		switch b[i] {
		case wire.OptEOL:
			rest := b[i:]
			for _, c := range rest {
				if c != 0 {
					return nil, fmt.Errorf("bytes after end-of-list option")
				}
			}
			return out, nil
		case wire.OptNOP:
			out = append(out, rawOpt{kind: wire.OptNOP, b: b[i : i+1]})
			i++
			continue
		}
		if i+1 >= len(b) || b[i+1] < 2 || i+int(b[i+1]) > len(b) {
			return nil, fmt.Errorf("malformed option of kind %d", b[i])
		}
		n := int(b[i+1])
		out = append(out, rawOpt{kind: b[i], b: b[i : i+n]})
		i += n
	}
	return out, nil
}

// expect matches the next packet the stack sends against a ">" statement.
func (r *runner) expect(ev *Event, at time.Time) error {
	pk := ev.Packet
	if r.st == nil {
		return failf("expected a packet, but there is no socket")
	}
	if len(r.out) == 0 {
		r.advance(later(at, r.now))
	}
	if len(r.out) == 0 && !r.waitFor(at, func() bool { return len(r.out) > 0 }) {
		return &mismatch{msg: fmt.Sprintf("timed out waiting for a packet (expected at %s, waited to %s)",
			r.rel(at), r.rel(at.Add(r.tol))), expected: ev.Text, actual: "(nothing sent)"}
	}
	s := r.out[0]
	r.out = r.out[1:]
	p, err := r.parseOut(s.pkt)
	if err != nil {
		return &mismatch{msg: "the stack sent a malformed packet: " + err.Error(), expected: ev.Text}
	}
	if err := r.match(pk, p); err != nil {
		return &mismatch{msg: err.Error(), expected: ev.Text, actual: r.formatOut(p)}
	}
	if !ev.Time.Any {
		if d := s.at.Sub(at); d < -r.tol || d > r.tol {
			return &mismatch{msg: fmt.Sprintf("timing error: expected at %s (tolerance %v), sent at %s",
				r.rel(at), r.tol, r.rel(s.at)), expected: ev.Text, actual: r.formatOut(p)}
		}
	}
	return nil
}

// later returns the later of a and b: a packet expected at a time already
// passed is looked for without moving the clock back.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (r *runner) rel(t time.Time) string { return fmt.Sprintf("%.6f", t.Sub(r.start).Seconds()) }

// decodeOut parses a packet the stack sent: addresses, TCP header and
// options; its flow is left for the caller to find.
func decodeOut(pkt []byte) (*outPkt, error) {
	src, dst, t, err := wire.ParseTCPPacket(pkt)
	if err != nil {
		return nil, err
	}
	opts, err := parseOpts(t.Options())
	if err != nil {
		return nil, err
	}
	return &outPkt{src: src, dst: dst, t: t, opts: opts}, nil
}

// peekOut parses a sent packet without changing any state, for traces.
func (r *runner) peekOut(pkt []byte) (*outPkt, error) {
	p, err := decodeOut(pkt)
	if err != nil {
		return nil, err
	}
	p.f = r.mp.findFlow(netip.AddrPortFrom(p.src, p.t.SrcPort()), netip.AddrPortFrom(p.dst, p.t.DstPort()))
	if p.f == nil {
		p.f = &flow{localISN: p.t.Seq()}
	}
	return p, nil
}

// parseOut parses a packet the stack sent and finds its flow, making one
// for a SYN.
func (r *runner) parseOut(pkt []byte) (*outPkt, error) {
	p, err := decodeOut(pkt)
	if err != nil {
		return nil, err
	}
	src, dst, t, opts := p.src, p.dst, p.t, p.opts
	m := &r.mp
	local, remote := netip.AddrPortFrom(src, t.SrcPort()), netip.AddrPortFrom(dst, t.DstPort())
	p.f = m.findFlow(local, remote)
	fl := t.Flags()
	if p.f == nil && fl.Has(wire.FlagSYN) && !fl.Has(wire.FlagACK) {
		p.f = m.newFlow(local, remote)
	}
	if p.f == nil {
		return p, nil
	}
	if fl.Has(wire.FlagSYN) && !p.f.haveISN {
		p.f.localISN, p.f.haveISN = t.Seq(), true
	}
	if fl.Has(wire.FlagSYN) && !fl.Has(wire.FlagACK) {
		p.f.synOut = true
	}
	for _, o := range opts {
		if o.kind == wire.OptTimestamps && len(o.b) == 10 {
			p.f.lastTSVal = uint32(o.b[2])<<24 | uint32(o.b[3])<<16 | uint32(o.b[4])<<8 | uint32(o.b[5])
		}
	}
	return p, nil
}

// match compares a sent packet with a statement, binding variables the
// statement names for the first time.
func (r *runner) match(pk *Packet, p *outPkt) error {
	m := &r.mp
	f := p.f
	if f == nil {
		return fmt.Errorf("packet on a connection the script does not know (%v > %v)", p.src, p.dst)
	}
	if err := r.matchFlow(pk, p); err != nil {
		return err
	}
	m.cur = f
	if got, want := p.t.Flags()&^wire.FlagURG, tcpFlags(pk.Flags); got != want {
		return fmt.Errorf("TCP flags: expected %s, actual %s", flagString(want), flagString(got))
	}
	if seq := p.t.Seq() - f.localISN; seq != pk.Seq || len(p.t.Payload()) != pk.Len {
		return fmt.Errorf("sequence: expected %d:%d(%d), actual %d:%d(%d)", pk.Seq, pk.End, pk.Len,
			seq, seq+uint32(len(p.t.Payload())), len(p.t.Payload()))
	}
	if pk.Ack != nil && p.t.Ack() != *pk.Ack {
		return fmt.Errorf("ack: expected %d, actual %d", *pk.Ack, p.t.Ack())
	}
	if pk.Win != nil && uint32(p.t.Window()) != *pk.Win {
		return fmt.Errorf("window: expected %d, actual %d", *pk.Win, p.t.Window())
	}
	if pk.AnyOpts {
		return nil
	}
	if len(pk.Opts) != len(p.opts) {
		return fmt.Errorf("options: expected %d, actual %d", len(pk.Opts), len(p.opts))
	}
	for i, o := range pk.Opts {
		if err := r.matchOption(o, p.opts[i], p); err != nil {
			return fmt.Errorf("option %d (%s): %w", i+1, o.Text, err)
		}
	}
	return nil
}

// matchFlow checks a sent packet's addresses against the statement's
// prefix, or against the current flow when there is none.
func (r *runner) matchFlow(pk *Packet, p *outPkt) error {
	m := &r.mp
	bind := func(name string, a netip.Addr) error {
		if name == "" {
			return nil
		}
		if old, ok := m.addrs[name]; ok && old != a {
			return fmt.Errorf("address %s: expected %v, actual %v", name, old, a)
		}
		m.addrs[name] = a
		return nil
	}
	if pk.Src != "" || pk.Dst != "" {
		if err := bind(pk.Src, p.src); err != nil {
			return err
		}
		return bind(pk.Dst, p.dst)
	}
	if m.cur != nil && p.f != m.cur && !(p.f.synOut && p.t.Flags().Has(wire.FlagSYN)) {
		return fmt.Errorf("packet is not for the expected connection: %v > %v, expected %v > %v",
			p.f.local, p.f.remote, m.cur.local, m.cur.remote)
	}
	return nil
}

func flagString(f wire.TCPFlags) string {
	s := ""
	for _, x := range []struct {
		f wire.TCPFlags
		c string
	}{{wire.FlagSYN, "S"}, {wire.FlagFIN, "F"}, {wire.FlagRST, "R"}, {wire.FlagPSH, "P"}, {wire.FlagECE, "E"}, {wire.FlagCWR, "W"}} {
		if f.Has(x.f) {
			s += x.c
		}
	}
	if f.Has(wire.FlagACK) {
		s += "."
	}
	return s
}

// matchOption compares one option.
func (r *runner) matchOption(o *Option, a rawOpt, p *outPkt) error {
	want := map[string]byte{"nop": wire.OptNOP, "eol": wire.OptEOL, "mss": wire.OptMSS, "wscale": wire.OptWindowScale,
		"sackOK": wire.OptSACKPermitted, "TS": wire.OptTimestamps, "sack": wire.OptSACK}[o.Name]
	if o.MP != nil {
		want = wire.OptMPTCP
	}
	if a.kind != want {
		return fmt.Errorf("actual option is %s", optName(a))
	}
	switch o.Name {
	case "mss":
		if v := uint64(a.b[2])<<8 | uint64(a.b[3]); v != o.Val {
			return fmt.Errorf("mss %d", v)
		}
	case "wscale":
		if v := uint64(a.b[2]); v != o.Val {
			return fmt.Errorf("wscale %d", v)
		}
	case "TS":
		// The values are the stack's clock: not compared (packetdrill
		// compares them against the kernel's jiffies).
	case "sack":
		if len(a.b) != 2+8*len(o.Blocks) {
			return fmt.Errorf("%d blocks", (len(a.b)-2)/8)
		}
	}
	if o.MP != nil {
		return r.matchMPTCP(o.MP, a.b, p)
	}
	return nil
}

func optName(a rawOpt) string {
	switch a.kind {
	case wire.OptNOP:
		return "nop"
	case wire.OptEOL:
		return "eol"
	case wire.OptMSS:
		return "mss"
	case wire.OptWindowScale:
		return "wscale"
	case wire.OptSACKPermitted:
		return "sackOK"
	case wire.OptTimestamps:
		return "TS"
	case wire.OptSACK:
		return "sack"
	case wire.OptMPTCP:
		if len(a.b) > 2 {
			return "MPTCP " + wire.MPTCPSubtype(a.b[2]>>4).String()
		}
	}
	return fmt.Sprintf("kind %d", a.kind)
}
