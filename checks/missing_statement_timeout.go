package checks

import (
	"fmt"
)

var missingStatementTimeout = &Rule{
	ID:       "missing-statement-timeout",
	Group:    "locks",
	Severity: Warning,
	Summary:  "A statement that scans, rewrites or changes rows of an existing table with no statement_timeout set before it (reported once per file).",
	Why: "Without statement_timeout, a statement that takes longer than expected on production data (a rewrite, a backfill, " +
		"a validation) keeps running, and keeps its locks, for as long as it takes.",
	Fix: "Set statement_timeout at the top of the migration (SET LOCAL inside a transaction) to a bound you can accept; on " +
		"PostgreSQL 17+ transaction_timeout bounds the whole transaction, including the time locks are held between statements.",
	DocsURL: "https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT",
	Check: func(p *Pass) {
		if p.Settings.AssumeStatementTimeout || p.State.StatementTimeout || p.ReportedInFile() > 0 {
			return
		}
		pg17 := p.Settings.PGVersion.AtLeast(17, 0)
		if pg17 && p.State.TransactionTimeout {
			return
		}
		if NonTransactional(p.Node()) != "" {
			return // CONCURRENTLY builds and VACUUM: a timeout would only leave an INVALID index or wasted work
		}
		what, slow := IsSlow(p)
		if !slow {
			return
		}
		var fix string
		if p.Stmt.InTransaction {
			set := withTimeouts(true, "", timeout{"statement_timeout", "'15min'"})
			if pg17 {
				set += "\nSET LOCAL transaction_timeout = '20min';  -- PostgreSQL 17+: bounds the whole transaction"
			}
			fix = "Bound the migration's running time at the top of the transaction (choose values that fit the table size):\n\n" + Indent(set)
		} else {
			fix = "Bound this statement's running time, and reset the setting after it (the file runs without a transaction, so SET LOCAL would do nothing; choose a value that fits the table size):\n\n" +
				Indent(withTimeouts(false, stmtSQL(p), timeout{"statement_timeout", "'15min'"}))
		}
		fix +=
			"\n\nIf the runner sets it for every migration, say so with assume_statement_timeout in .pgai.yml."
		p.Report(fmt.Sprintf("No statement_timeout is set before this %s, which takes time proportional to the table's size.", what), "", fix)
		p.EditLast(withTimeouts(p.Stmt.InTransaction, stmtSQL(p), timeout{"statement_timeout", "'15min'"}))
	},
}
