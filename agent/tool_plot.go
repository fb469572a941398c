package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"regexp"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

type plotSeries struct {
	Name string    `json:"name"`
	X    []float64 `json:"x"`
	Y    []float64 `json:"y"`
}

type plotArgs struct {
	Title  string       `json:"title"`
	XLabel string       `json:"x_label"`
	YLabel string       `json:"y_label"`
	Kind   string       `json:"kind"`
	Labels []string     `json:"labels"`
	Series []plotSeries `json:"series"`
}

// RenderPlot draws a line or bar chart as a PNG.
func RenderPlot(a plotArgs) ([]byte, error) {
	p := plot.New()
	p.Title.Text = a.Title
	p.X.Label.Text = a.XLabel
	p.Y.Label.Text = a.YLabel
	p.Add(plotter.NewGrid())
	switch a.Kind {
	case "bar":
		w := vg.Points(float64(40) / float64(len(a.Series)))
		for i, s := range a.Series {
			bars, err := plotter.NewBarChart(plotter.Values(s.Y), w)
			if err != nil {
				return nil, fmt.Errorf("series %q: %w", s.Name, err)
			}
			bars.Color = plotutil.Color(i)
			bars.LineStyle.Width = 0
			bars.Offset = w * vg.Length(i-len(a.Series)/2)
			p.Add(bars)
			p.Legend.Add(s.Name, bars)
		}
		if len(a.Labels) > 0 {
			p.NominalX(a.Labels...)
		}
	default:
		for i, s := range a.Series {
			xys := make(plotter.XYs, len(s.Y))
			for j := range s.Y {
				xys[j].X = float64(j + 1)
				if len(s.X) == len(s.Y) {
					xys[j].X = s.X[j]
				}
				xys[j].Y = s.Y[j]
			}
			l, pts, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, fmt.Errorf("series %q: %w", s.Name, err)
			}
			l.Color = plotutil.Color(i)
			pts.Color = plotutil.Color(i)
			pts.Shape = plotutil.Shape(i)
			p.Add(l, pts)
			p.Legend.Add(s.Name, l, pts)
		}
	}
	p.Legend.Top = true
	p.BackgroundColor = color.White
	wt, err := p.WriterTo(7*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return nil, fmt.Errorf("render plot: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render plot: %w", err)
	}
	return buf.Bytes(), nil
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// PlotTool is make_a_plot: a PNG chart of numbers that tools returned in
// this conversation (numbers no tool returned are refused), attached to
// the answer (uploaded in a merge request).
func PlotTool() *Tool {
	return &Tool{
		Name: ToolPlot,
		Description: "Draw a line or bar chart (PNG) of experiment or benchmark results and attach it to the answer. " +
			"Every y value must be a number that a tool returned in this conversation. Put the returned image markdown in your answer.",
		Schema: `{"type":"object","additionalProperties":false,"required":["title","series"],"properties":{
"title":{"type":"string","minLength":1,"maxLength":120},
"x_label":{"type":"string","maxLength":60},
"y_label":{"type":"string","maxLength":60},
"kind":{"type":"string","enum":["line","bar"]},
"labels":{"type":"array","maxItems":50,"items":{"type":"string","maxLength":40},"description":"bar chart: one label per bar group"},
"series":{"type":"array","minItems":1,"maxItems":8,"items":{"type":"object","additionalProperties":false,"required":["name","y"],"properties":{
  "name":{"type":"string","minLength":1,"maxLength":60},
  "x":{"type":"array","maxItems":1000,"items":{"type":"number"}},
  "y":{"type":"array","minItems":1,"maxItems":1000,"items":{"type":"number"}}}}}}}`,
		Timeout: 20 * time.Second,
		Run: func(ctx context.Context, tc *ToolCtx, raw json.RawMessage) (string, error) {
			var a plotArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return "", err
			}
			for _, s := range a.Series {
				if len(s.X) > 0 && len(s.X) != len(s.Y) {
					return "", fmt.Errorf("series %q: %d x values for %d y values", s.Name, len(s.X), len(s.Y))
				}
				for _, y := range s.Y {
					if !tc.Conv.knownNumber(y) {
						return "", fmt.Errorf("series %q: %g is not a number any tool returned in this conversation; plot only measured data", s.Name, y)
					}
				}
			}
			if tc.Attach == nil {
				return "", errors.New("plots cannot be attached here")
			}
			png, err := RenderPlot(a)
			if err != nil {
				return "", err
			}
			name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(a.Title), "-"), "-")
			if len(name) > 40 {
				name = name[:40]
			}
			md, err := tc.Attach.Attach(ctx, "pgai-plot-"+name+".png", png)
			if err != nil {
				return "", fmt.Errorf("attach the plot: %w", err)
			}
			tc.Conv.AddLink(md)
			for _, u := range urlRe.FindAllString(md, -1) {
				tc.Conv.AddLink(u)
			}
			out, _ := json.Marshal(map[string]any{"image_markdown": md, "bytes": len(png)})
			return string(out), nil
		},
	}
}
