package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

var statementAfterAccessExclusive = &Rule{
	ID:       "statement-after-access-exclusive",
	Group:    "locks",
	Severity: Error,
	Summary:  "A slow statement (scan, rewrite, index build, DML) later in a transaction that already holds ACCESS EXCLUSIVE on an existing table.",
	Why: "Locks are held until the transaction commits. After a statement took ACCESS EXCLUSIVE on a table, every read and " +
		"write on that table waits not only for that statement but for everything after it in the same transaction: a " +
		"backfill, an index build or a validation later in the file turns a short lock into an outage.",
	Fix: "Commit right after the statement that takes ACCESS EXCLUSIVE: move the slow statement to its own migration (or " +
		"after COMMIT), or put it before the ACCESS EXCLUSIVE statement.",
	DocsURL: "https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES",
	Check: func(p *Pass) {
		if !p.Stmt.InTransaction || isSessionSetting(p.Node()) {
			return
		}
		what, slow := IsSlow(p)
		if !slow {
			return
		}
		if ix := p.Node().GetIndexStmt(); ix != nil && ix.Concurrent {
			return // fails in a transaction anyway: concurrent-in-transaction
		}
		if validatesSameTxConstraint(p) {
			return // validate-in-same-tx says it more precisely
		}
		key := fmt.Sprintf("%s#%d", p.Rule().ID, p.Stmt.TxBlock)
		if p.State.Value(key) != nil {
			return // once per transaction
		}
		for _, l := range p.State.HeldLocks(p.Stmt.TxBlock) {
			if l.Mode != AccessExclusive {
				continue
			}
			p.State.SetValue(key, true)
			more := ""
			if n := countWork(sameTxLater(p)); n > 0 {
				more = fmt.Sprintf(" (and %s after it)", plural(n, "more statement"))
			}
			fix := "End the transaction right after the statement that takes ACCESS EXCLUSIVE. " + moveAdvice(p) +
				"\n\nOr run this statement before the one that takes ACCESS EXCLUSIVE, while no strong lock is held."
			p.Report(fmt.Sprintf("%s runs in the same transaction as the statement on line %d that took ACCESS EXCLUSIVE on %s: reads and writes on %s stay blocked until this%s finishes and the transaction commits.",
				what, l.Line, l.Name, l.Table, more), "", fix)
			return
		}
	},
}

// countWork counts statements that do something (not SET, COMMIT, …).
func countWork(sts []*sqlparse.Statement) int {
	n := 0
	for _, st := range sts {
		if !isSessionSetting(st.Node) {
			n++
		}
	}
	return n
}

// validatesSameTxConstraint reports whether the statement validates a
// constraint added NOT VALID earlier in the same transaction.
func validatesSameTxConstraint(p *Pass) bool {
	found := false
	sameTxValidations(p, func(*pg_query.AlterTableCmd, *sqlparse.Statement, *pg_query.Constraint) bool {
		found = true
		return false
	})
	return found
}
