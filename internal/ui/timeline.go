package ui

import (
	"fmt"
	"math"
	"strings"

	"gitlab.com/pgai/reviewer/dblab"
)

// The lock timeline: one row per relation, one lane per lock mode within
// it, a bar per lock from acquisition to release coloured by what the
// mode blocks, and the statements' boundaries as vertical lines. It is
// inline SVG built by the page template from these numbers (so every name
// in it is escaped by html/template).
type timeline struct {
	Width, Height float64
	PlotX, PlotW  float64
	AxisY         float64
	Rows          []tlRow
	Bars          []tlBar
	Stmts         []tlStmt
	Ticks         []tlTick
	// Approx is true when the experiment did not record when each lock
	// was taken and released (older runs): bars then start with their
	// statement and last as long as the lock was held, and statements
	// follow each other by duration.
	Approx  bool
	TotalMS float64
	// Hidden counts relations left out (more than maxRows).
	Hidden int
}

// maxRows caps the relations drawn; the statements table lists them all.
const maxRows = 40

type tlRow struct {
	Y, H      float64
	TextY     float64
	Label     string
	Kind      string
	Shade     bool
	LaneLines []float64
}

type tlBar struct {
	X, Y, W, H float64
	Class      string
	Label      string
	LabelX     float64
	LabelY     float64
	Title      string
}

type tlStmt struct {
	X, LabelX float64
	Label     string
	Title     string
	Failed    bool
}

type tlTick struct {
	X     float64
	Label string
}

const (
	tlWidth  = 960.0
	tlLabelW = 190.0
	tlPadR   = 16.0
	tlTop    = 26.0
	tlLaneH  = 18.0
	tlRowPad = 6.0
	tlAxisH  = 28.0
)

// blockClass names what a lock mode holds up, for its colour.
func blockClass(blocks []string) string {
	has := func(s string) bool {
		for _, b := range blocks {
			if b == s {
				return true
			}
		}
		return false
	}
	switch {
	case has("reads"):
		return "blk-reads"
	case has("writes"):
		return "blk-writes"
	case has("ddl"):
		return "blk-ddl"
	}
	return "blk-none"
}

// buildTimeline lays out the locks of an experiment's measurements; nil
// when no statement took a lock.
func buildTimeline(ms []dblab.Measurement) *timeline {
	t := &timeline{Width: tlWidth, PlotX: tlLabelW, PlotW: tlWidth - tlLabelW - tlPadR}
	measured := false
	for _, m := range ms {
		if m.StartMS > 0 {
			measured = true
		}
		for _, l := range m.Locks {
			if l.ReleasedMS > 0 {
				measured = true
			}
		}
	}
	t.Approx = !measured
	type span struct {
		from, to float64
		mode     string
		blocks   []string
		stmt     int
	}
	type rel struct {
		name, kind string
		modes      []string
		spans      map[string][]span
	}
	var rels []*rel
	byName := map[string]*rel{}
	starts := make([]float64, len(ms))
	ends := make([]float64, len(ms))
	var clock, total float64
	any := false
	for i, m := range ms {
		if m.Status == dblab.StatusNotRun {
			starts[i], ends[i] = math.NaN(), math.NaN()
			continue
		}
		start := clock
		if measured {
			start = m.StartMS
		}
		starts[i], ends[i] = start, start+m.DurationMS
		clock = ends[i]
		total = math.Max(total, ends[i])
		for _, l := range m.Locks {
			any = true
			from, to := start, start+l.HeldMS
			if measured && (l.ReleasedMS > 0 || l.AcquiredMS > 0) {
				from, to = l.AcquiredMS, l.ReleasedMS
			}
			if to < from {
				to = from
			}
			total = math.Max(total, to)
			r := byName[l.Relation]
			if r == nil {
				r = &rel{name: l.Relation, kind: l.Kind, spans: map[string][]span{}}
				byName[l.Relation] = r
				rels = append(rels, r)
			}
			if _, ok := r.spans[l.Mode]; !ok {
				r.modes = append(r.modes, l.Mode)
			}
			r.spans[l.Mode] = append(r.spans[l.Mode], span{from, to, l.Mode, l.Blocks, i})
		}
	}
	if !any {
		return nil
	}
	if total <= 0 {
		total = 1
	}
	t.TotalMS = total
	scale := t.PlotW / total
	x := func(v float64) float64 { return round1(t.PlotX + v*scale) }
	if len(rels) > maxRows {
		t.Hidden = len(rels) - maxRows
		rels = rels[:maxRows]
	}
	y := tlTop
	for ri, r := range rels {
		// Strongest mode on top.
		modes := r.modes
		for a := 1; a < len(modes); a++ {
			for b := a; b > 0 && dblab.LockStrength(modes[b]) > dblab.LockStrength(modes[b-1]); b-- {
				modes[b], modes[b-1] = modes[b-1], modes[b]
			}
		}
		h := float64(len(modes))*tlLaneH + tlRowPad
		row := tlRow{Y: y, H: h, TextY: round1(y + h/2 + 4), Label: clip(r.name, 26), Kind: r.kind, Shade: ri%2 == 1}
		for li, mode := range modes {
			ly := y + tlRowPad/2 + float64(li)*tlLaneH
			if li > 0 {
				row.LaneLines = append(row.LaneLines, round1(ly))
			}
			for _, s := range r.spans[mode] {
				bx, bw := x(s.from), round1(math.Max((s.to-s.from)*scale, 2))
				b := tlBar{X: bx, Y: round1(ly + 2), W: bw, H: tlLaneH - 4, Class: blockClass(s.blocks),
					Title: fmt.Sprintf("%s on %s, statement #%d: held %s from %s to %s — blocks %s",
						dblab.SQLName(mode), r.name, s.stmt+1, fmtMS(s.to-s.from), fmtMS(s.from), fmtMS(s.to), blocksText(s.blocks))}
				name := dblab.SQLName(mode)
				if float64(len(name))*6.3+8 <= bw {
					b.Label, b.LabelX, b.LabelY = name, round1(bx+4), round1(ly+tlLaneH/2+4)
				}
				t.Bars = append(t.Bars, b)
			}
		}
		t.Rows = append(t.Rows, row)
		y += h
	}
	t.AxisY = round1(y)
	t.Height = round1(y + tlAxisH)
	lastLabel := math.Inf(-1)
	for i, m := range ms {
		if math.IsNaN(starts[i]) {
			continue // not run: no boundary to draw
		}
		first, _, _ := strings.Cut(strings.TrimSpace(m.Statement), "\n")
		st := tlStmt{X: x(starts[i]), LabelX: x(starts[i]) + 3, Label: fmt.Sprintf("#%d", i+1), Failed: m.Error != "",
			Title: fmt.Sprintf("#%d %s:%d, %s: %s", i+1, m.Path, m.Line, fmtMS(m.DurationMS), clip(first, 120))}
		// Labels of statements closer than a label's width would overlap:
		// keep the line, drop the label.
		if st.X-lastLabel < 24 {
			st.Label = ""
		} else {
			lastLabel = st.X
		}
		t.Stmts = append(t.Stmts, st)
	}
	step := niceStep(total / 6)
	for v := 0.0; v <= total+step/1000; v += step {
		t.Ticks = append(t.Ticks, tlTick{X: x(v), Label: fmtMS(v)})
	}
	return t
}

func blocksText(b []string) string {
	if len(b) == 0 {
		return "nothing"
	}
	return strings.Join(b, ", ")
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// fmtMS formats milliseconds for people: 0.4 ms, 12 ms, 1.25 s, 3 min 5 s.
func fmtMS(v float64) string {
	switch {
	case v < 0:
		return "-" + fmtMS(-v)
	case v == 0:
		return "0"
	case v < 10:
		return trimZero(fmt.Sprintf("%.2f", v)) + " ms"
	case v < 1000:
		return fmt.Sprintf("%.0f ms", v)
	case v < 60000:
		return trimZero(fmt.Sprintf("%.2f", v/1000)) + " s"
	}
	m := int(v / 60000)
	return fmt.Sprintf("%d min %d s", m, int(v/1000)-m*60)
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
