package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var uncommittedTransaction = &Rule{
	ID:       "uncommitted-transaction",
	Group:    "transactions",
	Severity: Error,
	Summary:  "BEGIN with no COMMIT before the end of the migration.",
	Why: "A transaction left open at the end of the script is rolled back when the tool disconnects (psql, most runners), " +
		"so every change after BEGIN silently disappears while the migration is recorded as applied.",
	Fix:     "End the transaction with COMMIT at the end of the migration.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-commit.html",
	Check: func(p *Pass) {
		ts := p.Node().GetTransactionStmt()
		if ts == nil || (ts.Kind != pg_query.TransactionStmtKind_TRANS_STMT_BEGIN && ts.Kind != pg_query.TransactionStmtKind_TRANS_STMT_START) {
			return
		}
		if p.File.InTransaction || beganEarlierInBlock(p) {
			return // inside the tool's transaction: transaction-nesting
		}
		for _, st := range p.File.Up() {
			if st.Index <= p.Stmt.Index || st.Node == nil {
				continue
			}
			if t := st.Node.GetTransactionStmt(); t != nil {
				switch t.Kind {
				case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK,
					pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
					return
				}
			}
		}
		n := 0
		for _, st := range p.File.Up() {
			if st.Index > p.Stmt.Index && st.Node != nil {
				n++
			}
		}
		p.Report(fmt.Sprintf("BEGIN opens a transaction that is never committed: the %s after it are rolled back when the session ends.", plural(n, "statement")), "",
			"Add COMMIT; after the last statement that belongs to the transaction.")
	},
}
