package checks

import (
	"fmt"
)

var missingLockTimeout = &Rule{
	ID:       "missing-lock-timeout",
	Group:    "locks",
	Severity: Warning,
	Summary:  "A statement that takes a write-blocking lock on an existing table with no lock_timeout set before it (reported once per file).",
	Why: "A lock request waits behind every running query that holds a conflicting lock, and while it waits it blocks every " +
		"later query that conflicts with it: one long SELECT in front of an ALTER TABLE stops all traffic on the table for as " +
		"long as the SELECT runs. lock_timeout makes the migration give up (and retry later) instead.",
	Fix:     "Set lock_timeout at the top of the migration (SET LOCAL inside a transaction) and retry the migration when it times out.",
	DocsURL: "https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT",
	Check: func(p *Pass) {
		if p.Settings.AssumeLockTimeout || p.State.LockTimeout || p.ReportedInFile() > 0 {
			return
		}
		if NonTransactional(p.Node()) != "" {
			return
		}
		l, ok := strongest(writeBlockingLocks(p, p.Node()))
		if !ok {
			return
		}
		how := "Add at the top of the transaction:\n\n" + Indent(withTimeouts(true, "", lockTimeout5s))
		if !p.Stmt.InTransaction {
			// SET LOCAL does nothing outside a transaction, and a plain SET
			// stays on the runner's connection: set it around the statement.
			how = "Set it for this statement and reset it after (the file runs without a transaction, so SET LOCAL would do nothing):\n\n" +
				Indent(withTimeouts(false, stmtSQL(p), lockTimeout5s))
		}
		fix := fmt.Sprintf("%s\n\nand retry the migration when it fails with SQLSTATE 55P03 (lock_not_available). "+
			"If the runner already sets lock_timeout for every migration (for example in the connection string), say so with "+
			"assume_lock_timeout in .pgai.yml.", how)
		p.Report(fmt.Sprintf("No lock_timeout is set before this statement, which waits for %s on %s: while it waits behind a running query, every query on %s queues behind it.",
			LockSQLName(l.Mode), l.Name, l.Table), "", fix)
		p.EditLast(withTimeouts(p.Stmt.InTransaction, stmtSQL(p), lockTimeout5s))
	},
}
