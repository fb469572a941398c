package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var concurrentInTransaction = &Rule{
	ID:       "concurrent-in-transaction",
	Group:    "locks",
	Severity: Error,
	Summary:  "CONCURRENTLY, VACUUM or another statement that cannot run in a transaction block, inside one.",
	Why: "PostgreSQL refuses CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY, VACUUM, " +
		"CREATE DATABASE and similar statements inside a transaction block (SQLSTATE 25001): the migration fails at deploy " +
		"time. A file that the migration tool wraps in a transaction counts, as does an explicit BEGIN. Before PostgreSQL 12 " +
		"the same holds for ALTER TYPE … ADD VALUE.",
	Fix:     "Run the statement in its own migration that the tool does not wrap in a transaction, with no BEGIN around it.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
	Check: func(p *Pass) {
		if !p.Stmt.InTransaction {
			return
		}
		what := NonTransactional(p.Node())
		why := ""
		if what == "" {
			if ae := p.Node().GetAlterEnumStmt(); ae != nil && ae.OldVal == "" && !p.Settings.PGVersion.AtLeast(12, 0) {
				what = "ALTER TYPE … ADD VALUE"
				why = fmt.Sprintf("Before PostgreSQL 12 (target: %s) ALTER TYPE … ADD VALUE cannot run inside a transaction block (SQLSTATE 25001): the migration fails at deploy time.", p.Settings.PGVersion)
			}
		}
		if what == "" {
			return
		}
		fix := noTxHow(p)
		if _, ok := p.Node().Node.(*pg_query.Node_IndexStmt); ok {
			fix += " If the build fails it leaves an INVALID index: drop it (DROP INDEX CONCURRENTLY IF EXISTS) before retrying."
		}
		p.Report(fmt.Sprintf("%s cannot run inside a transaction block, and this statement runs %s: it fails at deploy time with SQLSTATE 25001.", what, txContext(p)), why, fix)
	},
}
