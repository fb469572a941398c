package checks

import (
	"fmt"
)

var jsonNotJsonb = &Rule{
	ID:       "json-not-jsonb",
	Group:    "types",
	Severity: Warning,
	Summary:  "A column of type json rather than jsonb.",
	Why: "json stores the input text verbatim and has no equality operator, so SELECT DISTINCT, UNION, GROUP BY, = and " +
		"IN on the column fail with \"could not identify an equality operator for type json\" (42883) — including queries that " +
		"already run against the table and now select the new column. Every access re-parses the text, and json cannot be indexed " +
		"with GIN or queried with the @> containment operator.",
	Fix: "Use jsonb: it is parsed once on input, supports equality, containment and GIN indexes. Keep json only when the exact " +
		"input text (key order, duplicate keys, whitespace) must be preserved.",
	DocsURL: "https://www.postgresql.org/docs/current/datatype-json.html",
	Check: func(p *Pass) {
		match := columnTypeIs("json")
		cols := matchingColumns(p, match)
		if len(cols) == 0 {
			return
		}
		var edits []columnEdit
		for _, c := range cols {
			edits = append(edits, columnEdit{col: c, typ: "jsonb"})
		}
		safe, text := columnFixSQL(p, edits, func() string {
			return fixColumns(p, match, func(c colDef) { setColumnType(c.Col, builtinTypeName("jsonb")) })
		})
		fix := p.Rule().Fix
		if safe != "" {
			fix = "Use jsonb:\n\n" + Indent(safe) + "\n\nKeep json only when the exact input text (key order, duplicate keys) must be preserved."
		}
		p.Report(fmt.Sprintf("%s %s json, which has no equality operator and is re-parsed on every access; use jsonb.", pluralize(len(cols), "Column", "Columns"), colNames(cols)+" "+pluralize(len(cols), "is", "are")), "", fix)
		if text {
			p.offerColumnFix(safe, edits)
		}
	},
}
