package loadtest

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Stat is a figure over a point's iterations: mean, sample standard
// deviation, smallest and largest.
type Stat struct {
	Mean   float64 `json:"mean"`
	Stddev float64 `json:"stddev"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

func statOf(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := Stat{N: len(xs), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range xs {
		s.Mean += x
		s.Min = math.Min(s.Min, x)
		s.Max = math.Max(s.Max, x)
	}
	s.Mean /= float64(len(xs))
	if len(xs) > 1 {
		var v float64
		for _, x := range xs {
			v += (x - s.Mean) * (x - s.Mean)
		}
		s.Stddev = math.Sqrt(v / float64(len(xs)-1))
	}
	return s
}

// PointStats are the results of one (variant, clients) point over its
// iterations.
type PointStats struct {
	Variant string `json:"variant,omitempty"`
	Clients int    `json:"clients"`
	TPS     Stat   `json:"tps"`
	AvgMs   Stat   `json:"latency_avg_ms"`
	P50Ms   Stat   `json:"latency_p50_ms"`
	P95Ms   Stat   `json:"latency_p95_ms"`
	P99Ms   Stat   `json:"latency_p99_ms"`
	Failed  int64  `json:"failed"`
}

// Delta compares a variant with the first (A) at one client count.
type Delta struct {
	Clients int    `json:"clients"`
	A       string `json:"a"`
	B       string `json:"b"`
	// TPSPct is (B - A) / A of the mean TPS, in percent; TPSSpreadPct is
	// the spread of that difference across iterations (one standard
	// deviation of the difference of means, relative to A), and
	// TPSMinPct/TPSMaxPct the most pessimistic and optimistic pairing of
	// the iterations' extremes.
	TPSPct       float64 `json:"tps_pct"`
	TPSSpreadPct float64 `json:"tps_spread_pct"`
	TPSMinPct    float64 `json:"tps_min_pct"`
	TPSMaxPct    float64 `json:"tps_max_pct"`
	P95Pct       float64 `json:"p95_pct"`
	P99Pct       float64 `json:"p99_pct"`
	// Significant is true when the difference exceeds twice its spread.
	Significant bool `json:"significant"`
}

// Results are the analysed figures of a run.
type Results struct {
	Name   string       `json:"name,omitempty"`
	AB     string       `json:"ab,omitempty"`
	Points []PointStats `json:"points"`
	Deltas []Delta      `json:"deltas,omitempty"`
	// Iterations is the per-iteration table.
	Iterations []IterationRow `json:"iterations"`
	// OverheadS is the mean collection overhead per iteration (before +
	// after pgbench), in seconds.
	OverheadS float64 `json:"overhead_s"`
	Artifacts int     `json:"artifacts_min"`
}

// IterationRow is one iteration's line of the results.
type IterationRow struct {
	Point
	TPS   float64 `json:"tps"`
	AvgMs float64 `json:"latency_avg_ms"`
	P50Ms float64 `json:"latency_p50_ms"`
	P95Ms float64 `json:"latency_p95_ms"`
	P99Ms float64 `json:"latency_p99_ms"`
	Tx    int64   `json:"transactions"`
	Error string  `json:"error,omitempty"`
}

// Analyze computes the results of a run's finished iterations.
func Analyze(run *Run) *Results {
	res := &Results{Name: run.Name}
	if run.Spec.AB != nil {
		res.AB = run.Spec.AB.Name
	}
	type key struct {
		v string
		c int
	}
	var order []key
	groups := map[key][]Iteration{}
	var overhead []float64
	res.Artifacts = -1
	for _, it := range run.Iterations {
		res.Iterations = append(res.Iterations, IterationRow{Point: it.Point, TPS: it.TPS(), AvgMs: it.Latency.AvgMs,
			P50Ms: it.Latency.P50Ms, P95Ms: it.Latency.P95Ms, P99Ms: it.Latency.P99Ms, Tx: it.Latency.Transactions, Error: it.Error})
		if it.Error != "" || it.Summary.TPS == 0 {
			continue
		}
		k := key{it.Variant, it.Clients}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], it)
		overhead = append(overhead, it.PrepareS+it.CollectS)
		if res.Artifacts < 0 || len(it.Artifacts) < res.Artifacts {
			res.Artifacts = len(it.Artifacts)
		}
	}
	res.Artifacts = max(res.Artifacts, 0)
	res.OverheadS = statOf(overhead).Mean
	// Points sorted by variant (spec order) then clients.
	vorder := map[string]int{}
	for i, v := range run.Spec.Variants() {
		vorder[v.Label] = i
	}
	slices.SortStableFunc(order, func(a, b key) int {
		if d := vorder[a.v] - vorder[b.v]; d != 0 {
			return d
		}
		return a.c - b.c
	})
	byKey := map[key]PointStats{}
	for _, k := range order {
		its := groups[k]
		col := func(f func(Iteration) float64) Stat {
			xs := make([]float64, len(its))
			for i, it := range its {
				xs[i] = f(it)
			}
			return statOf(xs)
		}
		ps := PointStats{Variant: k.v, Clients: k.c,
			TPS:   col(func(it Iteration) float64 { return it.TPS() }),
			AvgMs: col(func(it Iteration) float64 { return it.Latency.AvgMs }),
			P50Ms: col(func(it Iteration) float64 { return it.Latency.P50Ms }),
			P95Ms: col(func(it Iteration) float64 { return it.Latency.P95Ms }),
			P99Ms: col(func(it Iteration) float64 { return it.Latency.P99Ms }),
		}
		for _, it := range its {
			ps.Failed += it.Latency.Failed
		}
		res.Points = append(res.Points, ps)
		byKey[k] = ps
	}
	vs := run.Spec.Variants()
	if len(vs) > 1 {
		for _, c := range run.Spec.Workload.Clients {
			a, ok := byKey[key{vs[0].Label, c}]
			if !ok || a.TPS.Mean == 0 {
				continue
			}
			for _, v := range vs[1:] {
				b, ok := byKey[key{v.Label, c}]
				if !ok {
					continue
				}
				d := Delta{Clients: c, A: vs[0].Label, B: v.Label}
				d.TPSPct = pct(b.TPS.Mean, a.TPS.Mean)
				// Standard error of the difference of two means,
				// relative to A.
				se := math.Sqrt(sq(a.TPS.Stddev)/float64(a.TPS.N) + sq(b.TPS.Stddev)/float64(b.TPS.N))
				d.TPSSpreadPct = se / a.TPS.Mean * 100
				d.TPSMinPct = pct(b.TPS.Min, a.TPS.Max)
				d.TPSMaxPct = pct(b.TPS.Max, a.TPS.Min)
				d.P95Pct = pct(b.P95Ms.Mean, a.P95Ms.Mean)
				d.P99Pct = pct(b.P99Ms.Mean, a.P99Ms.Mean)
				d.Significant = a.TPS.N > 1 && b.TPS.N > 1 && math.Abs(d.TPSPct) > 2*d.TPSSpreadPct
				res.Deltas = append(res.Deltas, d)
			}
		}
	}
	return res
}

func sq(x float64) float64 { return x * x }

func pct(b, a float64) float64 {
	if a == 0 {
		return 0
	}
	return (b - a) / a * 100
}

// Markdown renders the results: one row per point, then the A/B deltas.
func (r *Results) Markdown() string {
	var b strings.Builder
	if len(r.Points) == 0 {
		b.WriteString("No iteration finished.\n")
	} else {
		ab := r.AB != ""
		if ab {
			fmt.Fprintf(&b, "| %s | clients | TPS (mean ± sd) | latency avg | p50 | p95 | p99 | iterations |\n|---|--:|--:|--:|--:|--:|--:|--:|\n", mdEscape(r.AB))
		} else {
			b.WriteString("| clients | TPS (mean ± sd) | latency avg | p50 | p95 | p99 | iterations |\n|--:|--:|--:|--:|--:|--:|--:|\n")
		}
		for _, p := range r.Points {
			if ab {
				fmt.Fprintf(&b, "| %s ", mdEscape(p.Variant))
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %d |\n", p.Clients, tpsCell(p.TPS),
				msCell(p.AvgMs.Mean), msCell(p.P50Ms.Mean), msCell(p.P95Ms.Mean), msCell(p.P99Ms.Mean), p.TPS.N)
		}
	}
	if len(r.Deltas) > 0 {
		b.WriteString("\n| clients | comparison | TPS change | spread (1 se) | worst / best pairing | p95 change | p99 change | verdict |\n|--:|---|--:|--:|--:|--:|--:|---|\n")
		for _, d := range r.Deltas {
			verdict := "within noise"
			switch {
			case d.Significant:
				verdict = "significant (> 2 se)"
			case d.TPSSpreadPct == 0:
				verdict = "one iteration: no spread"
			}
			fmt.Fprintf(&b, "| %d | %s vs %s | %+.1f%% | ±%.1f%% | %+.1f%% / %+.1f%% | %+.1f%% | %+.1f%% | %s |\n",
				d.Clients, mdEscape(d.B), mdEscape(d.A), d.TPSPct, d.TPSSpreadPct, d.TPSMinPct, d.TPSMaxPct, d.P95Pct, d.P99Pct, verdict)
		}
	}
	var failed []string
	for _, it := range r.Iterations {
		if it.Error != "" {
			failed = append(failed, fmt.Sprintf("iteration %d (%d clients%s): %s", it.Seq, it.Clients, variantSuffix(it.Variant), it.Error))
		}
	}
	if len(failed) > 0 {
		b.WriteString("\nFailed:\n")
		for _, f := range failed {
			fmt.Fprintf(&b, "- %s\n", mdEscape(f))
		}
	}
	if len(r.Points) > 0 {
		fmt.Fprintf(&b, "\nLatencies from pgbench's per-transaction logs; TPS from pgbench (without connection time). Collection overhead %.1f s per iteration, at least %d artifact files per iteration.\n", r.OverheadS, r.Artifacts)
	}
	return b.String()
}

func variantSuffix(v string) string {
	if v == "" {
		return ""
	}
	return ", " + v
}

func tpsCell(s Stat) string {
	if s.N > 1 {
		return fmt.Sprintf("%.0f ± %.0f", s.Mean, s.Stddev)
	}
	return fmt.Sprintf("%.0f", s.Mean)
}

func msCell(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
