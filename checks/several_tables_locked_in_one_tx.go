package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var severalTablesLockedInOneTx = &Rule{
	ID:       "several-tables-locked-in-one-tx",
	Group:    "locks",
	Severity: Warning,
	Summary:  "One transaction takes write-blocking locks on several existing tables.",
	Why: "Locks are held until commit, so a transaction that locks one table and then another keeps the first locked while " +
		"it waits for the second: the outage spreads to every table the transaction touched, and application transactions " +
		"that lock the same tables in the other order deadlock with the migration.",
	Fix:     "Change one table per transaction: split the migration so that each transaction locks one table, and set lock_timeout.",
	DocsURL: "https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-DEADLOCKS",
	Check: func(p *Pass) {
		if !p.Stmt.InTransaction {
			return
		}
		key := fmt.Sprintf("%s#%d", p.Rule().ID, p.Stmt.TxBlock)
		if p.State.Value(key) != nil {
			return
		}
		cur := writeBlockingLocks(p, p.Node())
		if len(cur) == 0 {
			return
		}
		held := map[string]string{} // table → description of the earlier lock
		var order []string
		for _, l := range p.State.HeldLocks(p.Stmt.TxBlock) {
			if !blocksWrites(l.Mode) {
				continue
			}
			k := strings.ToLower(l.Table)
			if _, ok := held[k]; !ok {
				held[k] = fmt.Sprintf("%s on %s (line %d)", LockSQLName(l.Mode), l.Name, l.Line)
				order = append(order, k)
			}
		}
		if len(held) == 0 {
			return
		}
		for _, l := range cur {
			if _, ok := held[strings.ToLower(l.Table)]; ok {
				continue
			}
			var earlier []string
			for _, k := range order {
				earlier = append(earlier, held[k])
			}
			p.State.SetValue(key, true)
			fix := "Give each table its own transaction. " + moveAdvice(p) +
				"\n\nand set a lock_timeout so that a blocked lock request gives up instead of holding the other tables."
			p.Report(fmt.Sprintf("This statement takes %s on %s while the same transaction still holds %s: %s stay locked until commit.",
				LockSQLName(l.Mode), l.Name, strings.Join(earlier, ", "), pluralize(len(earlier), "both tables", "all these tables")), "", fix)
			return
		}
	},
}

// writeBlockingLocks returns the locks a statement takes on existing
// tables that block writes (SHARE or stronger).
func writeBlockingLocks(p *Pass, n *pg_query.Node) []RelLock {
	var out []RelLock
	for _, l := range existingLocks(p, StatementLocks(n, p.State.Catalog, false)) {
		if blocksWrites(l.Mode) {
			out = append(out, l)
		}
	}
	return out
}
