package tcp

import "time"

// rttEstimator keeps the smoothed RTT and its variation (RFC 6298) and the
// windowed minimum RTT that RACK and the congestion controller use.
type rttEstimator struct {
	srtt, rttvar time.Duration
	latest       time.Duration
	hasSample    bool
	min          minFilter

	rto     time.Duration // before backoff
	backoff uint          // RTO doublings since the last new ACK
	minRTO  time.Duration
	maxRTO  time.Duration
}

// minRTTWindow is how long a minimum RTT sample is remembered (Linux's
// tcp_min_rtt_wlen default).
const minRTTWindow = 300 * time.Second

func (r *rttEstimator) init(initial, minRTO, maxRTO time.Duration) {
	r.rto, r.minRTO, r.maxRTO = initial, minRTO, maxRTO
}

// sample folds one RTT measurement in (RFC 6298 section 2).
func (r *rttEstimator) sample(now, rtt time.Duration) {
	if rtt <= 0 {
		rtt = time.Microsecond
	}
	r.latest = rtt
	r.min.update(now, rtt, minRTTWindow)
	if !r.hasSample {
		r.hasSample = true
		r.srtt = rtt
		r.rttvar = rtt / 2
	} else {
		d := r.srtt - rtt
		if d < 0 {
			d = -d
		}
		r.rttvar = (3*r.rttvar + d) / 4
		r.srtt = (7*r.srtt + rtt) / 8
	}
	// Linux's form: the minimum bounds the variation term rather than the
	// whole RTO, so a path's RTO keeps a margin over its RTT.
	r.rto = min(max(r.srtt+max(4*r.rttvar, r.minRTO), r.minRTO), r.maxRTO)
}

// currentRTO returns the RTO with backoff applied.
func (r *rttEstimator) currentRTO() time.Duration {
	d := r.rto
	for i := uint(0); i < r.backoff && d < r.maxRTO; i++ {
		d *= 2
	}
	return min(d, r.maxRTO)
}

// minRTT returns the windowed minimum, or 0 before any sample.
func (r *rttEstimator) minRTT() time.Duration { return r.min.get() }

// minFilter tracks the minimum of samples over a time window with three
// candidates (Kathleen Nichols' algorithm, as Linux's lib/minmax.c), in
// constant space and time.
type minFilter struct {
	s [3]struct{ t, v time.Duration }
}

func (f *minFilter) get() time.Duration { return f.s[0].v }

func (f *minFilter) update(now, v, win time.Duration) {
	e := struct{ t, v time.Duration }{now, v}
	if f.s[0].v == 0 || v <= f.s[0].v || now-f.s[2].t > win {
		f.s[0], f.s[1], f.s[2] = e, e, e
		return
	}
	if v <= f.s[1].v {
		f.s[1], f.s[2] = e, e
	} else if v <= f.s[2].v {
		f.s[2] = e
	}
	// Expire the best candidate and promote the next ones.
	dt := now - f.s[0].t
	if dt > win {
		f.s[0], f.s[1], f.s[2] = f.s[1], f.s[2], e
		if now-f.s[0].t > win {
			f.s[0], f.s[1] = f.s[1], f.s[2]
		}
	} else if f.s[1].t == f.s[0].t && dt > win/4 {
		f.s[1], f.s[2] = e, e
	} else if f.s[2].t == f.s[1].t && dt > win/2 {
		f.s[2] = e
	}
}
