package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var dropNotNull = &Rule{
	ID:       "drop-not-null",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "ALTER COLUMN … DROP NOT NULL on an existing table.",
	Why: "Once the column accepts NULL, the new code (or anything else) can write NULLs, and readers written against the NOT NULL " +
		"guarantee break: non-pointer fields in Go, non-optional types generated from the schema, arithmetic and string " +
		"concatenation that turn NULL into NULL, `WHERE col <> x` that silently skips NULL rows. The statement is a quick catalog change " +
		"(ACCESS EXCLUSIVE, no scan), so the risk is in the readers, not the lock.",
	Fix: "Deploy readers that handle NULL first (every service and report that reads the column), then drop the constraint; " +
		"or keep NOT NULL and give the column a DEFAULT if writers only need to omit it.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL",
	Check: func(p *Pass) {
		rel, cmds := p.AlterCmds()
		if rel == nil || p.State.IsNew(rel) {
			return
		}
		for _, c := range cmds {
			if c.Subtype != pg_query.AlterTableType_AT_DropNotNull {
				continue
			}
			fix := fmt.Sprintf("Make sure every reader of %s.%s handles NULL before this runs. If writers only need to be able to omit "+
				"the value, keep the constraint and add a default instead (a constant default is a catalog-only change):\n\n%s",
				RelName(rel), c.Name, Indent(fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT <value>;", relSQL(rel), identSQL(c.Name))))
			p.Report(fmt.Sprintf("Dropping NOT NULL on %s.%s lets NULLs in where readers assume there are none.", RelName(rel), c.Name), "", fix)
		}
	},
}
