package scan

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// HopKind says what came back for one TTL of a path probe.
type HopKind string

// The kinds of hop.
const (
	// HopTimeExceeded is a router whose ICMP time-exceeded quotes the probe.
	HopTimeExceeded HopKind = "time-exceeded"
	// HopUnreachable is another ICMP error quoting the probe; the path
	// probe ends there.
	HopUnreachable HopKind = "unreachable"
	// HopDestination is the target's own answer (SYN/ACK or RST).
	HopDestination HopKind = "destination"
	// HopSilent is no answer for this TTL after the retries.
	HopSilent HopKind = "no-answer"
)

// Hop is the outcome of one TTL of a path probe.
type Hop struct {
	TTL  int
	Kind HopKind
	// From is the router (or the target) that answered.
	From netip.Addr
	// ICMP names the ICMP error, for time-exceeded and unreachable hops.
	ICMP string
	// Quote compares the quoted packet with the probe, for ICMP errors.
	Quote *QuoteReport
	// Answer is the target's answer, for the destination hop.
	Answer *Answer
	RTT    time.Duration
}

// MarshalJSON writes the hop as one flat object.
func (h Hop) MarshalJSON() ([]byte, error) {
	type quote struct {
		Coverage        string   `json:"coverage"`
		TCPBytes        int      `json:"tcp_bytes"`
		OptionBytes     int      `json:"option_bytes"`
		SentOptionBytes int      `json:"sent_option_bytes"`
		Changes         []Change `json:"changes"`
	}
	o := struct {
		TTL     int        `json:"ttl"`
		Kind    HopKind    `json:"kind"`
		From    string     `json:"from,omitempty"`
		ICMP    string     `json:"icmp,omitempty"`
		Quote   *quote     `json:"quote,omitempty"`
		Verdict Verdict    `json:"verdict,omitempty"`
		MPTCP   *MPTCPInfo `json:"mptcp,omitempty"`
		Reason  string     `json:"reason,omitempty"`
		RTTms   *float64   `json:"rtt_ms,omitempty"`
	}{TTL: h.TTL, Kind: h.Kind, ICMP: h.ICMP}
	if h.From.IsValid() {
		o.From = h.From.String()
	}
	if q := h.Quote; q != nil {
		o.Quote = &quote{q.Coverage.String(), q.TCPBytes, q.OptionBytes, q.SentOptionBytes, q.Changes}
		if o.Quote.Changes == nil {
			o.Quote.Changes = []Change{}
		}
	}
	if a := h.Answer; a != nil {
		o.Verdict, o.MPTCP, o.Reason = a.Verdict, a.MPTCP, a.Reason
	}
	if h.RTT > 0 {
		ms := float64(h.RTT.Microseconds()) / 1000
		o.RTTms = &ms
	}
	return json.Marshal(o)
}

// Finding locates one change on the path: it was first seen in the quote
// of hop Hop and not in that of hop After, the last earlier hop whose quote
// could have shown it (0 is the prober itself). The box that made the
// change is after hop After and before (or at the ingress of) hop Hop.
type Finding struct {
	Change Change `json:"change"`
	Hop    int    `json:"hop"`
	After  int    `json:"after"`
	// Blind lists the hops in between that could not tell: silent, or
	// quoting too little of the packet.
	Blind []int `json:"blind,omitempty"`
}

// PathResult is the outcome of a path probe to one target.
type PathResult struct {
	Target
	// Hops lists every TTL probed, in order.
	Hops []Hop
	// Final is the target's answer, if the probe reached it.
	Final *Answer
	// Findings locate each change seen in the quotes.
	Findings []Finding
	// Notes say what the quotes could not tell.
	Notes []string
}

// String summarises the path probe on one line, for example
// "192.0.2.1:443 3 hops, tcp-only, 1 finding".
func (r PathResult) String() string {
	verdict := "destination not reached"
	if r.Final != nil {
		verdict = string(r.Final.Verdict)
	}
	return fmt.Sprintf("%v %d hops, %s, %d findings", r.Target, len(r.Hops), verdict, len(r.Findings))
}

// MarshalJSON writes the result as one object with its hops.
func (r PathResult) MarshalJSON() ([]byte, error) {
	o := struct {
		Address  netip.Addr `json:"address"`
		Port     uint16     `json:"port"`
		Reached  bool       `json:"reached"`
		Verdict  Verdict    `json:"verdict,omitempty"`
		Hops     []Hop      `json:"hops"`
		Findings []Finding  `json:"findings"`
		Notes    []string   `json:"notes,omitempty"`
	}{Address: r.Addr, Port: r.Port, Reached: r.Final != nil, Hops: r.Hops, Findings: r.Findings, Notes: r.Notes}
	if r.Final != nil {
		o.Verdict = r.Final.Verdict
	}
	if o.Findings == nil {
		o.Findings = []Finding{}
	}
	return json.Marshal(o)
}

// HopName formats a hop number with its address, for example "hop 2 (10.0.2.1)".
func (r *PathResult) HopName(ttl int) string {
	if ttl == 0 {
		return "the prober"
	}
	for _, h := range r.Hops {
		if h.TTL == ttl && h.From.IsValid() {
			return "hop " + strconv.Itoa(ttl) + " (" + h.From.String() + ")"
		}
	}
	return "hop " + strconv.Itoa(ttl)
}

// Describe says where a finding's change happened, for a human.
func (r *PathResult) Describe(f Finding) string {
	s := fmt.Sprintf("%v: between %s and %s", f.Change, r.HopName(f.After), r.HopName(f.Hop))
	if len(f.Blind) > 0 {
		s += fmt.Sprintf(" (hops %v in between could not tell)", f.Blind)
	}
	return s
}

// Localize finds, for each change the quotes show, the first hop that shows
// it and the last hop before it whose quote could have shown it and did
// not, and adds notes on what the quotes cannot tell about the destination.
func Localize(r *PathResult) {
	r.Findings, r.Notes = nil, nil
	found := make(map[string]bool)
	// lastSaw[c] is the last hop whose quote had at least coverage c.
	var lastSaw [wire.CoverageFullHeader + 1]int
	lastFull, mptcpGone := 0, false
	for _, h := range r.Hops {
		if h.Quote == nil {
			continue
		}
		cov := h.Quote.Coverage
		for _, c := range h.Quote.Changes {
			if found[c.key()] {
				continue
			}
			found[c.key()] = true
			need := c.Kind.needs()
			if c.Kind == ChangeMPTCPRemoved {
				mptcpGone = true
			}
			f := Finding{Change: c, Hop: h.TTL, After: lastSaw[need]}
			for _, b := range r.Hops {
				if b.TTL > f.After && b.TTL < h.TTL && (b.Quote == nil || b.Quote.Coverage < need) {
					f.Blind = append(f.Blind, b.TTL)
				}
			}
			r.Findings = append(r.Findings, f)
		}
		for c := wire.CoverageNone; c <= cov && int(c) < len(lastSaw); c++ {
			lastSaw[c] = h.TTL
		}
		if cov == wire.CoverageFullHeader {
			lastFull = h.TTL
		}
	}
	var last *Hop
	if len(r.Hops) > 0 {
		last = &r.Hops[len(r.Hops)-1]
	}
	switch {
	case r.Final == nil && last != nil && last.Kind == HopUnreachable:
		r.Notes = append(r.Notes, fmt.Sprintf("the path ended at %s with %s", r.HopName(last.TTL), last.ICMP))
	case r.Final == nil:
		r.Notes = append(r.Notes, "the destination did not answer within the TTL limit")
	case r.Final.Verdict == VerdictTCPOnly && !mptcpGone && lastFull > 0:
		r.Notes = append(r.Notes, fmt.Sprintf("MP_CAPABLE was intact at %s, the last hop that quoted the whole header; "+
			"the destination answered without it: either it does not speak MPTCP or a box after %s removed the option (quotes cannot tell which)",
			r.HopName(lastFull), r.HopName(lastFull)))
	case r.Final.Verdict == VerdictTCPOnly && !mptcpGone:
		r.Notes = append(r.Notes, "no hop quoted the whole TCP header: where MP_CAPABLE was lost, if it was, cannot be told")
	case r.Final.Verdict.IsMPTCP() && mptcpGone:
		r.Notes = append(r.Notes, "the destination answered with MP_CAPABLE although a quote showed it removed: the probes may have taken different paths")
	}
}
