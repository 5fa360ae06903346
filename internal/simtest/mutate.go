package simtest

import (
	"math/rand/v2"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// Mutator is a processor that corrupts MPTCP options in flight, as a
// buggy middlebox or an on-path attacker would: bit flips, changed
// subtypes and lengths, options replaced by random ones, and copies of
// segments carrying random MPTCP options. TCP checksums stay valid, so
// only the MPTCP layer sees what happened. It leaves SYNs alone unless
// SYNs is set. Rate is the probability that a segment is touched.
type Mutator struct {
	Rng      *rand.Rand
	Rate     float64
	SYNs     bool
	NoDSS    bool // leave DSS options intact (without DSS checksums a changed mapping is undetectable by design)
	Mutated  int
	Injected int
	buf      []byte
}

// Process implements netsim.Processor.
func (m *Mutator) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	src, dst, _, payload, err := wire.ParseIP(pkt)
	if err != nil {
		emit(pkt)
		return
	}
	t, err := wire.ParseTCP(payload)
	if err != nil || (t.Flags().Has(wire.FlagSYN) && !m.SYNs) || m.Rng.Float64() >= m.Rate {
		emit(pkt)
		return
	}
	opts := t.Options()
	switch m.Rng.IntN(3) {
	case 0, 1:
		if m.mutate(opts) {
			t.SetChecksum(t.ComputeChecksum(src, dst))
			m.Mutated++
		}
		emit(pkt)
	case 2:
		// The original, then a copy with a random MPTCP option in the
		// option space (replacing what was there).
		emit(pkt)
		cp := append([]byte(nil), opts...)
		if len(cp) < 4 {
			return
		}
		n := 3 + m.Rng.IntN(len(cp)-2)
		cp[0], cp[1] = wire.OptMPTCP, byte(n)
		for i := 2; i < n && i < len(cp); i++ {
			cp[i] = byte(m.Rng.Uint32())
		}
		if m.NoDSS && cp[2]>>4 == byte(wire.SubtypeDSS) {
			cp[2] = byte(wire.SubtypeAddAddr) << 4
		}
		f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq(), Ack: t.Ack(), Flags: t.Flags(), Window: t.Window()}
		m.buf = wire.AppendTCPPacket(m.buf[:0], src, dst, &f, cp, t.Payload())
		emit(m.buf)
		m.Injected++
	}
}

// mutate changes one MPTCP option in opts in place and reports whether
// it found one.
func (m *Mutator) mutate(opts []byte) bool {
	var at []int
	for i := 0; i < len(opts); {
		k := opts[i]
		if k == wire.OptEOL {
			break
		}
		if k == wire.OptNOP {
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			break
		}
		if k == wire.OptMPTCP && opts[i+1] >= 3 && !(m.NoDSS && opts[i+2]>>4 == byte(wire.SubtypeDSS)) {
			at = append(at, i)
		}
		i += int(opts[i+1])
	}
	if len(at) == 0 {
		return false
	}
	i := at[m.Rng.IntN(len(at))]
	n := int(opts[i+1])
	switch m.Rng.IntN(4) {
	case 0: // one bit of the body
		j := i + 2 + m.Rng.IntN(n-2)
		opts[j] ^= 1 << m.Rng.IntN(8)
	case 1: // the subtype
		st := byte(m.Rng.IntN(16))
		if m.NoDSS && st == byte(wire.SubtypeDSS) {
			st = byte(wire.SubtypeMPPrio)
		}
		opts[i+2] = st<<4 | opts[i+2]&0x0f
	case 2: // the length byte
		opts[i+1] = byte(m.Rng.IntN(len(opts) - i + 1))
	case 3: // the whole body
		for j := i + 2; j < i+n; j++ {
			opts[j] = byte(m.Rng.Uint32())
		}
		if m.NoDSS && opts[i+2]>>4 == byte(wire.SubtypeDSS) {
			opts[i+2] = byte(wire.SubtypeRemoveAddr)<<4 | opts[i+2]&0x0f
		}
	}
	return true
}
