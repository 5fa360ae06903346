package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// flight is the probes of one target in flight; their answers arrive on ch.
//
// A scan gives each SYN its own source port, so that an answer names its
// SYN by port alone. A path probe keeps one source port for all its SYNs,
// as tracebox and Paris traceroute keep the flow, so that a load balancer
// hashing the 5-tuple sends every TTL down the same path; its SYNs differ
// in their initial sequence numbers, which answers acknowledge and quotes
// repeat.
type flight struct {
	s         *Scanner
	fam       *rawFamily
	target    Target
	src       netip.Addr
	ch        chan event
	fixedFlow bool
	ports     []uint16 // registered with the mux
	sent      []sentProbe
}

// sentProbe is a SYN and when it left.
type sentProbe struct {
	*Probe
	at time.Time
}

func (s *Scanner) newFlight(t Target, fixedFlow bool) (*flight, error) {
	fam, err := s.family(t.Addr)
	if err != nil {
		return nil, err
	}
	src, err := fam.source(t.Addr)
	if err != nil {
		return nil, err
	}
	return &flight{s: s, fam: fam, target: t, src: src, ch: make(chan event, 16), fixedFlow: fixedFlow}, nil
}

// send builds and sends one SYN with the given TTL, after waiting for the
// rate limit.
func (fl *flight) send(ctx context.Context, ttl uint8) (*Probe, error) {
	if err := fl.s.pace.wait(ctx); err != nil {
		return nil, err
	}
	if len(fl.ports) == 0 || !fl.fixedFlow {
		lport, err := fl.s.mux.register(fl.target.Addr, fl.target.Port, fl.ch)
		if err != nil {
			return nil, err
		}
		fl.ports = append(fl.ports, lport)
	}
	p := &Probe{Src: fl.src, Dst: fl.target.Addr, SrcPort: fl.ports[len(fl.ports)-1], DstPort: fl.target.Port,
		ISN: rand.Uint32(), TTL: ttl, IPID: uint16(rand.Uint32()) | 1, TSVal: rand.Uint32(), V0: fl.s.cfg.V0, Key: rand.Uint64()}
	if err := p.Build(); err != nil {
		return nil, err
	}
	fl.sent = append(fl.sent, sentProbe{p, time.Now()})
	if err := fl.fam.send(p.Packet, fl.target.Addr); err != nil {
		return nil, fmt.Errorf("sending to %v: %w", fl.target, err)
	}
	return p, nil
}

// matchTCP finds the SYN a TCP segment answers, and what it says.
func (fl *flight) matchTCP(ev event) (*sentProbe, Answer) {
	for i := range fl.sent {
		sp := &fl.sent[i]
		if sp.SrcPort != ev.lport {
			continue
		}
		if a, ok := ClassifyTCP(sp.Probe, ev.tcp); ok {
			return sp, a
		}
	}
	return nil, Answer{}
}

// matchICMP finds the SYN an ICMP error quotes: the one whose sequence
// number it quotes. With lenient set (a path probe, which looks for
// rewritten sequence numbers), a quote whose sequence number matches no SYN
// is taken as quoting the latest SYN on its port.
func (fl *flight) matchICMP(ev event, lenient bool) *sentProbe {
	seq, hasSeq := ev.quote.TCP().Seq()
	var latest *sentProbe
	for i := range fl.sent {
		sp := &fl.sent[i]
		if sp.SrcPort != ev.lport {
			continue
		}
		if !hasSeq || seq == sp.ISN {
			return sp
		}
		latest = sp
	}
	if lenient {
		return latest
	}
	return nil
}

// reset aborts the half-open connection a SYN/ACK opened.
func (fl *flight) reset(p *Probe) { _ = fl.fam.send(p.ResetPacket(), p.Dst) }

// forgetProbes drops the SYNs sent so far, so that late answers to them are
// ignored; a fixed flow keeps its port.
func (fl *flight) forgetProbes() {
	fl.sent = fl.sent[:0]
	if !fl.fixedFlow {
		fl.close()
	}
}

// close stops listening for answers.
func (fl *flight) close() {
	for _, lport := range fl.ports {
		fl.s.mux.unregister(fl.target.Addr, fl.target.Port, lport)
	}
	fl.ports = fl.ports[:0]
	fl.sent = fl.sent[:0]
}
