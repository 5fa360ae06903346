package simrun

import (
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/observe"
	"github.com/mptcp-go/mptcp/scenario"
)

// traceClient reports whether the client's end is the traced one: the
// first flow's sender is, the client for an upload, the server for a
// download or both directions.
func (r *run) traceClient() bool {
	return r.sc.Transfer.Direction == scenario.Upload
}

// traceConfigs returns the client's and the server's configurations,
// the traced end's with the tracer as its event sink (in the simulator
// the sink runs on the simulator's goroutine, in virtual time).
func (r *run) traceConfigs(cfg core.Config) (client, server core.Config) {
	client, server = cfg, cfg
	if r.opts.Trace == nil {
		return client, server
	}
	r.tracer = observe.NewTracer(r.opts.Trace, 0, netsim.Epoch)
	traced := &server
	if r.traceClient() {
		traced = &client
	}
	prev := traced.Events
	traced.Events = func(ev core.Event) {
		if prev != nil {
			prev(ev)
		}
		r.tracer.Event(ev)
	}
	return client, server
}

// tracedConn returns the traced end's MPTCP connection, nil before it
// exists.
func (r *run) tracedConn() *core.Conn {
	if len(r.flows) == 0 {
		return nil
	}
	return r.flows[0].snd
}

// startTrace samples the traced connection every trace interval from the
// transfer's start.
func (r *run) startTrace(start time.Time) {
	if r.tracer == nil {
		return
	}
	every := r.opts.TraceInterval
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	var tick *netsim.Timer
	tick = r.sim.NewTimer(func() {
		r.traceSample()
		tick.ResetAfter(every)
	})
	tick.Reset(start.Add(every))
}

func (r *run) traceSample() {
	if c := r.tracedConn(); c != nil {
		ci := c.Info()
		r.tracer.Sample(r.sim.Now(), &ci)
	}
}

// endTrace takes the last sample and writes what is pending.
func (r *run) endTrace() error {
	if r.tracer == nil {
		return nil
	}
	r.traceSample()
	return r.tracer.Close()
}
