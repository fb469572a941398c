package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var detachPartitionNonconcurrent = &Rule{
	ID:       "detach-partition-nonconcurrent",
	Group:    "locks",
	Severity: Warning,
	Summary:  "ALTER TABLE … DETACH PARTITION without CONCURRENTLY.",
	Why: "DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table (and the partition): the lock request waits for " +
		"every running query on any partition, and every later read and write on the whole table queues behind it.",
	Fix: "From PostgreSQL 14 use DETACH PARTITION … CONCURRENTLY (outside a transaction block; not for a DEFAULT partition): " +
		"it takes SHARE UPDATE EXCLUSIVE on the parent.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION",
	Check: func(p *Pass) {
		rv, cmds := p.AlterCmds()
		if rv == nil || p.State.IsNew(rv) {
			return
		}
		for _, c := range cmds {
			pc := c.Def.GetPartitionCmd()
			if c.Subtype != pg_query.AlterTableType_AT_DetachPartition || pc == nil || pc.Concurrent {
				continue
			}
			var fix string
			if p.Settings.PGVersion.AtLeast(14, 0) {
				fix = "Detach without blocking queries on the parent, in a migration that does not run in a transaction:\n\n" +
					Indent(fmt.Sprintf("ALTER TABLE %s DETACH PARTITION %s CONCURRENTLY;", RelName(rv), RelName(pc.Name))) +
					"\n\nIf it is interrupted, finish it with ALTER TABLE … DETACH PARTITION … FINALIZE."
			} else {
				fix = fmt.Sprintf("DETACH PARTITION CONCURRENTLY needs PostgreSQL 14 (target: %s). Set a short lock_timeout "+
					"and retry when it fails, so the request gives up instead of queueing traffic behind it:\n\n%s", p.Settings.PGVersion,
					Indent(withTimeouts(p.Stmt.InTransaction, stmtSQL(p), timeout{"lock_timeout", "'3s'"})))
			}
			p.Report(fmt.Sprintf("DETACH PARTITION %s from %s takes ACCESS EXCLUSIVE on %s: queued behind running queries, it blocks every read and write on the table.",
				RelName(pc.Name), RelName(rv), RelName(rv)), "", fix)
		}
	},
}
