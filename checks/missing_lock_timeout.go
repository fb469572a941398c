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
		set := "SET lock_timeout = '5s';"
		where := "at the top of the file"
		if p.Stmt.InTransaction {
			set = "SET LOCAL lock_timeout = '5s';"
			where = "at the top of the transaction"
		}
		fix := fmt.Sprintf("Add %s:\n\n%s\n\nand retry the migration when it fails with SQLSTATE 55P03 (lock_not_available). "+
			"If the runner already sets lock_timeout for every migration (for example in the connection string), say so with "+
			"assume_lock_timeout in .pgai.yml.", where, Indent(set))
		p.Report(fmt.Sprintf("No lock_timeout is set before this statement, which waits for %s on %s: while it waits behind a running query, every query on %s queues behind it.",
			LockSQLName(l.Mode), l.Name, l.Name), "", fix)
	},
}
