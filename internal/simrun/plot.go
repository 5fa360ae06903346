package simrun

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// PlotFormat returns the image format for a file name: "svg" or "png".
func PlotFormat(name string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".svg":
		return "svg", nil
	case ".png":
		return "png", nil
	default:
		return "", fmt.Errorf("plot file %q: want a .svg or .png name", name)
	}
}

// Plot draws a run as two panels sharing the time axis: each subflow's
// throughput with the total (and competitors'), and each subflow's
// congestion window. format is "svg" or "png".
func Plot(w io.Writer, res *Result, format string) error {
	tp := plot.New()
	tp.Title.Text = fmt.Sprintf("%s (seed %d): scheduler %s, cc %s, pm %s", res.Scenario, res.Seed, res.Scheduler, res.CC, res.PM)
	tp.Y.Label.Text = "throughput (Mbit/s)"
	tp.Legend.Top = true
	cw := plot.New()
	cw.X.Label.Text = "time (s)"
	cw.Y.Label.Text = "cwnd (kB)"
	cw.Legend.Top = true

	series := func(get func(Interval) (float64, bool)) plotter.XYs {
		var xy plotter.XYs
		for _, iv := range res.Intervals {
			if v, ok := get(iv); ok {
				xy = append(xy, plotter.XY{X: iv.T, Y: v})
			}
		}
		return xy
	}
	i := 0
	add := func(p *plot.Plot, name string, xy plotter.XYs, width vg.Length, dashed bool) error {
		if len(xy) == 0 {
			return nil
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Width = width
		if dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	for _, sf := range res.Subflows {
		key := strconv.Itoa(sf.ID)
		name := fmt.Sprintf("[%d] %s", sf.ID, sf.Path)
		if err := add(tp, name, series(func(iv Interval) (float64, bool) {
			v, ok := iv.SubflowBps[key]
			return v / 1e6, ok
		}), vg.Points(1.5), false); err != nil {
			return err
		}
		if err := add(cw, name, series(func(iv Interval) (float64, bool) {
			v, ok := iv.Cwnd[key]
			return float64(v) / 1e3, ok
		}), vg.Points(1.5), false); err != nil {
			return err
		}
		i++
	}
	for _, c := range res.Competitors {
		if err := add(tp, c.Name+" (TCP)", series(func(iv Interval) (float64, bool) {
			v, ok := iv.CompetitorBps[c.Name]
			return v / 1e6, ok
		}), vg.Points(1.5), true); err != nil {
			return err
		}
		i++
	}
	total, err := plotter.NewLine(series(func(iv Interval) (float64, bool) { return iv.TotalBps / 1e6, true }))
	if err != nil {
		return err
	}
	total.Color = color.Black
	total.Width = vg.Points(2)
	tp.Add(total)
	tp.Legend.Add("total (application)", total)
	tp.Y.Min, cw.Y.Min = 0, 0
	tp.Add(plotter.NewGrid())
	cw.Add(plotter.NewGrid())
	// Both panels span the same time.
	cw.X.Min, cw.X.Max = tp.X.Min, tp.X.Max

	return drawPanels(w, format, tp, cw)
}

// drawPanels draws plots one above the other on one canvas.
func drawPanels(w io.Writer, format string, panels ...*plot.Plot) error {
	width, height := 10*vg.Inch, 7*vg.Inch
	var canvas vg.CanvasWriterTo
	switch format {
	case "svg":
		canvas = vgsvg.New(width, height)
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.New(width, height)}
	default:
		return fmt.Errorf("plot format %q: want svg or png", format)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadY: vg.Points(8)}
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	_, err := canvas.WriteTo(w)
	return err
}

// PlotNet draws a version 2 run as two panels: the flows' goodputs ranked
// from lowest to highest (the datacenter papers' per-host throughput
// figure), and the per-subflow throughput of the first flow with series.
func PlotNet(w io.Writer, res *NetResult, format string) error {
	rank := plot.New()
	rank.Title.Text = fmt.Sprintf("%s (seed %d): %d flows, Jain index %.3f", res.Scenario, res.Seed, len(res.Flows), res.JainIndex)
	rank.X.Label.Text = "flow (ranked by goodput)"
	rank.Y.Label.Text = "goodput (Mbit/s)"
	gs := make([]float64, len(res.Flows))
	for i, f := range res.Flows {
		gs[i] = f.GoodputBps / 1e6
	}
	sort.Float64s(gs)
	pts := make(plotter.XYs, len(gs))
	for i, g := range gs {
		pts[i] = plotter.XY{X: float64(i + 1), Y: g}
	}
	if err := plotutil.AddLinePoints(rank, "goodput", pts); err != nil {
		return err
	}
	sub := plot.New()
	sub.X.Label.Text = "time (s)"
	sub.Y.Label.Text = "subflow throughput (Mbit/s)"
	sub.Legend.Top = true
	if len(res.Series) > 0 {
		first := res.Series[0].Flow
		sub.Title.Text = "flow " + first
		lines := map[int]plotter.XYs{}
		var ids []int
		for _, p := range res.Series {
			if p.Flow != first {
				continue
			}
			if _, ok := lines[p.Subflow]; !ok {
				ids = append(ids, p.Subflow)
			}
			lines[p.Subflow] = append(lines[p.Subflow], plotter.XY{X: p.T, Y: p.Bps / 1e6})
		}
		for i, id := range ids {
			l, err := plotter.NewLine(lines[id])
			if err != nil {
				return err
			}
			l.Color = plotutil.Color(i)
			sub.Add(l)
			sub.Legend.Add("subflow "+strconv.Itoa(id), l)
		}
	}
	return drawPanels(w, format, rank, sub)
}
