package simrun

import (
	"fmt"
	"io"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/mptcp-go/mptcp/observe"
)

// PlotTrace draws a connection's trace (observe.Tracer's JSON lines) as
// the simulator draws a run: three panels sharing the time axis, each
// subflow's throughput (data-level bytes between samples, both
// directions), congestion window and smoothed RTT. format is "svg" or
// "png".
func PlotTrace(w io.Writer, recs []observe.TraceRecord, format string) error {
	type point struct {
		t           float64
		bytes       uint64
		cwnd        int
		srtt        float64
		local, peer string
	}
	series := map[int][]point{}
	title := "trace"
	var policies string
	for _, r := range recs {
		switch r.Kind {
		case observe.TraceKindTrace:
			title = fmt.Sprintf("connection %s (%s side)", r.Token, r.Side)
		case observe.TraceKindConn:
			policies = fmt.Sprintf(": scheduler %s, cc %s, pm %s", r.Scheduler, r.CC, r.PM)
		case observe.TraceKindSample:
			if r.Subflow == nil {
				return fmt.Errorf("sample at t=%g without a subflow", r.T)
			}
			series[*r.Subflow] = append(series[*r.Subflow], point{t: r.T, bytes: r.BytesSent + r.BytesReceived,
				cwnd: r.Cwnd, srtt: r.SRTTMs, local: r.Local, peer: r.Remote})
		}
	}
	if len(series) == 0 {
		return fmt.Errorf("the trace has no samples")
	}
	ids := make([]int, 0, len(series))
	for id := range series {
		ids = append(ids, id)
	}
	sort.Ints(ids)

	tp := plot.New()
	tp.Title.Text = title + policies
	tp.Y.Label.Text = "throughput (Mbit/s)"
	cw := plot.New()
	cw.Y.Label.Text = "cwnd (kB)"
	rt := plot.New()
	rt.X.Label.Text = "time (s)"
	rt.Y.Label.Text = "srtt (ms)"
	for _, p := range []*plot.Plot{tp, cw, rt} {
		p.Legend.Top = true
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
	}
	for i, id := range ids {
		pts := series[id]
		var rate, win, rtt plotter.XYs
		for j, p := range pts {
			if j > 0 && p.t > pts[j-1].t && p.bytes >= pts[j-1].bytes {
				rate = append(rate, plotter.XY{X: p.t, Y: float64(p.bytes-pts[j-1].bytes) * 8 / (p.t - pts[j-1].t) / 1e6})
			}
			win = append(win, plotter.XY{X: p.t, Y: float64(p.cwnd) / 1e3})
			rtt = append(rtt, plotter.XY{X: p.t, Y: p.srtt})
		}
		name := fmt.Sprintf("[%d] %s -> %s", id, pts[0].local, pts[0].peer)
		for _, panel := range []struct {
			p  *plot.Plot
			xy plotter.XYs
		}{{tp, rate}, {cw, win}, {rt, rtt}} {
			if len(panel.xy) == 0 {
				continue
			}
			l, err := plotter.NewLine(panel.xy)
			if err != nil {
				return err
			}
			l.Color = plotutil.Color(i)
			l.Width = vg.Points(1.5)
			panel.p.Add(l)
			panel.p.Legend.Add(name, l)
		}
	}
	// The panels span the same time.
	minX, maxX := tp.X.Min, tp.X.Max
	for _, p := range []*plot.Plot{cw, rt} {
		minX, maxX = min(minX, p.X.Min), max(maxX, p.X.Max)
	}
	for _, p := range []*plot.Plot{tp, cw, rt} {
		p.X.Min, p.X.Max = minX, maxX
	}
	return drawPanels(w, format, tp, cw, rt)
}
