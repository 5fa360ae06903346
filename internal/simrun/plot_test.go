package simrun

import (
	"bytes"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotResult is a small made-up run: two subflows, WiFi down from 2 s to
// 3 s.
func plotResult() *Result {
	res := &Result{Scenario: "made-up", Seed: 1, Scheduler: "default", CC: "cubic", PM: "fullmesh",
		Subflows: []SubflowResult{{ID: 0, Path: "wifi"}, {ID: 1, Path: "cellular"}},
		Outages:  []Outage{{Path: "wifi", FromS: 2, ToS: 3}}}
	for i := 1; i <= 5; i++ {
		wifi := 20e6
		if i == 3 {
			wifi = 0
		}
		res.Intervals = append(res.Intervals, Interval{T: float64(i), TotalBps: wifi + 10e6,
			SubflowBps: map[string]float64{"0": wifi, "1": 10e6}})
	}
	for j := range 100 {
		t := float64(j) / 20
		for k := range res.Subflows {
			res.Subflows[k].Cwnd = append(res.Subflows[k].Cwnd, CwndPoint{T: t, Bytes: 10000 + 1000*(j%10)})
		}
	}
	return res
}

// TestPlotLegendBesideData (issue 19, point 9): each panel's legend is in
// a box to the right of the panel, inside the canvas, large enough for
// its entries, and the outage is one of them.
func TestPlotLegendBesideData(t *testing.T) {
	panels, err := runPanels(plotResult())
	if err != nil {
		t.Fatal(err)
	}
	dc := draw.New(vgimg.New(10*vg.Inch, 7*vg.Inch))
	lay := layoutPanels(dc, panels)
	for i, box := range lay.boxes {
		pc := lay.panels[i]
		if box.Size().Y == 0 {
			t.Fatalf("panel %d has no legend", i)
		}
		if box.Min.X < pc.Max.X || box.Max.X > dc.Max.X || box.Min.Y < dc.Min.Y || box.Max.Y > pc.Max.Y {
			t.Errorf("panel %d (%v): legend box %v overlaps it or leaves the canvas %v", i, pc.Rectangle, box, dc.Rectangle)
		}
		need := lay.legends[i].Rectangle(dc).Size()
		if got := box.Size(); got.X < need.X+2*legendPad || got.Y < need.Y+2*legendPad {
			t.Errorf("panel %d: legend box %v too small for %v", i, got, need)
		}
	}
}

// TestPlotSVG (issue 19, point 9): the SVG names a font family every
// viewer has, and marks the outage.
func TestPlotSVG(t *testing.T) {
	var b bytes.Buffer
	if err := Plot(&b, plotResult(), "svg"); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if n := strings.Count(svg, "font-family:"); n == 0 || n != strings.Count(svg, "sans-serif;") {
		t.Errorf("%d font-family declarations, %d of them ending in sans-serif", n, strings.Count(svg, "sans-serif;"))
	}
	if n := strings.Count(svg, ">wifi down<"); n != 2 {
		t.Errorf("the outage is named %d times, want once per panel", n)
	}
}
