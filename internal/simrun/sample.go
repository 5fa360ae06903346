package simrun

import (
	"fmt"
	"strconv"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// MaxSamples bounds how many samples a run keeps of each series (its
// reporting intervals, each subflow's congestion window): a run's memory
// grows with them, and an interval of a microsecond over half a minute
// would ask for tens of millions.
const MaxSamples = 50_000

// cwndPerInterval is how many congestion window samples a run takes per
// reporting interval: once per interval would hide the sawtooth.
const cwndPerInterval = 20

// CheckInterval returns an error, naming the shortest interval allowed,
// if reporting every interval over a run of duration d would take more
// than MaxSamples samples.
func CheckInterval(d, interval time.Duration) error {
	if interval <= 0 || d <= 0 {
		return nil
	}
	n := (d + interval - 1) / interval
	if n <= MaxSamples {
		return nil
	}
	least := (d + MaxSamples - 1) / MaxSamples
	if least > time.Microsecond {
		least = (least + time.Microsecond - 1).Truncate(time.Microsecond)
	}
	return fmt.Errorf("interval %v over %v makes %d samples, more than the %d a run keeps: use %v or longer", interval, d, int64(n), MaxSamples, least)
}

// cwndStep is how often a run of duration d samples congestion windows:
// cwndPerInterval times per interval, but no more than MaxSamples times.
func cwndStep(d, interval time.Duration) time.Duration {
	step := max(interval/cwndPerInterval, (d+MaxSamples-1)/MaxSamples, time.Microsecond)
	return min(step, interval)
}

// startSampling arms the interval and congestion window timers from the
// transfer's start.
func (r *run) startSampling() {
	start := r.sc.Transfer.Start
	r.lastSample = start
	r.intervalTick = r.sim.NewTimer(func() {
		r.sample()
		r.intervalTick.ResetAfter(r.opts.Interval)
	})
	r.intervalTick.Reset(epoch(start + r.opts.Interval))
	step := cwndStep(r.sc.Duration-start, r.opts.Interval)
	r.cwndTick = r.sim.NewTimer(func() {
		r.sampleCwnd()
		r.cwndTick.ResetAfter(step)
	})
	r.cwndTick.Reset(epoch(start + step))
}

// flowEnded is called when a flow's receiver saw the end of its data.
// Once every flow has, and no competitor runs on, the last (partial)
// interval closes now and sampling stops: rows after the transfer's end
// would only repeat zeros.
func (r *run) flowEnded(f *flow) {
	r.readSubflows(f)
	for _, g := range r.flows {
		if !g.eof {
			return
		}
	}
	if len(r.competitors) == 0 {
		r.stopSampling()
	}
}

// stopSampling closes the interval in progress, if any time has passed
// since the last one, and stops the timers.
func (r *run) stopSampling() {
	if r.intervalTick == nil || !r.intervalTick.Pending() {
		return
	}
	r.intervalTick.Stop()
	r.cwndTick.Stop()
	r.sampleCwnd()
	r.sample()
}

// sample closes a reporting interval: from the last one's end to now,
// which is shorter than the interval for the last one of a run.
func (r *run) sample() {
	now := r.sim.Elapsed()
	if now <= r.lastSample {
		return
	}
	secs := (now - r.lastSample).Seconds()
	r.lastSample = now
	iv := Interval{T: now.Seconds(), SubflowBps: map[string]float64{}, Cwnd: map[string]int{}}
	var total int64
	for _, f := range r.flows {
		total += f.got
		r.readSubflows(f)
		if f.snd != nil {
			for _, sf := range f.snd.Info().Subflows {
				iv.Cwnd[strconv.Itoa(r.subflowKey(f, sf.ID))] = sf.Cwnd
			}
		}
	}
	for _, key := range r.subOrder {
		sr := r.subflows[key]
		iv.SubflowBps[strconv.Itoa(key)] = float64(sr.Bytes-r.lastSub[key]) * 8 / secs
		r.lastSub[key] = sr.Bytes
	}
	iv.TotalBps = float64(total-r.lastTotal) * 8 / secs
	r.lastTotal = total
	if len(r.competitors) > 0 {
		iv.CompetitorBps = map[string]float64{}
		for i, c := range r.competitors {
			iv.CompetitorBps[c.name] = float64(c.got-r.lastComp[i]) * 8 / secs
			r.lastComp[i] = c.got
		}
	}
	r.intervals = append(r.intervals, iv)
	if r.opts.OnInterval != nil {
		r.opts.OnInterval(iv)
	}
}

// sampleCwnd records each sending subflow's congestion window.
func (r *run) sampleCwnd() {
	t := r.sim.Elapsed().Seconds()
	for _, f := range r.flows {
		if f.snd == nil {
			continue
		}
		for _, sf := range f.snd.Info().Subflows {
			key := r.subflowKey(f, sf.ID)
			if s := r.cwnd[key]; len(s) > 0 && s[len(s)-1].T == t {
				continue // the run ended on a sample
			}
			r.cwnd[key] = append(r.cwnd[key], CwndPoint{T: t, Bytes: sf.Cwnd})
		}
	}
}

// subflowKey numbers subflows across the flows of a run: the client's
// subflow IDs for downloads, offset for the server's in an upload.
func (r *run) subflowKey(f *flow, id int) int {
	if f.recvIsClnt {
		return id
	}
	return 1000 + id
}

// readSubflows brings the receiver's subflows' byte counts up to date,
// closed subflows included: a subflow that closed since the last interval
// still delivered its bytes in it.
func (r *run) readSubflows(f *flow) {
	if f.rcv == nil {
		return
	}
	info := f.rcv.Info()
	for _, list := range [2][]core.SubflowInfo{info.ClosedSubflows, info.Subflows} {
		for _, sf := range list {
			r.noteSubflow(f, sf)
		}
	}
}

// noteSubflow records one of the receiver's subflows.
func (r *run) noteSubflow(f *flow, sf core.SubflowInfo) {
	key := r.subflowKey(f, sf.ID)
	sr, ok := r.subflows[key]
	if !ok {
		path := sf.Local.Addr()
		if !f.recvIsClnt {
			path = sf.Remote.Addr()
		}
		sr = &SubflowResult{ID: key, Path: pathName(r.sc, r.top, path), Local: sf.Local.String(), Remote: sf.Remote.String()}
		r.subflows[key] = sr
		r.subOrder = append(r.subOrder, key)
	}
	sr.Bytes, sr.Backup = max(sr.Bytes, sf.BytesReceived), sf.Backup
}
