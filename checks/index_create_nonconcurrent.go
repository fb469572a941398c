package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var indexCreateNonconcurrent = &Rule{
	ID:       "index-create-nonconcurrent",
	Group:    "locks",
	Severity: Error,
	Summary:  "CREATE INDEX without CONCURRENTLY on an existing table.",
	Why: "CREATE INDEX takes a SHARE lock on the table for the whole index build: reads go on, but every INSERT, " +
		"UPDATE and DELETE waits until the build ends (minutes to hours on a large table).",
	Fix: "Build the index with CREATE INDEX CONCURRENTLY, outside a transaction block (it takes SHARE UPDATE EXCLUSIVE, " +
		"which lets reads and writes go on). If it fails it leaves an INVALID index: drop it and retry.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
	Check: func(p *Pass) {
		idx, ok := p.Node().Node.(*pg_query.Node_IndexStmt)
		if !ok || idx.IndexStmt.Concurrent || p.State.IsNew(idx.IndexStmt.Relation) {
			return
		}
		s := idx.IndexStmt
		name := s.Idxname
		if name == "" {
			name = "(unnamed)"
		}
		safe, ok := insertAfterKeywords(p.Stmt, " CONCURRENTLY", must("create"), opt("unique"), must("index"))
		if !ok {
			safe = SafeSQL(p.Node(), func(n *pg_query.Node) { n.GetIndexStmt().Concurrent = true })
		}
		fix := "Build it without blocking writes, in a migration that does not run in a transaction:\n\n" + Indent(safe) +
			"\n\nCONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which lets reads and writes go on. If the build fails it leaves an INVALID index: drop it and retry."
		p.Report(fmt.Sprintf("CREATE INDEX %s on existing table %s without CONCURRENTLY blocks writes to the table while the index is built.", name, RelName(s.Relation)), "", fix)
		if !p.Stmt.InTransaction {
			p.EditLastAutocommit(safe)
		}
	},
}
