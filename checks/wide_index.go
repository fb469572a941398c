package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// wideIndexColumns is the largest number of key columns the wide-index
// rule accepts in a non-unique index.
const wideIndexColumns = 3

var wideIndex = &Rule{
	ID:       "wide-index",
	Group:    "types",
	Severity: Info,
	Off:      true,
	Summary:  "A non-unique index with more than 3 key columns (off by default).",
	Why: "Every INSERT, and every UPDATE of an indexed column, writes the whole wide key, and the index is large, so it costs " +
		"write throughput and cache. A B-tree helps a query on its trailing columns only when the leading ones are constrained " +
		"by equality, so the extra key columns rarely pay off; columns that are only read belong in INCLUDE, which keeps them " +
		"out of the tree's upper levels.",
	Fix:     "Keep the 1–3 most selective, equality-filtered columns as keys and move columns that are only returned into INCLUDE (…).",
	DocsURL: "https://www.postgresql.org/docs/current/indexes-multicolumn.html",
	Check: func(p *Pass) {
		idx := p.Node().GetIndexStmt()
		if idx == nil || idx.Unique || len(idx.IndexParams) <= wideIndexColumns || (idx.AccessMethod != "" && idx.AccessMethod != "btree") {
			return
		}
		movable := true // expressions cannot be INCLUDE columns
		for _, e := range idx.IndexParams[wideIndexColumns:] {
			if e.GetIndexElem().GetName() == "" {
				movable = false
			}
		}
		safe := ""
		if movable {
			safe = SafeSQL(p.Node(), func(n *pg_query.Node) {
				s := n.GetIndexStmt()
				var include []*pg_query.Node
				include = append(include, s.IndexParams[wideIndexColumns:]...)
				s.IndexIncludingParams = append(include, s.IndexIncludingParams...)
				s.IndexParams = s.IndexParams[:wideIndexColumns]
			})
		}
		fix := p.Rule().Fix
		if safe != "" {
			fix = "If queries filter on the first columns and only read the others, make those INCLUDE columns:\n\n" + Indent(safe)
		}
		name := idx.Idxname
		if name == "" {
			name = "(unnamed)"
		}
		p.Report(fmt.Sprintf("Index %s on %s has %d key columns.", name, RelName(idx.Relation), len(idx.IndexParams)), "", fix)
	},
}
