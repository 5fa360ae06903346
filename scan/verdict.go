package scan

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// Verdict is what a probe found out about one address and port.
type Verdict string

// The verdicts.
const (
	// VerdictMPTCPv1 is a SYN/ACK with an RFC 8684 MP_CAPABLE.
	VerdictMPTCPv1 Verdict = "mptcp-v1"
	// VerdictMPTCPv0 is a SYN/ACK with an RFC 6824 MP_CAPABLE.
	VerdictMPTCPv0 Verdict = "mptcp-v0"
	// VerdictTCPOnly is a SYN/ACK without MP_CAPABLE: the host (or a box
	// on the path) does not speak MPTCP.
	VerdictTCPOnly Verdict = "tcp-only"
	// VerdictClosed is a RST: nothing listens on the port.
	VerdictClosed Verdict = "closed"
	// VerdictFiltered is no answer after the retries, or an ICMP error
	// saying the probe was not delivered.
	VerdictFiltered Verdict = "filtered"
	// VerdictError is a probe that could not be sent (no route, for one).
	VerdictError Verdict = "error"
)

// mptcpVerdict names the verdict of an MP_CAPABLE of the given version; a
// version after 1 is named the same way, though no such version exists yet.
func mptcpVerdict(version uint8) Verdict {
	switch version {
	case 0:
		return VerdictMPTCPv0
	case 1:
		return VerdictMPTCPv1
	}
	return Verdict("mptcp-v" + strconv.Itoa(int(version)))
}

// IsMPTCP reports whether the verdict is an MPTCP answer of any version.
func (v Verdict) IsMPTCP() bool { return strings.HasPrefix(string(v), "mptcp-v") }

// MPTCPInfo is what the SYN/ACK's MP_CAPABLE says about the server.
type MPTCPInfo struct {
	Version uint8
	Flags   wire.MPCapableFlags
}

// ChecksumRequired is flag A: the server requires DSS checksums.
func (i MPTCPInfo) ChecksumRequired() bool { return i.Flags&wire.MPCapableChecksum != 0 }

// DenyJoinInitialAddr is flag C: the server accepts no additional subflow
// to the address and port the SYN/ACK came from.
func (i MPTCPInfo) DenyJoinInitialAddr() bool { return i.Flags&wire.MPCapableDenyJoinID0 != 0 }

// HMAC names the HMAC algorithm flag H selects: HMAC-SHA256 in version 1,
// HMAC-SHA1 in version 0; "none" when H is clear, which no version defines.
func (i MPTCPInfo) HMAC() string {
	switch {
	case i.Flags&wire.MPCapableHMACSHA256 == 0:
		return "none"
	case i.Version == 0:
		return "HMAC-SHA1"
	}
	return "HMAC-SHA256"
}

// Describe says what the flags mean, for example
// "checksum required, HMAC-SHA256".
func (i MPTCPInfo) Describe() string {
	var parts []string
	if i.ChecksumRequired() {
		parts = append(parts, "checksum required")
	}
	if i.DenyJoinInitialAddr() {
		parts = append(parts, "no join to this address")
	}
	if i.Flags&wire.MPCapableExtensibility != 0 {
		parts = append(parts, "B (extensibility) set")
	}
	if i.Flags&wire.MPCapableUnassigned != 0 {
		parts = append(parts, "unassigned flags set")
	}
	return strings.Join(append(parts, i.HMAC()), ", ")
}

// MarshalJSON spells the flags out, so that consumers need not know the
// bit layout.
func (i MPTCPInfo) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Version             uint8  `json:"version"`
		Flags               string `json:"flags"`
		FlagLetters         string `json:"flag_letters"`
		ChecksumRequired    bool   `json:"checksum_required"`
		DenyJoinInitialAddr bool   `json:"deny_join_initial_addr"`
		HMAC                string `json:"hmac"`
	}{i.Version, fmt.Sprintf("0x%02x", uint8(i.Flags)), i.Flags.String(), i.ChecksumRequired(), i.DenyJoinInitialAddr(), i.HMAC()})
}

// Answer is the meaning of one packet that answered a probe.
type Answer struct {
	Verdict Verdict
	// MPTCP is set for the mptcp-v* verdicts.
	MPTCP *MPTCPInfo
	// Reason says what the answer was, for a human.
	Reason string
}

// ClassifyTCP decides what a TCP segment from the probed address and port
// says, and whether it answers p at all (ok false: it belongs to something
// else and must be ignored). A SYN/ACK or a RST answers the SYN only if it
// acknowledges ISN+1, which a blind or stale packet cannot guess.
func ClassifyTCP(p *Probe, seg []byte) (a Answer, ok bool) {
	t, err := wire.ParseTCP(seg)
	if err != nil || t.SrcPort() != p.DstPort || t.DstPort() != p.SrcPort {
		return Answer{}, false
	}
	fl := t.Flags()
	if !fl.Has(wire.FlagACK) || t.Ack() != p.ISN+1 {
		// RFC 9293 section 3.10.7.3: in SYN-SENT a RST is acceptable only
		// if it acknowledges the SYN; so is a SYN/ACK.
		return Answer{}, false
	}
	switch {
	case fl.Has(wire.FlagRST):
		return Answer{Verdict: VerdictClosed, Reason: "RST"}, true
	case fl.Has(wire.FlagSYN):
		return classifySYNACK(t), true
	}
	return Answer{}, false
}

func classifySYNACK(t wire.TCP) Answer {
	var o wire.TCPOptions
	err := wire.ParseTCPOptions(t.Options(), t.Flags(), &o)
	if o.MPTCP.Has(wire.SubtypeMPCapable) && o.MPTCP.Capable.Form == wire.MPCapableSYNACK {
		c := o.MPTCP.Capable
		info := MPTCPInfo{Version: c.Version, Flags: c.Flags}
		return Answer{Verdict: mptcpVerdict(c.Version), MPTCP: &info, Reason: "SYN/ACK with MP_CAPABLE"}
	}
	if hasMPCapable(t.Options()) {
		// RFC 8684 section 3.1: a malformed MP_CAPABLE makes the
		// connection fall back to regular TCP.
		reason := "SYN/ACK with a malformed MP_CAPABLE"
		if err != nil {
			reason += ": " + err.Error()
		}
		return Answer{Verdict: VerdictTCPOnly, Reason: reason}
	}
	return Answer{Verdict: VerdictTCPOnly, Reason: "SYN/ACK without MP_CAPABLE"}
}

// ClassifyICMP decides what an ICMP error quoting a probe says during a
// scan (at the full TTL): any error means the SYN was not delivered.
func ClassifyICMP(from netip.Addr, v6 bool, typ, code uint8) Answer {
	return Answer{Verdict: VerdictFiltered, Reason: ICMPName(v6, typ, code) + " from " + from.String()}
}

// ICMPName names an ICMP error type and code.
func ICMPName(v6 bool, typ, code uint8) string {
	if v6 {
		switch typ {
		case wire.ICMPv6DestUnreachable:
			names := [...]string{"no route", "administratively prohibited", "beyond scope", "address unreachable",
				"port unreachable", "source address failed policy", "reject route", "error in source routing header"}
			if int(code) < len(names) {
				return "ICMPv6 unreachable (" + names[code] + ")"
			}
			return "ICMPv6 unreachable (code " + strconv.Itoa(int(code)) + ")"
		case wire.ICMPv6PacketTooBig:
			return "ICMPv6 packet too big"
		case wire.ICMPv6TimeExceeded:
			return "ICMPv6 time exceeded"
		case wire.ICMPv6ParamProblem:
			return "ICMPv6 parameter problem"
		}
		return "ICMPv6 type " + strconv.Itoa(int(typ)) + " code " + strconv.Itoa(int(code))
	}
	switch typ {
	case wire.ICMPv4DestUnreachable:
		names := [...]string{"net unreachable", "host unreachable", "protocol unreachable", "port unreachable",
			"fragmentation needed", "source route failed", "net unknown", "host unknown", "source host isolated",
			"net prohibited", "host prohibited", "net unreachable for TOS", "host unreachable for TOS",
			"administratively prohibited", "host precedence violation", "precedence cutoff"}
		if int(code) < len(names) {
			return "ICMP unreachable (" + names[code] + ")"
		}
		return "ICMP unreachable (code " + strconv.Itoa(int(code)) + ")"
	case wire.ICMPv4TimeExceeded:
		return "ICMP time exceeded"
	case wire.ICMPv4ParamProblem:
		return "ICMP parameter problem"
	case wire.ICMPv4SourceQuench:
		return "ICMP source quench"
	case wire.ICMPv4Redirect:
		return "ICMP redirect"
	}
	return "ICMP type " + strconv.Itoa(int(typ)) + " code " + strconv.Itoa(int(code))
}

// Result is the outcome of scanning one address and port.
type Result struct {
	Target
	Verdict Verdict
	MPTCP   *MPTCPInfo
	// From is who answered: the target, or the router that sent an ICMP
	// error; invalid when nothing answered.
	From netip.Addr
	// Reason says what the answer was, or why there was none.
	Reason string
	// RTT is the time from the answered SYN to its answer.
	RTT time.Duration
	// Attempts is how many SYNs were sent.
	Attempts int
}

// String formats the result on one line, for example
// "192.0.2.1:443 mptcp-v1 (checksum required, HMAC-SHA256)". (Without it the
// embedded Target's String would hide the verdict.)
func (r Result) String() string {
	s := r.Target.String() + " " + string(r.Verdict)
	switch {
	case r.MPTCP != nil:
		s += " (" + r.MPTCP.Describe() + ")"
	case r.Reason != "":
		s += " (" + r.Reason + ")"
	}
	return s
}

// MarshalJSON writes the result as one flat object.
func (r Result) MarshalJSON() ([]byte, error) {
	type out struct {
		Address  netip.Addr `json:"address"`
		Port     uint16     `json:"port"`
		Verdict  Verdict    `json:"verdict"`
		MPTCP    *MPTCPInfo `json:"mptcp,omitempty"`
		From     string     `json:"from,omitempty"`
		Reason   string     `json:"reason,omitempty"`
		RTTms    *float64   `json:"rtt_ms,omitempty"`
		Attempts int        `json:"attempts"`
	}
	o := out{Address: r.Addr, Port: r.Port, Verdict: r.Verdict, MPTCP: r.MPTCP, Reason: r.Reason, Attempts: r.Attempts}
	if r.From.IsValid() {
		o.From = r.From.String()
	}
	if r.RTT > 0 {
		ms := float64(r.RTT.Microseconds()) / 1000
		o.RTTms = &ms
	}
	return json.Marshal(o)
}
