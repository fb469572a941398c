package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var reindexNonconcurrent = &Rule{
	ID:       "reindex-nonconcurrent",
	Group:    "locks",
	Severity: Error,
	Summary:  "REINDEX without CONCURRENTLY.",
	Why: "REINDEX takes SHARE on the table, blocking INSERT, UPDATE and DELETE, and ACCESS EXCLUSIVE on each index it " +
		"rebuilds, blocking every query that would use it (planning a query on the table locks its indexes), for the whole rebuild.",
	Fix: "Use REINDEX … CONCURRENTLY (PostgreSQL 12+, outside a transaction block); before 12, build a new index with CREATE INDEX " +
		"CONCURRENTLY, drop the old one with DROP INDEX CONCURRENTLY and rename.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-reindex.html#SQL-REINDEX-CONCURRENTLY",
	Check: func(p *Pass) {
		rs := p.Node().GetReindexStmt()
		if rs == nil || defElemNames(rs.Params)["concurrently"] {
			return
		}
		kind := "INDEX"
		switch rs.Kind {
		case pg_query.ReindexObjectType_REINDEX_OBJECT_INDEX:
		case pg_query.ReindexObjectType_REINDEX_OBJECT_TABLE:
			kind = "TABLE"
		case pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA:
			kind = "SCHEMA"
		case pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE:
			kind = "DATABASE"
		case pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM:
			kind = "SYSTEM"
		}
		if rs.Relation != nil && p.State.IsNew(rs.Relation) {
			return
		}
		name := RelName(rs.Relation)
		if name == "" {
			name = rs.Name
		}
		var fix string
		if p.Settings.PGVersion.AtLeast(12, 0) {
			safe := SafeSQL(p.Node(), func(n *pg_query.Node) {
				r := n.GetReindexStmt()
				r.Params = append(r.Params, &pg_query.Node{Node: &pg_query.Node_DefElem{DefElem: &pg_query.DefElem{Defname: "concurrently"}}})
			})
			fix = "Rebuild without blocking traffic, in a migration that does not run in a transaction:\n\n" + Indent(safe) +
				"\n\nIt takes SHARE UPDATE EXCLUSIVE (reads and writes go on). If it fails it leaves an INVALID index named …_ccnew: drop it and retry."
		} else {
			fix = fmt.Sprintf("REINDEX CONCURRENTLY needs PostgreSQL 12 (target: %s). Build a replacement with CREATE INDEX CONCURRENTLY, "+
				"drop the old index with DROP INDEX CONCURRENTLY, then ALTER INDEX … RENAME the new one (each outside a transaction).", p.Settings.PGVersion)
		}
		if kind == "SYSTEM" {
			fix = "System catalogs cannot be reindexed concurrently. Run REINDEX SYSTEM in a maintenance window, outside the migration."
		}
		target := strings.TrimSpace(kind + " " + name)
		p.Report(fmt.Sprintf("REINDEX %s without CONCURRENTLY blocks writes to each table it covers, and queries using the rebuilt indexes, until it ends.", target), "", fix)
	},
}
