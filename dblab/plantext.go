package dblab

import (
	"encoding/json"
	"fmt"
	"strings"
)

// PlanText renders a plan of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) as
// EXPLAIN (ANALYZE, BUFFERS) prints it in text: node lines with costs and
// actual times, then their details (conditions, filters and the rows they
// removed, sort method and spill, hash batches, heap blocks, workers,
// buffers), children under "->", planning and execution time. The
// experiment runs each DML statement once, in JSON (its rows are read
// from the plan), so this is that one run's plan, not a second run.
func PlanText(plan any) string {
	top := planTop(plan)
	if top == nil {
		b, _ := json.Marshal(plan)
		return string(b) + "\n"
	}
	var b strings.Builder
	if p, ok := top["Plan"].(map[string]any); ok {
		writePlanNode(&b, p, 0, true)
	}
	if pb, ok := top["Planning"].(map[string]any); ok {
		if s := buffersText(pb); s != "" {
			b.WriteString("Planning:\n  " + s + "\n")
		}
	}
	if v, ok := top["Planning Time"].(float64); ok {
		fmt.Fprintf(&b, "Planning Time: %.3f ms\n", v)
	}
	if ts, ok := top["Triggers"].([]any); ok {
		for _, t := range ts {
			if tm, ok := t.(map[string]any); ok {
				name, _ := tm["Trigger Name"].(string)
				if c, _ := tm["Constraint Name"].(string); c != "" {
					name = "for constraint " + c
				}
				fmt.Fprintf(&b, "Trigger %s: time=%.3f calls=%.0f\n", name, num(tm, "Time"), num(tm, "Calls"))
			}
		}
	}
	if v, ok := top["Execution Time"].(float64); ok {
		fmt.Fprintf(&b, "Execution Time: %.3f ms\n", v)
	}
	return b.String()
}

func planTop(plan any) map[string]any {
	switch p := plan.(type) {
	case []map[string]any:
		if len(p) > 0 {
			return p[0]
		}
	case []any:
		if len(p) > 0 {
			m, _ := p[0].(map[string]any)
			return m
		}
	case map[string]any:
		return p
	}
	return nil
}

func num(m map[string]any, k string) float64 { v, _ := m[k].(float64); return v }

func str(m map[string]any, k string) string { v, _ := m[k].(string); return v }

// nodeLabel names a node as EXPLAIN's text format does.
func nodeLabel(n map[string]any) string {
	typ := str(n, "Node Type")
	label := typ
	switch typ {
	case "ModifyTable":
		label = str(n, "Operation")
	case "Aggregate":
		switch str(n, "Strategy") {
		case "Hashed":
			label = "HashAggregate"
		case "Sorted":
			label = "GroupAggregate"
		case "Mixed":
			label = "MixedAggregate"
		}
	case "Hash Join", "Merge Join", "Nested Loop":
		if jt := str(n, "Join Type"); jt != "" && jt != "Inner" {
			if typ == "Nested Loop" {
				label = typ + " " + jt + " Join"
			} else {
				label = strings.TrimSuffix(typ, " Join") + " " + jt + " Join"
			}
		}
	case "SetOp":
		if str(n, "Strategy") == "Hashed" {
			label = "HashSetOp"
		}
		if c := str(n, "Command"); c != "" {
			label += " " + c
		}
	}
	if n["Parallel Aware"] == true {
		label = "Parallel " + label
	}
	if str(n, "Scan Direction") == "Backward" {
		label += " Backward"
	}
	if idx := str(n, "Index Name"); idx != "" {
		label += " using " + idx
	}
	if rel := str(n, "Relation Name"); rel != "" {
		if typ == "Bitmap Index Scan" {
			label += " on " + rel
		} else {
			label += " on " + rel
			if a := str(n, "Alias"); a != "" && a != rel {
				label += " " + a
			}
		}
	} else if cte := str(n, "CTE Name"); cte != "" {
		label += " on " + cte
	} else if fn := str(n, "Function Name"); fn != "" {
		label += " on " + fn
	}
	return label
}

func writePlanNode(b *strings.Builder, n map[string]any, depth int, top bool) {
	pad := strings.Repeat(" ", depth)
	detail := pad + "  "
	if !top {
		if rel := str(n, "Parent Relationship"); rel == "InitPlan" || rel == "SubPlan" {
			if name := str(n, "Subplan Name"); name != "" {
				fmt.Fprintf(b, "%s%s\n", pad, name)
			}
		}
		b.WriteString(pad + "->  ")
		detail = pad + "      "
	}
	b.WriteString(nodeLabel(n))
	fmt.Fprintf(b, "  (cost=%.2f..%.2f rows=%.0f width=%.0f)", num(n, "Startup Cost"), num(n, "Total Cost"), num(n, "Plan Rows"), num(n, "Plan Width"))
	if _, ok := n["Actual Loops"]; ok {
		if num(n, "Actual Loops") == 0 {
			b.WriteString(" (never executed)")
		} else {
			fmt.Fprintf(b, " (actual time=%.3f..%.3f rows=%.0f loops=%.0f)", num(n, "Actual Startup Time"), num(n, "Actual Total Time"), num(n, "Actual Rows"), num(n, "Actual Loops"))
		}
	}
	b.WriteString("\n")
	line := func(format string, a ...any) { b.WriteString(detail + fmt.Sprintf(format, a...) + "\n") }
	for _, k := range []string{"Index Cond", "Recheck Cond"} {
		if v := str(n, k); v != "" {
			line("%s: %s", k, v)
		}
	}
	// The text format leaves zero counts out.
	if v := num(n, "Rows Removed by Index Recheck"); v > 0 {
		line("Rows Removed by Index Recheck: %.0f", v)
	}
	for _, k := range []string{"Join Filter", "Hash Cond", "Merge Cond", "Filter"} {
		if v := str(n, k); v != "" {
			line("%s: %s", k, v)
			if r := num(n, "Rows Removed by "+k); r > 0 {
				line("Rows Removed by %s: %.0f", k, r)
			}
		}
	}
	for _, k := range []string{"Sort Key", "Group Key", "Presorted Key"} {
		if ks, ok := n[k].([]any); ok && len(ks) > 0 {
			parts := make([]string, len(ks))
			for i, x := range ks {
				parts[i] = fmt.Sprint(x)
			}
			line("%s: %s", k, strings.Join(parts, ", "))
		}
	}
	if m := str(n, "Sort Method"); m != "" {
		line("Sort Method: %s  %s: %.0fkB", m, map[string]string{"Disk": "Disk", "Memory": "Memory"}[str(n, "Sort Space Type")], num(n, "Sort Space Used"))
	}
	if _, ok := n["HashAgg Batches"]; ok {
		hb := fmt.Sprintf("Batches: %.0f  Memory Usage: %.0fkB", num(n, "HashAgg Batches"), num(n, "Peak Memory Usage"))
		if v := num(n, "Disk Usage"); v > 0 {
			hb += fmt.Sprintf("  Disk Usage: %.0fkB", v)
		}
		line("%s", hb)
	}
	if _, ok := n["Hash Buckets"]; ok {
		line("Buckets: %.0f  Batches: %.0f  Memory Usage: %.0fkB", num(n, "Hash Buckets"), num(n, "Hash Batches"), num(n, "Peak Memory Usage"))
	}
	if v, ok := n["Heap Fetches"]; ok {
		line("Heap Fetches: %.0f", v)
	}
	if _, ok := n["Exact Heap Blocks"]; ok && (num(n, "Exact Heap Blocks") > 0 || num(n, "Lossy Heap Blocks") > 0) {
		hb := "Heap Blocks:"
		if v := num(n, "Exact Heap Blocks"); v > 0 {
			hb += fmt.Sprintf(" exact=%.0f", v)
		}
		if v := num(n, "Lossy Heap Blocks"); v > 0 {
			hb += fmt.Sprintf(" lossy=%.0f", v)
		}
		line("%s", hb)
	}
	if v, ok := n["Workers Planned"]; ok {
		line("Workers Planned: %.0f", v)
	}
	if v, ok := n["Workers Launched"]; ok {
		line("Workers Launched: %.0f", v)
	}
	if s := buffersText(n); s != "" {
		line("%s", s)
	}
	if subs, ok := n["Plans"].([]any); ok {
		for _, s := range subs {
			if c, ok := s.(map[string]any); ok {
				child := depth + 6
				if top {
					child = depth + 2
				}
				writePlanNode(b, c, child, false)
			}
		}
	}
}

// buffersText is the "Buffers: shared hit=… read=… dirtied=… written=…,
// temp read=… written=…" line, or "" when every count is zero.
func buffersText(n map[string]any) string {
	var groups []string
	for _, g := range []struct{ name, key string }{{"shared", "Shared"}, {"local", "Local"}, {"temp", "Temp"}} {
		var parts []string
		for _, f := range []struct{ label, key string }{{"hit", "Hit"}, {"read", "Read"}, {"dirtied", "Dirtied"}, {"written", "Written"}} {
			if v := num(n, g.key+" "+f.key+" Blocks"); v > 0 {
				parts = append(parts, fmt.Sprintf("%s=%.0f", f.label, v))
			}
		}
		if len(parts) > 0 {
			groups = append(groups, g.name+" "+strings.Join(parts, " "))
		}
	}
	if len(groups) == 0 {
		return ""
	}
	return "Buffers: " + strings.Join(groups, ", ")
}
