package scan

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/mptcp-go/mptcp/wire"
)

// ChangeKind names one way a packet differs from the probe that was sent.
type ChangeKind string

// The changes CompareQuote detects.
const (
	ChangeSrcAddr   ChangeKind = "src-addr"   // source address rewritten (NAT)
	ChangeTOS       ChangeKind = "tos"        // DSCP or ECN bits rewritten
	ChangeDF        ChangeKind = "df"         // IPv4 don't-fragment bit cleared
	ChangeIPID      ChangeKind = "ip-id"      // IPv4 identification rewritten
	ChangeFlowLabel ChangeKind = "flow-label" // IPv6 flow label rewritten
	ChangeSrcPort   ChangeKind = "src-port"   // source port rewritten (NAPT)
	ChangeDstPort   ChangeKind = "dst-port"
	ChangeSeq       ChangeKind = "seq" // sequence number rewritten
	ChangeAck       ChangeKind = "ack"
	ChangeFlags     ChangeKind = "tcp-flags"
	ChangeWindow    ChangeKind = "window"
	// ChangeHeaderLen is a TCP header that grew or shrank: options were
	// cut out or inserted rather than overwritten.
	ChangeHeaderLen ChangeKind = "header-length"
	// ChangeOptionsRemoved is the whole option space gone: a 20-byte header.
	ChangeOptionsRemoved ChangeKind = "options-removed"
	// ChangeMPTCPRemoved is the MP_CAPABLE option missing.
	ChangeMPTCPRemoved ChangeKind = "mptcp-removed"
	// ChangeMPTCPModified is the MP_CAPABLE option present but altered.
	ChangeMPTCPModified  ChangeKind = "mptcp-modified"
	ChangeMSS            ChangeKind = "mss"
	ChangeOptionRemoved  ChangeKind = "option-removed"
	ChangeOptionModified ChangeKind = "option-modified"
	ChangeOptionAdded    ChangeKind = "option-added"
	// ChangePayload is data after the header of a SYN that carried none.
	ChangePayload ChangeKind = "payload"
)

// needs returns the quote coverage a hop must have for a change of kind k
// to be visible in its quote.
func (k ChangeKind) needs() wire.QuoteCoverage {
	switch k {
	case ChangeSrcAddr, ChangeTOS, ChangeDF, ChangeIPID, ChangeFlowLabel:
		return wire.CoverageNone
	case ChangeSrcPort, ChangeDstPort:
		return wire.CoveragePorts
	case ChangeSeq:
		return wire.CoverageSeq
	case ChangeAck, ChangeFlags, ChangeWindow, ChangeHeaderLen, ChangeOptionsRemoved:
		return wire.CoverageFixedHeader
	}
	return wire.CoverageFullHeader
}

// Change is one difference between the probe as sent and as a hop saw it.
type Change struct {
	Kind ChangeKind `json:"kind"`
	// Option names the TCP option of an option change.
	Option string `json:"option,omitempty"`
	Sent   string `json:"sent,omitempty"`
	Seen   string `json:"seen,omitempty"`
	// Note says how, for example "replaced by NOPs".
	Note string `json:"note,omitempty"`
}

// key identifies a change across hops, whatever its values.
func (c Change) key() string { return string(c.Kind) + "/" + c.Option }

// String describes the change for a human.
func (c Change) String() string {
	var s string
	switch c.Kind {
	case ChangeMPTCPRemoved:
		s = "MP_CAPABLE removed"
	case ChangeMPTCPModified:
		s = "MP_CAPABLE changed: " + c.Sent + " -> " + c.Seen
	case ChangeOptionsRemoved:
		s = "all TCP options removed (" + c.Sent + " -> " + c.Seen + ")"
	case ChangeOptionRemoved:
		s = c.Option + " removed"
	case ChangeOptionAdded:
		s = c.Option + " added: " + c.Seen
	case ChangeOptionModified:
		s = c.Option + " changed: " + c.Sent + " -> " + c.Seen
	case ChangeMSS:
		s = "MSS " + c.Sent + " -> " + c.Seen
	case ChangeSeq:
		s = "sequence number rewritten: " + c.Sent + " -> " + c.Seen
	case ChangeHeaderLen:
		s = "TCP header length " + c.Sent + " -> " + c.Seen
	case ChangePayload:
		s = "payload added: " + c.Seen
	default:
		s = string(c.Kind) + " " + c.Sent + " -> " + c.Seen
	}
	if c.Note != "" {
		s += " (" + c.Note + ")"
	}
	return s
}

// QuoteReport is what one quote says about the probe it quotes.
type QuoteReport struct {
	// Coverage says how much of the TCP header the quote holds.
	Coverage wire.QuoteCoverage
	// TCPBytes is how many bytes of the TCP segment were quoted.
	TCPBytes int
	// OptionBytes is how many option bytes were quoted, of SentOptionBytes.
	OptionBytes, SentOptionBytes int
	// Changes lists what differs from the probe, as far as the quote shows.
	Changes []Change
}

// CompareQuote compares a quote with the probe it quotes and lists every
// difference the quote shows. Fields the quote does not hold are not
// compared: a quote of 8 bytes can show only a rewritten port or sequence
// number, never a stripped option. Fields a router rewrites as part of
// forwarding (TTL, IP checksum, and the TCP checksum, which follows any
// other change) are not reported.
func CompareQuote(p *Probe, q *wire.ICMPQuote) QuoteReport {
	sent := p.TCP()
	qt := q.TCP()
	r := QuoteReport{Coverage: qt.Coverage(), TCPBytes: len(qt), SentOptionBytes: len(sent.Options())}
	add := func(c Change) { r.Changes = append(r.Changes, c) }

	if q.Src != p.Src {
		add(Change{Kind: ChangeSrcAddr, Sent: p.Src.String(), Seen: q.Src.String()})
	}
	if q.TOS != 0 {
		add(Change{Kind: ChangeTOS, Sent: "0x00", Seen: fmt.Sprintf("0x%02x", q.TOS)})
	}
	if q.Version == 4 {
		if q.FlagsFragOff&wire.IPv4DontFragment == 0 {
			add(Change{Kind: ChangeDF, Sent: "DF", Seen: "no DF"})
		}
		if q.ID != p.IPID {
			add(Change{Kind: ChangeIPID, Sent: strconv.Itoa(int(p.IPID)), Seen: strconv.Itoa(int(q.ID))})
		}
	} else if q.FlowLabel != 0 {
		add(Change{Kind: ChangeFlowLabel, Sent: "0", Seen: fmt.Sprintf("0x%05x", q.FlowLabel)})
	}

	if v, ok := qt.SrcPort(); ok && v != sent.SrcPort() {
		add(Change{Kind: ChangeSrcPort, Sent: strconv.Itoa(int(sent.SrcPort())), Seen: strconv.Itoa(int(v))})
	}
	if v, ok := qt.DstPort(); ok && v != sent.DstPort() {
		add(Change{Kind: ChangeDstPort, Sent: strconv.Itoa(int(sent.DstPort())), Seen: strconv.Itoa(int(v))})
	}
	if v, ok := qt.Seq(); ok && v != sent.Seq() {
		add(Change{Kind: ChangeSeq, Sent: strconv.FormatUint(uint64(sent.Seq()), 10), Seen: strconv.FormatUint(uint64(v), 10),
			Note: "offset " + strconv.FormatInt(int64(int32(v-sent.Seq())), 10)})
	}
	if v, ok := qt.Ack(); ok && v != sent.Ack() {
		add(Change{Kind: ChangeAck, Sent: strconv.FormatUint(uint64(sent.Ack()), 10), Seen: strconv.FormatUint(uint64(v), 10)})
	}
	if v, ok := qt.Flags(); ok && v != sent.Flags() {
		add(Change{Kind: ChangeFlags, Sent: sent.Flags().String(), Seen: v.String()})
	}
	if v, ok := qt.Window(); ok && v != sent.Window() {
		add(Change{Kind: ChangeWindow, Sent: strconv.Itoa(int(sent.Window())), Seen: strconv.Itoa(int(v))})
	}
	if len(qt) >= 13 {
		r.Changes = append(r.Changes, compareOptions(sent, qt, &r.OptionBytes)...)
	}
	return r
}

// compareOptions compares the option space of the sent SYN with the quoted
// one, as far as it was quoted.
func compareOptions(sent wire.TCP, qt wire.QuotedTCP, quotedLen *int) []Change {
	var out []Change
	shl, qhl := sent.HeaderLen(), qt.HeaderLen()
	headerChanged := qhl != shl
	switch {
	case qhl == wire.TCPMinHeaderLen && shl > wire.TCPMinHeaderLen:
		out = append(out, Change{Kind: ChangeOptionsRemoved, Sent: strconv.Itoa(shl-wire.TCPMinHeaderLen) + " bytes", Seen: "none"})
	case headerChanged:
		out = append(out, Change{Kind: ChangeHeaderLen, Sent: strconv.Itoa(shl), Seen: strconv.Itoa(qhl)})
	}
	qopts, complete := qt.Options()
	*quotedLen = len(qopts)
	if qopts == nil && qhl != wire.TCPMinHeaderLen {
		return out // the fixed header itself was not quoted whole
	}
	sopts := sent.Options()
	sl, _ := walkOptions(sopts)
	ql, _ := walkOptions(qopts)
	used := make([]bool, len(ql))
	for _, s := range sl {
		j := -1
		for i, o := range ql {
			if !used[i] && o.kind == s.kind {
				j = i
				break
			}
		}
		if j < 0 {
			if !complete && s.off+len(s.bytes) > len(qopts) {
				continue // beyond the end of the quote: cannot tell
			}
			note := ""
			switch {
			case headerChanged:
				note = "cut out of the header"
			case s.off+len(s.bytes) <= len(qopts) && allNOP(qopts[s.off:s.off+len(s.bytes)]):
				note = "replaced by NOPs"
			}
			switch {
			case s.kind == wire.OptMPTCP:
				out = append(out, Change{Kind: ChangeMPTCPRemoved, Option: "MPTCP", Sent: describeMPTCP(s.bytes), Note: note})
			case qhl == wire.TCPMinHeaderLen:
				// Already reported as the whole option space removed.
			default:
				out = append(out, Change{Kind: ChangeOptionRemoved, Option: optionName(s.kind), Sent: describeOption(s.bytes), Note: note})
			}
			continue
		}
		used[j] = true
		o := ql[j]
		if bytes.Equal(o.bytes, s.bytes) {
			continue
		}
		switch s.kind {
		case wire.OptMPTCP:
			out = append(out, Change{Kind: ChangeMPTCPModified, Option: "MPTCP", Sent: describeMPTCP(s.bytes), Seen: describeMPTCP(o.bytes)})
		case wire.OptMSS:
			out = append(out, Change{Kind: ChangeMSS, Option: "MSS", Sent: describeOption(s.bytes), Seen: describeOption(o.bytes)})
		default:
			out = append(out, Change{Kind: ChangeOptionModified, Option: optionName(s.kind), Sent: describeOption(s.bytes), Seen: describeOption(o.bytes)})
		}
	}
	for i, o := range ql {
		if !used[i] {
			out = append(out, Change{Kind: ChangeOptionAdded, Option: optionName(o.kind), Seen: describeOption(o.bytes)})
		}
	}
	if complete && len(qt) > qhl && qhl >= wire.TCPMinHeaderLen && len(sent.Payload()) == 0 {
		out = append(out, Change{Kind: ChangePayload, Seen: strconv.Itoa(len(qt)-qhl) + " bytes"})
	}
	return out
}

func allNOP(b []byte) bool {
	for _, c := range b {
		if c != wire.OptNOP {
			return false
		}
	}
	return len(b) > 0
}

// describeOption renders an option's value.
func describeOption(b []byte) string {
	switch {
	case b[0] == wire.OptMSS && len(b) == 4:
		return strconv.Itoa(int(binary.BigEndian.Uint16(b[2:])))
	case b[0] == wire.OptWindowScale && len(b) == 3:
		return "shift " + strconv.Itoa(int(b[2]))
	case b[0] == wire.OptSACKPermitted && len(b) == 2:
		return "present"
	case b[0] == wire.OptTimestamps && len(b) == 10:
		return fmt.Sprintf("TSval %d TSecr %d", binary.BigEndian.Uint32(b[2:]), binary.BigEndian.Uint32(b[6:]))
	case b[0] == wire.OptMPTCP:
		return describeMPTCP(b)
	}
	return hex.EncodeToString(b)
}

// describeMPTCP renders an MPTCP option as it would be on a SYN.
func describeMPTCP(b []byte) string {
	var o wire.MPTCPOptions
	if len(b) < 3 {
		return hex.EncodeToString(b)
	}
	if wire.MPTCPSubtype(b[2]>>4) != wire.SubtypeMPCapable {
		return wire.MPTCPSubtype(b[2]>>4).String() + " " + hex.EncodeToString(b)
	}
	if err := o.Decode(b, wire.FlagSYN); err == nil && o.Has(wire.SubtypeMPCapable) {
		c := o.Capable
		s := fmt.Sprintf("MP_CAPABLE v%d flags %v", c.Version, c.Flags)
		if c.Version == 0 {
			s += fmt.Sprintf(" key %016x", c.SenderKey)
		}
		return s
	}
	return "MP_CAPABLE " + hex.EncodeToString(b)
}
