package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var transactionNesting = &Rule{
	ID:       "transaction-nesting",
	Group:    "transactions",
	Severity: Warning,
	Summary:  "BEGIN, COMMIT or ROLLBACK in a file the migration tool already runs in a transaction, or COMMIT with no transaction open.",
	Why: "PostgreSQL has no nested transactions. A BEGIN inside the tool's transaction only warns, but the file's COMMIT then " +
		"ends the tool's transaction early: the statements after it run in autocommit, are not rolled back when a later " +
		"statement fails, and the tool's own COMMIT finds no transaction. A COMMIT without an open transaction does nothing " +
		"but warn, which usually means the file's transaction structure is not what its author thought.",
	Fix: "Remove BEGIN/COMMIT from files the tool wraps; to run statements outside a transaction, use the tool's own switch " +
		"(goose NO TRANSACTION, dbmate transaction:false, Flyway executeInTransaction=false, Liquibase runInTransaction:false).",
	DocsURL: "https://www.postgresql.org/docs/current/sql-begin.html",
	Check: func(p *Pass) {
		ts := p.Node().GetTransactionStmt()
		if ts == nil {
			return
		}
		switch ts.Kind {
		case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
			if p.File.InTransaction && !beganEarlierInBlock(p) {
				p.Report(fmt.Sprintf("BEGIN in a file that %s already runs in a transaction: PostgreSQL ignores it with a warning, and a later COMMIT ends the tool's transaction early.", toolName(p)), "", "")
			}
		case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
			verb := "COMMIT"
			if ts.Kind == pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK {
				verb = "ROLLBACK"
			}
			switch {
			case p.File.InTransaction:
				p.Report(fmt.Sprintf("%s in a file that %s runs in a transaction ends the tool's transaction early: the statements after it run in autocommit and are not rolled back on failure.", verb, toolName(p)), "", "")
			case !p.Stmt.InTransaction:
				p.Report(fmt.Sprintf("%s with no transaction open: PostgreSQL only warns, and the statements before it have already committed one by one.", verb), "",
					"Remove it, or open the transaction it is meant to end with BEGIN before the statements that belong together.")
			}
		}
	},
}

// beganEarlierInBlock reports whether an explicit BEGIN already opened the
// current transaction (a second BEGIN is then the same mistake, reported
// once).
func beganEarlierInBlock(p *Pass) bool {
	for _, st := range sameTxEarlier(p) {
		if ts := st.Node.GetTransactionStmt(); ts != nil && (ts.Kind == pg_query.TransactionStmtKind_TRANS_STMT_BEGIN || ts.Kind == pg_query.TransactionStmtKind_TRANS_STMT_START) {
			return true
		}
	}
	return false
}

func toolName(p *Pass) string { return p.File.Framework.Runner() }
