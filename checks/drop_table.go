package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var dropTable = &Rule{
	ID:       "drop-table",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "DROP TABLE of a table the migration did not create.",
	Why: "The table's rows are deleted for good, and during a rolling deploy the old application version still queries it and fails " +
		"with \"relation … does not exist\" (42P01). DROP TABLE takes ACCESS EXCLUSIVE on the table and also on every table its " +
		"foreign keys reference (their FK triggers are removed), so it waits behind long queries on those tables and blocks everything queued after it.",
	Fix: "Contract in two deploys: first ship code that no longer uses the table, keep a copy of the data if it may be needed " +
		"(pg_dump -t), then drop it in a later migration with a short lock_timeout.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-droptable.html",
	Check: func(p *Pass) {
		ds := p.Node().GetDropStmt()
		if ds == nil || ds.RemoveType != pg_query.ObjectType_OBJECT_TABLE {
			return
		}
		var old []string
		for _, name := range dropObjects(ds) {
			if !p.State.IsNew(rangeVarFromName(name)) {
				old = append(old, name)
			}
		}
		if len(old) == 0 {
			return
		}
		fix := fmt.Sprintf("1. Deploy code that no longer reads or writes %[1]s.\n2. Keep a copy if the data may be needed again "+
			"(pg_dump --table=%[2]s, or rename it to %[3]s and drop it weeks later).\n3. Drop it in a later migration, with a bounded wait for the lock:\n\n%[4]s",
			listNames(old), old[0], old[0]+"_deprecated",
			Indent(withTimeouts(p.Stmt.InTransaction, "DROP TABLE "+strings.Join(old, ", ")+";", lockTimeout2s)))
		msg := fmt.Sprintf("Dropping %s %s deletes its data and breaks application code that still uses it.", pluralize(len(old), "table", "tables"), listNames(old))
		if ds.Behavior == pg_query.DropBehavior_DROP_CASCADE {
			msg = fmt.Sprintf("Dropping %s %s with CASCADE deletes its data, breaks application code that still uses it, and silently drops the views and foreign keys that depend on it.", pluralize(len(old), "table", "tables"), listNames(old))
			fix += "\n\nWithout CASCADE, PostgreSQL refuses (2BP01) and lists the views and foreign keys that depend on the table; drop those explicitly, where the review sees them."
		}
		p.Report(msg, "", fix)
	},
}
