package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var unboundedDML = &Rule{
	ID:       "unbounded-dml-in-migration",
	Group:    "locks",
	Severity: Warning,
	Summary:  "UPDATE or DELETE without WHERE, or INSERT … SELECT from a table, on an existing table in a migration.",
	Why: "One statement that changes every row locks every row until commit (writers of those rows wait), writes WAL for " +
		"the whole table at once (replicas lag), leaves dead rows for VACUUM, and is all-or-nothing: a failure near the end " +
		"rolls everything back. Inside the migration's transaction it also extends every lock taken before it.",
	Fix: "Backfill in batches of a few thousand rows, each in its own transaction, outside the schema migration (or in a " +
		"migration that does not run in a transaction).",
	DocsURL: "https://www.postgresql.org/docs/current/sql-update.html",
	Check: func(p *Pass) {
		var what, table string
		switch s := p.Node().Node.(type) {
		case *pg_query.Node_UpdateStmt:
			if s.UpdateStmt.WhereClause != nil || p.State.IsNew(s.UpdateStmt.Relation) {
				return
			}
			what, table = "UPDATE", RelName(s.UpdateStmt.Relation)
		case *pg_query.Node_DeleteStmt:
			if s.DeleteStmt.WhereClause != nil || p.State.IsNew(s.DeleteStmt.Relation) {
				return
			}
			what, table = "DELETE FROM", RelName(s.DeleteStmt.Relation)
		case *pg_query.Node_InsertStmt:
			sel := s.InsertStmt.SelectStmt.GetSelectStmt()
			if sel == nil || len(sel.FromClause) == 0 || sel.LimitCount != nil || p.State.IsNew(s.InsertStmt.Relation) {
				return
			}
			from := ""
			for _, f := range sel.FromClause {
				if rv := f.GetRangeVar(); rv != nil && !p.State.IsNew(rv) {
					from = RelName(rv)
				}
			}
			if from == "" {
				return
			}
			what, table = "INSERT … SELECT from "+from+" into", RelName(s.InsertStmt.Relation)
		default:
			return
		}
		batch := fmt.Sprintf("UPDATE %s SET … WHERE id IN (SELECT id FROM %s WHERE <not yet done> ORDER BY id LIMIT 5000);", table, table)
		switch p.Node().Node.(type) {
		case *pg_query.Node_DeleteStmt:
			batch = fmt.Sprintf("DELETE FROM %s WHERE id IN (SELECT id FROM %s ORDER BY id LIMIT 5000);", table, table)
		case *pg_query.Node_InsertStmt:
			batch = fmt.Sprintf("INSERT INTO %s SELECT … FROM … WHERE id > <last copied id> ORDER BY id LIMIT 5000;", table)
		}
		fix := "Change the rows in batches, each batch in its own transaction, repeated until it affects no row:\n\n" +
			Indent(batch) +
			"\n\nRun the batches from a script or job outside the schema migration, and keep the schema change itself short."
		p.Report(fmt.Sprintf("%s %s touches every row in one statement: all those rows stay locked until commit, and the WAL for the whole table is written at once.", what, table), "", fix)
	},
}
