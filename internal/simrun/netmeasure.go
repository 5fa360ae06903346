package simrun

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/fairness"
	"github.com/mptcp-go/mptcp/wire"
)

// wireParse is wire.ParseIP, named for the demux that uses it.
func wireParse(pkt []byte) (src, dst netip.Addr, proto uint8, payload []byte, err error) {
	return wire.ParseIP(pkt)
}

// sender and receiver return the ends of c that send and receive the
// flow's main data.
func (c *netConn) sender() (snd, rcv *core.Conn) {
	if c.f.sc.Workload.Upload {
		return c.cli, c.srv
	}
	return c.srv, c.cli
}

// sample records, at the end of an interval, each live receiver's
// out-of-order queue and the first connection's subflows.
func (r *netRun) sample() {
	now := r.sim.Elapsed()
	secs := r.sc.Interval.Seconds()
	for _, f := range r.flows {
		for _, c := range f.conns {
			if _, rcv := c.sender(); rcv != nil && !c.done {
				ooo := rcv.Info().ReceiveOutOfOrder
				f.oooSum += float64(ooo)
				f.oooN++
				f.oooMax = max(f.oooMax, ooo)
			}
		}
		if !r.series || len(f.conns) == 0 {
			continue
		}
		snd, _ := f.conns[0].sender()
		if snd == nil {
			continue
		}
		for _, sf := range snd.Info().Subflows {
			r.points = append(r.points, SeriesPoint{
				T: now.Seconds(), Flow: f.sc.Name, Subflow: sf.ID,
				Path:  sf.Local.Addr().String() + ">" + sf.Remote.Addr().String(),
				RTTMs: float64(sf.SRTT) / float64(time.Millisecond), Cwnd: sf.Cwnd,
				Bps: float64(sf.BytesSent-f.lastSub[sf.ID]) * 8 / secs,
			})
			f.lastSub[sf.ID] = sf.BytesSent
		}
	}
}

func (r *netRun) result() *NetResult {
	res := &NetResult{Scenario: r.sc.Name, Seed: r.sc.Seed, DurationS: r.sc.Duration.Seconds(), IntegrityOK: true, Series: r.points}
	if r.err != nil {
		res.Error = r.err.Error()
	}
	goodputs := make([]float64, 0, len(r.flows))
	var sum float64
	for _, f := range r.flows {
		fr := f.result()
		res.Flows = append(res.Flows, fr)
		res.IntegrityOK = res.IntegrityOK && fr.IntegrityOK
		sum += fr.GoodputBps
		goodputs = append(goodputs, fr.GoodputBps)
	}
	res.TotalGoodputBps, res.MeanGoodputBps = sum, sum/float64(len(r.flows))
	res.JainIndex = fairness.Jain(goodputs)
	res.Links = r.linkResults()
	return res
}

func (f *netFlow) result() FlowResult {
	r := f.r
	fr := FlowResult{
		Name: f.sc.Name, From: f.sc.From, To: f.sc.To, Protocol: f.sc.Protocol, Workload: f.sc.Workload.Kind,
		CC: f.names[1], Connections: len(f.conns), IntegrityOK: f.ok,
		OutOfOrderMaxBytes: f.oooMax, ObjectsLateS: f.maxLag,
	}
	if f.sc.Protocol == "mptcp" {
		fr.Scheduler, fr.PM = f.names[0], f.names[2]
	}
	for _, c := range f.conns {
		fr.BytesDelivered += c.up.got + c.down.got
		for _, end := range []*core.Conn{c.cli, c.srv} {
			if end == nil {
				continue
			}
			info := end.Info()
			fr.FellBack = fr.FellBack || (f.sc.Protocol == "mptcp" && info.FellBack)
			for _, sf := range append(info.Subflows, info.ClosedSubflows...) {
				fr.Retransmits += sf.Retransmits
			}
			fr.Subflows = max(fr.Subflows, len(info.Subflows)+len(info.ClosedSubflows))
		}
	}
	if f.oooN > 0 {
		fr.OutOfOrderMeanBytes = f.oooSum / float64(f.oooN)
	}
	end := r.sc.Duration
	if f.slotsDone == f.sc.Connections {
		fr.Completed, end = true, f.finishedAt
		fr.CompletionS = (f.finishedAt - f.started).Seconds()
	}
	if active := end - f.started; f.dialled && active > 0 {
		fr.GoodputBps = float64(fr.BytesDelivered) * 8 / active.Seconds()
	}
	if len(f.objects) > 0 {
		ds := append([]time.Duration(nil), f.objects...)
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		var tot time.Duration
		for _, d := range ds {
			tot += d
		}
		fr.Objects = len(ds)
		fr.ObjectMeanS = (tot / time.Duration(len(ds))).Seconds()
		fr.ObjectP50S = ds[len(ds)/2].Seconds()
		fr.ObjectP99S = ds[min(len(ds)-1, int(math.Ceil(0.99*float64(len(ds))))-1)].Seconds()
	}
	return fr
}

// linkResults reports every rate-limited direction of every link.
func (r *netRun) linkResults() []LinkResult {
	out := []LinkResult{}
	secs := r.sc.Duration.Seconds()
	for i, l := range r.sc.Links {
		nl := r.top.Links[i]
		for _, d := range []struct {
			from, to string
			rate     int64
			st       func() (uint64, uint64)
		}{
			{l.A, l.B, l.Link.Up.Rate, func() (uint64, uint64) { s := nl.AB().Stats(); return s.DeliveredBytes, s.QueueDrops + s.LossDrops }},
			{l.B, l.A, l.Link.Down.Rate, func() (uint64, uint64) { s := nl.BA().Stats(); return s.DeliveredBytes, s.QueueDrops + s.LossDrops }},
		} {
			if d.rate <= 0 {
				continue
			}
			b, drops := d.st()
			out = append(out, LinkResult{From: d.from, To: d.to, RateBps: d.rate, Bytes: b, Drops: drops,
				Utilisation: float64(b) * 8 / (float64(d.rate) * secs)})
		}
	}
	return out
}

// String summarises a flow in one line.
func (fr FlowResult) String() string {
	return fmt.Sprintf("%s %s->%s %.2f Mbit/s", fr.Name, fr.To, fr.From, fr.GoodputBps/1e6)
}
