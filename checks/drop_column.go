package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var dropColumn = &Rule{
	ID:       "drop-column",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "ALTER TABLE … DROP COLUMN on an existing table.",
	Why: "During a rolling deploy the old application version keeps running next to the new one, and ORMs that cache the column " +
		"list (Rails, Hibernate, Django) name the column in every INSERT and SELECT: those queries fail with " +
		"\"column … does not exist\" as soon as the column is gone. The data in the column is lost for good (only a backup brings it back). " +
		"The statement itself is fast (the column is only marked dropped; the space is reclaimed by later rewrites) but it needs an " +
		"ACCESS EXCLUSIVE lock, so it waits behind any long query on the table and blocks all reads and writes queued after it.",
	Fix: "Contract in two deploys: first ship application code that no longer reads or writes the column (Rails: self.ignored_columns; " +
		"Django: remove the field with SeparateDatabaseAndState), then drop the column in a later migration with a short lock_timeout.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-DROP-COLUMN",
	Check: func(p *Pass) {
		rel, cmds := p.AlterCmds()
		if rel == nil || p.State.IsNew(rel) {
			return
		}
		for _, c := range cmds {
			if c.Subtype != pg_query.AlterTableType_AT_DropColumn {
				continue
			}
			msg := fmt.Sprintf("Dropping column %s.%s breaks application code that still reads or writes it and deletes its data.", RelName(rel), c.Name)
			stmt := "ALTER TABLE " + relSQL(rel) + " DROP COLUMN " + identSQL(c.Name) + ";"
			if c.Behavior == pg_query.DropBehavior_DROP_CASCADE {
				msg = fmt.Sprintf("Dropping column %s.%s with CASCADE breaks application code that still uses it, deletes its data, and silently drops the views and foreign keys that depend on it.", RelName(rel), c.Name)
			}
			fix := fmt.Sprintf("Drop it only after every running version of the application has stopped using it:\n\n"+
				"1. Deploy code that no longer reads or writes %[1]s.%[2]s (Rails: self.ignored_columns += [\"%[2]s\"]; Django: "+
				"SeparateDatabaseAndState).\n2. Copy the data elsewhere if it may be needed again.\n3. In a later migration, with a bounded wait for the lock:\n\n%[3]s",
				RelName(rel), c.Name,
				Indent(withTimeouts(p.Stmt.InTransaction, stmt, lockTimeout2s)))
			if c.Behavior == pg_query.DropBehavior_DROP_CASCADE {
				fix += "\n\nWithout CASCADE, PostgreSQL refuses (2BP01) and lists what depends on the column; drop those explicitly, where the review sees them."
			}
			p.Report(msg, "", fix)
		}
	},
}
