package simrun

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
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
// receive rate with the application's goodput (and competitors'), and
// each subflow's congestion window, sampled finely enough to show its
// sawtooth. Path outages are shaded in both panels. format is "svg" or
// "png".
func Plot(w io.Writer, res *Result, format string) error {
	panels, err := runPanels(res)
	if err != nil {
		return err
	}
	return drawPanels(w, format, panels...)
}

// runPanels makes Plot's two panels.
func runPanels(res *Result) ([]*plot.Plot, error) {
	tp := newPlot()
	tp.Title.Text = fmt.Sprintf("%s (seed %d): scheduler %s, cc %s, pm %s", res.Scenario, res.Seed, res.Scheduler, res.CC, res.PM)
	tp.Y.Label.Text = "throughput (Mbit/s)"
	cw := newPlot()
	cw.X.Label.Text = "time (s)"
	cw.Y.Label.Text = "cwnd (kB)"

	addOutages(res, tp, cw)
	series := func(get func(Interval) (float64, bool)) plotter.XYs {
		var xy plotter.XYs
		for _, iv := range res.Intervals {
			if v, ok := get(iv); ok {
				xy = append(xy, plotter.XY{X: iv.T, Y: v})
			}
		}
		return xy
	}
	add := func(p *plot.Plot, name string, xy plotter.XYs, clr color.Color, dashed bool) error {
		if len(xy) == 0 {
			return nil
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = clr
		l.Width = vg.Points(1.5)
		if dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	for i, sf := range res.Subflows {
		key := strconv.Itoa(sf.ID)
		name := fmt.Sprintf("[%d] %s", sf.ID, sf.Path)
		if err := add(tp, name, series(func(iv Interval) (float64, bool) {
			v, ok := iv.SubflowBps[key]
			return v / 1e6, ok
		}), plotutil.Color(i), false); err != nil {
			return nil, err
		}
		cwnd := make(plotter.XYs, len(sf.Cwnd))
		for j, c := range sf.Cwnd {
			cwnd[j] = plotter.XY{X: c.T, Y: float64(c.Bytes) / 1e3}
		}
		if err := add(cw, name, cwnd, plotutil.Color(i), false); err != nil {
			return nil, err
		}
	}
	for i, c := range res.Competitors {
		if err := add(tp, c.Name+" (TCP)", series(func(iv Interval) (float64, bool) {
			v, ok := iv.CompetitorBps[c.Name]
			return v / 1e6, ok
		}), plotutil.Color(len(res.Subflows)+i), true); err != nil {
			return nil, err
		}
	}
	if err := add(tp, "total (goodput)", series(func(iv Interval) (float64, bool) { return iv.TotalBps / 1e6, true }), color.Black, false); err != nil {
		return nil, err
	}
	tp.Y.Min, cw.Y.Min = 0, 0
	tp.Add(plotter.NewGrid())
	cw.Add(plotter.NewGrid())
	// Both panels span the same time, from the run's start.
	tp.X.Min, cw.X.Min = 0, 0
	tp.X.Max = max(tp.X.Max, cw.X.Max)
	cw.X.Max = tp.X.Max
	return []*plot.Plot{tp, cw}, nil
}

// addOutages shades each path's outages in the panels, in the colour of
// the path's first subflow, with one legend entry per path.
func addOutages(res *Result, panels ...*plot.Plot) {
	named := map[string]bool{}
	for _, o := range res.Outages {
		clr := color.NRGBA{R: 128, G: 128, B: 128, A: 255}
		for i, sf := range res.Subflows {
			if sf.Path == o.Path {
				r, g, b, _ := plotutil.Color(i).RGBA()
				clr = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 255}
				break
			}
		}
		clr.A = 40
		band := span{from: o.FromS, to: o.ToS, color: clr}
		for _, p := range panels {
			p.Add(band)
			if !named[o.Path] {
				p.Legend.Add(o.Path+" down", band)
			}
		}
		named[o.Path] = true
	}
}

// span shades a stretch of time across the whole height of a panel.
type span struct {
	from, to float64
	color    color.Color
}

// Plot implements plot.Plotter. A span has no data range: it never
// widens the axes, and is clipped to them.
func (s span) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x0, x1 := max(trX(s.from), c.Min.X), min(trX(s.to), c.Max.X)
	if x1 <= x0 {
		return
	}
	c.FillPolygon(s.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
}

// Thumbnail implements plot.Thumbnailer.
func (s span) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.color, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// plotFont is the typeface plots are measured and drawn with: Liberation
// Sans, which gonum/plot embeds for measuring text, has the metrics of
// Arial and Helvetica, the fallbacks an SVG viewer without it uses.
var plotFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// svgFamily is the font family gonum/plot writes in an SVG, and
// svgFamilies the list that replaces it: the same font where it is
// installed, else a metric-compatible one, else the viewer's sans-serif.
const (
	svgFamily   = "font-family:Liberation Sans;"
	svgFamilies = "font-family:Liberation Sans,Arial,Helvetica,sans-serif;"
)

// newPlot returns a plot whose text is in plotFont.
func newPlot() *plot.Plot {
	p := plot.New()
	for _, sty := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		sty.Font.Typeface, sty.Font.Variant = plotFont.Typeface, plotFont.Variant
	}
	return p
}

// drawPanels draws plots one above the other on one canvas, each with its
// legend in a box to its right, outside the data.
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
	lay := layoutPanels(dc, panels)
	for i, p := range panels {
		p.Draw(lay.panels[i])
		box := lay.boxes[i]
		if box.Size().Y == 0 {
			continue
		}
		corners := []vg.Point{box.Min, {X: box.Max.X, Y: box.Min.Y}, box.Max, {X: box.Min.X, Y: box.Max.Y}}
		dc.FillPolygon(color.NRGBA{R: 248, G: 248, B: 248, A: 255}, corners)
		dc.StrokeLines(draw.LineStyle{Color: color.NRGBA{R: 160, G: 160, B: 160, A: 255}, Width: vg.Points(0.5)}, append(corners, box.Min))
		lay.legends[i].Draw(draw.Crop(draw.Canvas{Canvas: dc.Canvas, Rectangle: box}, legendPad, -legendPad, legendPad, -legendPad))
	}
	if format != "svg" {
		_, err := canvas.WriteTo(w)
		return err
	}
	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return err
	}
	_, err := w.Write(bytes.ReplaceAll(b.Bytes(), []byte(svgFamily), []byte(svgFamilies)))
	return err
}

// legendPad is the space around and inside a legend box.
const legendPad = vg.Length(6)

// layout is where drawPanels puts each panel and its legend.
type layout struct {
	panels  []draw.Canvas
	legends []plot.Legend
	boxes   []vg.Rectangle // empty for a panel without a legend
}

// layoutPanels stacks the panels in dc, leaving a strip on the right for
// their legends, which it takes out of the panels: each is drawn in a box
// level with the top of its panel's data area.
func layoutPanels(dc draw.Canvas, panels []*plot.Plot) layout {
	lay := layout{legends: make([]plot.Legend, len(panels)), boxes: make([]vg.Rectangle, len(panels))}
	var legendW vg.Length
	for i, p := range panels {
		lay.legends[i] = p.Legend
		lay.legends[i].Top, lay.legends[i].Left = true, true
		p.Legend = plot.NewLegend()
		legendW = max(legendW, lay.legends[i].Rectangle(dc).Size().X)
	}
	strip := vg.Length(0)
	if legendW > 0 {
		strip = legendW + 5*legendPad // a gap, the box's two paddings, a margin
	}
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadY: vg.Points(8)}
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*plot.Plot{p}
	}
	for i, c := range plot.Align(rows, tiles, draw.Crop(dc, 0, -strip, 0, 0)) {
		pc := c[0]
		lay.panels = append(lay.panels, pc)
		h := lay.legends[i].Rectangle(dc).Size().Y
		if h == 0 {
			continue
		}
		top := pc.Max.Y
		if p := panels[i]; p.Title.Text != "" {
			top -= p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
		}
		lay.boxes[i] = vg.Rectangle{Min: vg.Point{X: dc.Max.X - strip + legendPad, Y: top - h - 2*legendPad}, Max: vg.Point{X: dc.Max.X - legendPad, Y: top}}
	}
	return lay
}

// PlotNet draws a version 2 run as two panels: the flows' goodputs ranked
// from lowest to highest (the datacenter papers' per-host throughput
// figure), and the per-subflow throughput of the first flow with series.
func PlotNet(w io.Writer, res *NetResult, format string) error {
	rank := newPlot()
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
	sub := newPlot()
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
