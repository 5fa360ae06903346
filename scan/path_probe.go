package scan

import (
	"context"
	"time"
)

// Path probes the path to t tracebox-style: the scan's SYN with TTL 1, 2,
// 3 ..., each sent up to 1+Retries times, until the target answers, an
// ICMP error other than time exceeded ends the path, or MaxTTL is passed.
// Each time-exceeded quote is compared with the probe that caused it, and
// Localize places each change between two hops. onHop, if not nil, is
// called after each hop.
func (s *Scanner) Path(ctx context.Context, t Target, onHop func(Hop)) PathResult {
	r := PathResult{Target: t}
	fl, err := s.newFlight(t, true)
	if err != nil {
		r.Notes = append(r.Notes, err.Error())
		return r
	}
	defer fl.close()
	for ttl := 1; ttl <= s.cfg.MaxTTL && ctx.Err() == nil; ttl++ {
		hop, err := s.hop(ctx, fl, ttl)
		if err != nil {
			r.Notes = append(r.Notes, err.Error())
			break
		}
		r.Hops = append(r.Hops, hop)
		if onHop != nil {
			onHop(hop)
		}
		if hop.Kind == HopDestination {
			r.Final = hop.Answer
		}
		if hop.Kind == HopDestination || hop.Kind == HopUnreachable {
			break
		}
	}
	Localize(&r)
	return r
}

// hop probes one TTL.
func (s *Scanner) hop(ctx context.Context, fl *flight, ttl int) (Hop, error) {
	h := Hop{TTL: ttl, Kind: HopSilent}
	// Answers to an earlier TTL arriving now would be misread as this one's.
	fl.forgetProbes()
	for attempt := 0; attempt <= s.cfg.Retries; attempt++ {
		if _, err := fl.send(ctx, uint8(ttl)); err != nil {
			return h, err
		}
		timer := time.NewTimer(s.cfg.Timeout)
	wait:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return h, ctx.Err()
			case <-timer.C:
				break wait
			case ev := <-fl.ch:
				var sp *sentProbe
				if ev.tcp != nil {
					var a Answer
					if sp, a = fl.matchTCP(ev); sp == nil {
						continue
					}
					if a.Verdict != VerdictClosed {
						fl.reset(sp.Probe)
					}
					h.Kind, h.From, h.Answer = HopDestination, fl.target.Addr, &a
				} else {
					if sp = fl.matchICMP(ev, true); sp == nil {
						continue
					}
					q := CompareQuote(sp.Probe, &ev.quote)
					h.From, h.Quote = ev.icmpFrom, &q
					h.ICMP = ICMPName(ev.icmpV6, ev.icmpType, ev.icmpCode)
					h.Kind = HopUnreachable
					if isTimeExceeded(ev.icmpV6, ev.icmpType) {
						h.Kind = HopTimeExceeded
					}
				}
				timer.Stop()
				h.RTT = ev.at.Sub(sp.at)
				return h, nil
			}
		}
	}
	return h, nil
}
