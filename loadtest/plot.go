package loadtest

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PlotFile is a rendered PNG.
type PlotFile struct {
	Name string
	PNG  []byte
}

// SummaryPlot is the file name of the three plots in one image (the one
// posted on merge requests).
const SummaryPlot = "summary.png"

var palette = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, {R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, {R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, {R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, {R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}

func variantName(ab, v string) string {
	if v == "" {
		return "TPS"
	}
	return ab + "=" + v
}

// Plots renders the run's plots: TPS vs clients (with the iterations'
// range), latency percentiles vs clients, TPS over time, and the three in
// one summary image.
func Plots(run *Run, res *Results) ([]PlotFile, error) {
	title := run.Name
	if title == "" {
		title = "pgbench"
	}
	if run.Server != "" {
		title += " — " + shortVersion(run.Server)
	}
	tps, err := tpsVsClients(run, res, title)
	if err != nil {
		return nil, err
	}
	lat, err := latencyPercentiles(run, res)
	if err != nil {
		return nil, err
	}
	tl, err := tpsOverTime(run)
	if err != nil {
		return nil, err
	}
	headroom(tps, len(run.Spec.Variants()))
	headroom(lat, 3*len(run.Spec.Variants()))
	headroom(tl, len(res.Points))
	var out []PlotFile
	for _, p := range []struct {
		name string
		p    *plot.Plot
	}{{"tps_vs_clients.png", tps}, {"latency_percentiles.png", lat}, {"tps_over_time.png", tl}} {
		b, err := renderPNG(p.p, 8*vg.Inch, 4.5*vg.Inch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		out = append(out, PlotFile{Name: p.name, PNG: b})
	}
	// The same three, stacked.
	img := vgimg.NewWith(vgimg.UseWH(8*vg.Inch, 12*vg.Inch), vgimg.UseDPI(96))
	dc := draw.New(img)
	dc = draw.Crop(dc, 0, 0, 0, 0)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10), PadY: vg.Points(14)}
	fill(dc)
	canvases := plot.Align([][]*plot.Plot{{tps}, {lat}, {tl}}, tiles, dc)
	tps.Draw(canvases[0][0])
	lat.Draw(canvases[1][0])
	tl.Draw(canvases[2][0])
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("summary plot: %w", err)
	}
	out = append(out, PlotFile{Name: SummaryPlot, PNG: buf.Bytes()})
	return out, nil
}

func fill(c draw.Canvas) {
	c.SetColor(color.White)
	var p vg.Path
	p.Move(vg.Point{X: c.Min.X, Y: c.Min.Y})
	p.Line(vg.Point{X: c.Max.X, Y: c.Min.Y})
	p.Line(vg.Point{X: c.Max.X, Y: c.Max.Y})
	p.Line(vg.Point{X: c.Min.X, Y: c.Max.Y})
	p.Close()
	c.Fill(p)
}

func shortVersion(v string) string {
	// "PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, ..." -> "PostgreSQL 15.20"
	var major, rest string
	if n, _ := fmt.Sscanf(v, "%s %s", &major, &rest); n == 2 {
		return major + " " + rest
	}
	return v
}

// headroom leaves the top of a plot to its legend of n lines (about a
// twelfth of the height each), so that no line of data runs under it.
func headroom(p *plot.Plot, n int) {
	frac := min(0.1+0.085*float64(n), 0.7)
	p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)/(1-frac)
}

func renderPNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96))
	dc := draw.New(img)
	fill(dc)
	p.Draw(dc)
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rangeBars draws the min–max range of iterations at each point.
type rangeBars struct {
	xys  plotter.XYs
	low  []float64
	high []float64
	col  color.Color
}

func (r rangeBars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	ls := draw.LineStyle{Color: r.col, Width: vg.Points(1)}
	for i, xy := range r.xys {
		if r.high[i] <= r.low[i] {
			continue
		}
		x := tx(xy.X)
		y0, y1 := ty(r.low[i]), ty(r.high[i])
		c.StrokeLine2(ls, x, y0, x, y1)
		c.StrokeLine2(ls, x-vg.Points(3), y0, x+vg.Points(3), y0)
		c.StrokeLine2(ls, x-vg.Points(3), y1, x+vg.Points(3), y1)
	}
}

func (r rangeBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for i, xy := range r.xys {
		xmin, xmax = math.Min(xmin, xy.X), math.Max(xmax, xy.X)
		ymin, ymax = math.Min(ymin, r.low[i]), math.Max(ymax, r.high[i])
	}
	return
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(4)
	p.Add(plotter.NewGrid())
	return p
}

func clientTicks(clients []int) plot.ConstantTicks {
	var t plot.ConstantTicks
	for _, c := range clients {
		t = append(t, plot.Tick{Value: float64(c), Label: fmt.Sprint(c)})
	}
	return t
}

func tpsVsClients(run *Run, res *Results, title string) (*plot.Plot, error) {
	p := newPlot(title+": TPS vs clients", "clients", "transactions per second")
	p.X.Tick.Marker = clientTicks(run.Spec.Workload.Clients)
	p.Y.Min = 0
	for i, v := range run.Spec.Variants() {
		var xys plotter.XYs
		var lo, hi []float64
		for _, ps := range res.Points {
			if ps.Variant != v.Label {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(ps.Clients), Y: ps.TPS.Mean})
			lo, hi = append(lo, ps.TPS.Min), append(hi, ps.TPS.Max)
		}
		if len(xys) == 0 {
			continue
		}
		col := palette[i%len(palette)]
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		l.Color, s.Color = col, col
		l.Width = vg.Points(2)
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(3)
		p.Add(l, s, rangeBars{xys: xys, low: lo, high: hi, col: col})
		p.Legend.Add(variantName(res.AB, v.Label), l, s)
	}
	return p, nil
}

func latencyPercentiles(run *Run, res *Results) (*plot.Plot, error) {
	p := newPlot("Latency percentiles (per-transaction log)", "clients", "latency, ms")
	p.X.Tick.Marker = clientTicks(run.Spec.Workload.Clients)
	p.Y.Min = 0
	dashes := [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(2), vg.Points(2), vg.Points(2)}}
	pcts := []struct {
		name string
		get  func(PointStats) float64
		col  color.RGBA
	}{
		{"p50", func(s PointStats) float64 { return s.P50Ms.Mean }, palette[2]},
		{"p95", func(s PointStats) float64 { return s.P95Ms.Mean }, palette[3]},
		{"p99", func(s PointStats) float64 { return s.P99Ms.Mean }, palette[1]},
	}
	for vi, v := range run.Spec.Variants() {
		for _, pc := range pcts {
			var xys plotter.XYs
			for _, ps := range res.Points {
				if ps.Variant == v.Label {
					xys = append(xys, plotter.XY{X: float64(ps.Clients), Y: pc.get(ps)})
				}
			}
			if len(xys) == 0 {
				continue
			}
			l, s, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, err
			}
			l.Color, s.Color = pc.col, pc.col
			l.Width = vg.Points(1.5)
			l.Dashes = dashes[vi%len(dashes)]
			s.Shape = draw.CircleGlyph{}
			p.Add(l, s)
			name := pc.name
			if v.Label != "" {
				name = variantName(res.AB, v.Label) + " " + pc.name
			}
			p.Legend.Add(name, l, s)
		}
	}
	return p, nil
}

func tpsOverTime(run *Run) (*plot.Plot, error) {
	p := newPlot("TPS over time (transactions completed per second)", "seconds into the run", "TPS")
	p.Y.Min = 0
	type key struct {
		v string
		c int
	}
	sums := map[key][]float64{}
	counts := map[key][]int{}
	var order []key
	for _, it := range run.Iterations {
		if it.Error != "" || len(it.Latency.PerSecond) == 0 {
			continue
		}
		k := key{it.Variant, it.Clients}
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		ps := it.Latency.PerSecond
		for len(sums[k]) < len(ps) {
			sums[k] = append(sums[k], 0)
			counts[k] = append(counts[k], 0)
		}
		for i, n := range ps {
			sums[k][i] += float64(n)
			counts[k][i]++
		}
	}
	ab := ""
	if run.Spec.AB != nil {
		ab = run.Spec.AB.Name
	}
	vorder := map[string]int{}
	for i, v := range run.Spec.Variants() {
		vorder[v.Label] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		if vorder[order[i].v] != vorder[order[j].v] {
			return vorder[order[i].v] < vorder[order[j].v]
		}
		return order[i].c < order[j].c
	})
	for i, k := range order {
		var xys plotter.XYs
		for s := range sums[k] {
			xys = append(xys, plotter.XY{X: float64(s), Y: sums[k][s] / float64(counts[k][s])})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		name := fmt.Sprintf("%d clients", k.c)
		if k.v != "" {
			name = variantName(ab, k.v) + ", " + name
		}
		p.Legend.Add(name, l)
	}
	return p, nil
}
