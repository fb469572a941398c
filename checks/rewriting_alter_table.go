package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var rewritingAlterTable = &Rule{
	ID:       "rewriting-alter-table",
	Group:    "locks",
	Severity: Error,
	Summary:  "ALTER TABLE … SET TABLESPACE, SET LOGGED/UNLOGGED or SET ACCESS METHOD on an existing table.",
	Why: "These forms copy the whole table (and, for SET TABLESPACE, each moved index) to new storage while holding ACCESS " +
		"EXCLUSIVE: every read and write waits until the copy is done. Nothing in the statement's wording says it rewrites.",
	Fix: "Move or convert large tables online with pg_repack (`--tablespace`), or create a new table with the wanted " +
		"properties, copy the rows in batches and swap names in one short transaction.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-TABLESPACE",
	Check: func(p *Pass) {
		rv, cmds := p.AlterCmds()
		if rv == nil || p.State.IsNew(rv) {
			return
		}
		for _, c := range cmds {
			var form string
			switch c.Subtype {
			case pg_query.AlterTableType_AT_SetTableSpace:
				form = "SET TABLESPACE " + c.Name
			case pg_query.AlterTableType_AT_SetLogged:
				form = "SET LOGGED"
			case pg_query.AlterTableType_AT_SetUnLogged:
				form = "SET UNLOGGED"
			case pg_query.AlterTableType_AT_SetAccessMethod:
				form = "SET ACCESS METHOD " + c.Name
			default:
				continue
			}
			fix := "Create a new table with the wanted property, copy the rows in batches, keep it in sync with a trigger, then swap the names in one short transaction (with lock_timeout set)."
			if c.Subtype == pg_query.AlterTableType_AT_SetTableSpace {
				fix = "Move the table online with pg_repack instead of in the migration (it copies the table while reads and writes go on):\n\n" +
					Indent(fmt.Sprintf("pg_repack --table=%s --tablespace=%s --moveidx", RelName(rv), c.Name))
			}
			p.Report(fmt.Sprintf("ALTER TABLE %s %s rewrites the whole table under ACCESS EXCLUSIVE: every read and write waits until the copy is done.", RelName(rv), form), "", fix)
		}
	},
}
