package ui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/report"
)

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"ms":    fmtMS,
		"short": shortSHA,
		"ago":   func(t time.Time) string { return ago(h.o.Now(), t) },
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"bytes": fmtBytes,
		"num":   fmtNum,
		"reviewURL": func(k archive.Key) string {
			return Prefix + k.Path()
		},
		"pathEsc": url.PathEscape,
		// pathSegs escapes each segment of a slash-separated name.
		"pathSegs": func(p string) string {
			segs := strings.Split(p, "/")
			for i, s := range segs {
				segs[i] = url.PathEscape(s)
			}
			return strings.Join(segs, "/")
		},
		"verdictText": func(v string) string {
			switch v {
			case archive.VerdictBlocking:
				return "blocking"
			case archive.VerdictWarnings:
				return "to look at"
			case archive.VerdictClean:
				return "clean"
			case archive.VerdictConfigError:
				return "config error"
			}
			return v
		},
		"sev":  func(s checks.Severity) string { return s.String() },
		"add":  func(a, b int) int { return a + b },
		"addf": func(a, b float64) float64 { return a + b },
	}
}

// ---- the review page

type reviewView struct {
	*archive.Review
	Summary  report.Summary
	Findings []findingView
	Files    []fileView
	Measured []measView
	Timeline *timeline
	Counts   string
}

type findingView struct {
	checks.Finding
	Anchor   string
	Where    string
	Evidence []kv
	EditText string
}

type kv struct{ K, V string }

type fileView struct {
	Index int
	ID    string
	Path  string
	Meta  *report.File
	Lines []lineView
}

type lineView struct {
	N      int
	ID     string
	Text   string
	Mark   string
	Titles string
}

func newReviewView(orig *archive.Review) *reviewView {
	r := *orig
	r.Markdown, r.MRTitle = redact(r.Markdown), redact(r.MRTitle)
	v := &reviewView{Review: &r}
	v.Files = fileViews(r.Migrations, "f")
	var ms []dblab.Measurement
	if r.Report != nil {
		v.Summary = r.Report.Summary
		for i := range v.Files {
			for j := range r.Report.Files {
				if samePath(r.Report.Files[j].Path, v.Files[i].Path) {
					v.Files[i].Meta = &r.Report.Files[j]
				}
			}
		}
		for _, f := range r.Report.SortedFindings() {
			f.Message, f.Why, f.Fix, f.Measured = redact(f.Message), redact(f.Why), redact(f.Fix), redact(f.Measured)
			fv := findingView{Finding: f, Where: fmt.Sprintf("%s:%d", f.Path, f.Line)}
			if fi := fileIndex(v.Files, f.Path); fi >= 0 {
				fv.Anchor = lineAnchor(v.Files[fi].ID, f.Line)
				markLines(&v.Files[fi], f)
			}
			fv.Evidence = evidenceRows(f.Evidence)
			if f.Edit != nil {
				fv.EditText = redact(f.Edit.Text)
			}
			v.Findings = append(v.Findings, fv)
		}
		ms = r.Report.Measurements
	}
	v.Measured = measViews(ms, v.Files)
	v.Timeline = buildTimeline(ms)
	return v
}

func samePath(a, b string) bool {
	a, b = strings.TrimPrefix(a, "./"), strings.TrimPrefix(b, "./")
	return a == b || strings.HasSuffix(a, "/"+b) || strings.HasSuffix(b, "/"+a)
}

func fileIndex(fs []fileView, path string) int {
	for i, f := range fs {
		if samePath(f.Path, path) {
			return i
		}
	}
	return -1
}

func lineAnchor(fileID string, line int) string { return fmt.Sprintf("%s-L%d", fileID, line) }

func fileViews(ms []archive.Migration, prefix string) []fileView {
	out := make([]fileView, 0, len(ms))
	for i, m := range ms {
		f := fileView{Index: i, ID: fmt.Sprintf("%s%d", prefix, i+1), Path: m.Path}
		text := strings.TrimSuffix(m.Text, "\n")
		for n, line := range strings.Split(text, "\n") {
			f.Lines = append(f.Lines, lineView{N: n + 1, ID: lineAnchor(f.ID, n+1), Text: redact(strings.TrimRight(line, "\r"))})
		}
		out = append(out, f)
	}
	return out
}

// markLines highlights a finding's lines in its file.
func markLines(f *fileView, fd checks.Finding) {
	end := max(fd.EndLine, fd.Line)
	for n := fd.Line; n <= end && n-1 < len(f.Lines); n++ {
		if n < 1 {
			continue
		}
		l := &f.Lines[n-1]
		if l.Mark == "" || fd.Severity == checks.Error {
			l.Mark = "mark-" + fd.Severity.String()
		}
		if n == fd.Line {
			if l.Titles != "" {
				l.Titles += "; "
			}
			l.Titles += fd.Rule
		}
	}
}

func evidenceRows(ev map[string]any) []kv {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]kv, 0, len(keys))
	for _, k := range keys {
		var s string
		switch x := ev[k].(type) {
		case string:
			s = x
		case float64:
			s = trimZero(fmt.Sprintf("%.3f", x))
		default:
			b, err := json.Marshal(x)
			if err != nil {
				continue
			}
			s = string(b)
		}
		out = append(out, kv{k, clip(redact(s), 400)})
	}
	return out
}

// ---- measurements and experiments

type measView struct {
	N         int
	M         dblab.Measurement
	Where     string
	Anchor    string
	Locks     []lockView
	First     string
	Bar       float64 // width in % of the slowest statement
	PlanTree  string
	PlanJSON  string
	PlanTotal string
	Sizes     []sizeView
	// Status is set for a statement that was not measured (not run,
	// interrupted).
	Status string
	NotRun bool
}

type lockView struct {
	Mode, Relation, Kind, Held, Class, Blocks string
}

type sizeView struct {
	Relation        string
	Before, After   string
	IndexB, IndexA  string
	RowsEstimate    string
	Changed, Shrunk bool
}

func measViews(ms []dblab.Measurement, files []fileView) []measView {
	var slowest float64
	for _, m := range ms {
		slowest = math.Max(slowest, m.DurationMS)
	}
	out := make([]measView, 0, len(ms))
	for i, m := range ms {
		mv := measView{N: i + 1, M: m, Where: fmt.Sprintf("%s:%d", m.Path, m.Line)}
		if fi := fileIndex(files, m.Path); fi >= 0 {
			mv.Anchor = lineAnchor(files[fi].ID, m.Line)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(m.Statement), "\n")
		mv.First = clip(redact(first), 90)
		if !m.Measured() {
			mv.Status, mv.NotRun = redact(m.StatusText()), m.Status == dblab.StatusNotRun
		}
		mv.M.Error = redact(mv.M.Error)
		if slowest > 0 {
			mv.Bar = math.Round(m.DurationMS/slowest*1000) / 10
		}
		for _, l := range m.Locks {
			mv.Locks = append(mv.Locks, lockView{Mode: dblab.SQLName(l.Mode), Relation: l.Relation, Kind: l.Kind,
				Held: fmtMS(l.HeldMS), Class: blockClass(l.Blocks), Blocks: blocksText(l.Blocks)})
		}
		for _, s := range m.Sizes {
			mv.Sizes = append(mv.Sizes, sizeView{Relation: s.Relation, Before: fmtBytes(s.TableBefore), After: fmtBytes(s.TableAfter),
				IndexB: fmtBytes(s.IndexBefore), IndexA: fmtBytes(s.IndexAfter), RowsEstimate: fmtNum(s.RowsEstimate),
				Changed: s.TableBefore != s.TableAfter || s.IndexBefore != s.IndexAfter})
		}
		if m.Plan != nil {
			if b, err := json.MarshalIndent(m.Plan, "", "  "); err == nil {
				mv.PlanJSON = redact(string(b))
			}
			mv.PlanTree, mv.PlanTotal = planText(m.Plan)
		}
		out = append(out, mv)
	}
	return out
}

// planText renders EXPLAIN (ANALYZE, FORMAT JSON) as an indented tree of
// nodes with their actual time and rows, and the execution time.
func planText(plan any) (tree, total string) {
	arr, _ := plan.([]any)
	var top map[string]any
	if len(arr) > 0 {
		top, _ = arr[0].(map[string]any)
	}
	if m, ok := plan.([]map[string]any); ok && len(m) > 0 {
		top = m[0]
	}
	if top == nil {
		return "", ""
	}
	if t, ok := top["Execution Time"].(float64); ok {
		total = fmtMS(t)
	}
	var b strings.Builder
	var walk func(n map[string]any, depth int)
	walk = func(n map[string]any, depth int) {
		if depth > 30 {
			return
		}
		b.WriteString(strings.Repeat("  ", depth))
		if depth > 0 {
			b.WriteString("-> ")
		}
		fmt.Fprint(&b, n["Node Type"])
		if rel, ok := n["Relation Name"].(string); ok {
			fmt.Fprintf(&b, " on %s", rel)
		}
		if idx, ok := n["Index Name"].(string); ok {
			fmt.Fprintf(&b, " using %s", idx)
		}
		if t, ok := n["Actual Total Time"].(float64); ok {
			fmt.Fprintf(&b, "  (actual %s", fmtMS(t))
			if r, ok := n["Actual Rows"].(float64); ok {
				fmt.Fprintf(&b, ", rows %s", fmtNum(int64(r)))
			}
			if l, ok := n["Actual Loops"].(float64); ok && l != 1 {
				fmt.Fprintf(&b, ", loops %.0f", l)
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			if km, ok := k.(map[string]any); ok {
				walk(km, depth+1)
			}
		}
	}
	if p, ok := top["Plan"].(map[string]any); ok {
		walk(p, 0)
	}
	return strings.TrimRight(b.String(), "\n"), total
}

type experimentView struct {
	*archive.Experiment
	Files    []fileView
	Measured []measView
	Timeline *timeline
	Rewrites []string
	Failed   int
	Summary  string
}

func newExperimentView(e *archive.Experiment) *experimentView {
	v := &experimentView{Experiment: e, Files: fileViews(e.Files, "s")}
	v.Measured = measViews(e.Measurements, v.Files)
	v.Timeline = buildTimeline(e.Measurements)
	seen := map[string]bool{}
	var total float64
	for _, m := range e.Measurements {
		total += m.DurationMS
		if m.Error != "" {
			v.Failed++
		}
		for _, r := range m.Rewritten {
			if !seen[r] {
				seen[r] = true
				v.Rewrites = append(v.Rewrites, r)
			}
		}
	}
	if e.DurationMS > 0 {
		total = e.DurationMS
	}
	v.Summary = fmt.Sprintf("%d %s, %s", len(e.Measurements), plural(len(e.Measurements), "statement", "statements"), fmtMS(total))
	return v
}

// ---- benchmarks

type benchmarkView struct {
	*BenchmarkRun
	Plots []plotView
}

type plotView struct {
	Title, XLabel, YLabel string
	Width, Height         float64
	X0, X1, Y0, Y1        float64
	Lines                 []plotLine
	XTicks, YTicks        []tlTick
}

type plotLine struct {
	Name    string
	Class   string
	Points  string
	LegendY float64
}

func newBenchmarkView(orig *BenchmarkRun) *benchmarkView {
	b := *orig
	b.Command, b.Error, b.Title = redact(b.Command), redact(b.Error), redact(b.Title)
	b.Params = make([]Param, len(orig.Params))
	for i, p := range orig.Params {
		b.Params[i] = Param{Name: p.Name, Value: redact(p.Value)}
	}
	b.Table.Rows = make([][]string, len(orig.Table.Rows))
	for i, row := range orig.Table.Rows {
		b.Table.Rows[i] = make([]string, len(row))
		for j, c := range row {
			b.Table.Rows[i][j] = redact(c)
		}
	}
	v := &benchmarkView{BenchmarkRun: &b}
	for _, p := range b.Plots {
		if pv, ok := plotOf(p); ok {
			v.Plots = append(v.Plots, pv)
		}
	}
	return v
}

// plotOf lays out a line chart in a 720×260 box.
func plotOf(p Plot) (plotView, bool) {
	pv := plotView{Title: p.Title, XLabel: p.XLabel, YLabel: p.YLabel, Width: 720, Height: 260, X0: 64, X1: 560, Y0: 20, Y1: 220}
	minX, maxX, maxY := math.Inf(1), math.Inf(-1), 0.0
	n := 0
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if math.IsNaN(pt.X) || math.IsNaN(pt.Y) || math.IsInf(pt.X, 0) || math.IsInf(pt.Y, 0) {
				continue
			}
			minX, maxX, maxY = math.Min(minX, pt.X), math.Max(maxX, pt.X), math.Max(maxY, pt.Y)
			n++
		}
	}
	if n == 0 {
		return pv, false
	}
	if maxX == minX {
		maxX = minX + 1
	}
	ystep := niceStep(maxY / 4)
	if maxY <= 0 {
		ystep = 1
	}
	maxY = math.Ceil(maxY/ystep) * ystep
	if maxY == 0 {
		maxY = ystep
	}
	sx := func(x float64) float64 { return round1(pv.X0 + (x-minX)/(maxX-minX)*(pv.X1-pv.X0)) }
	sy := func(y float64) float64 { return round1(pv.Y1 - y/maxY*(pv.Y1-pv.Y0)) }
	for y := 0.0; y <= maxY+ystep/1000; y += ystep {
		pv.YTicks = append(pv.YTicks, tlTick{X: sy(y), Label: trimZero(fmt.Sprintf("%.2f", y))})
	}
	xstep := niceStep((maxX - minX) / 6)
	for x := math.Ceil(minX/xstep) * xstep; x <= maxX+xstep/1000; x += xstep {
		pv.XTicks = append(pv.XTicks, tlTick{X: sx(x), Label: trimZero(fmt.Sprintf("%.2f", x))})
	}
	for i, s := range p.Series {
		var pts []string
		for _, pt := range s.Points {
			if math.IsNaN(pt.X) || math.IsNaN(pt.Y) || math.IsInf(pt.X, 0) || math.IsInf(pt.Y, 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%g,%g", sx(pt.X), sy(pt.Y)))
		}
		pv.Lines = append(pv.Lines, plotLine{Name: clip(s.Name, 22), Class: fmt.Sprintf("series%d", i%6), Points: strings.Join(pts, " "),
			LegendY: pv.Y0 + 8 + float64(i)*18})
	}
	return pv, true
}

// ---- formatting

func shortSHA(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
	return t.UTC().Format("2006-01-02")
}

func fmtBytes(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/1024)) + " kB"
	case n < 1<<30:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<20))) + " MB"
	}
	return trimZero(fmt.Sprintf("%.2f", float64(n)/(1<<30))) + " GB"
}

// fmtNum writes an integer with thousands separators.
func fmtNum(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// conversationView is a copy of c with credentials redacted.
func conversationView(orig *Conversation) *Conversation {
	c := *orig
	c.Title = redact(c.Title)
	c.Messages = make([]Message, len(orig.Messages))
	for i, m := range orig.Messages {
		m.Text = redact(m.Text)
		calls := make([]ToolCall, len(m.ToolCalls))
		for j, tc := range m.ToolCalls {
			calls[j] = ToolCall{Name: tc.Name, Arguments: redact(tc.Arguments), Result: redact(tc.Result), Error: redact(tc.Error)}
		}
		m.ToolCalls = calls
		cites := make([]Citation, len(m.Citations))
		for j, ct := range m.Citations {
			cites[j] = Citation{Title: ct.Title, URL: ct.URL, Snippet: redact(ct.Snippet)}
		}
		m.Citations = cites
		c.Messages[i] = m
	}
	return &c
}
