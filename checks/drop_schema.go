package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var dropSchema = &Rule{
	ID:       "drop-schema",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "DROP SCHEMA of a schema the migration did not create.",
	Why: "With CASCADE every table, view, function and type in the schema is dropped with its data, and anything outside that " +
		"depends on them goes too; without CASCADE the statement fails at deploy time (2BP01) unless the schema is already empty. " +
		"Running application code that uses objects in the schema breaks either way.",
	Fix: "Move or drop the schema's objects one by one in earlier, reviewed migrations (each drop is then visible and checked), " +
		"and drop the empty schema last, without CASCADE.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-dropschema.html",
	Check: func(p *Pass) {
		ds := p.Node().GetDropStmt()
		if ds == nil || ds.RemoveType != pg_query.ObjectType_OBJECT_SCHEMA {
			return
		}
		for _, name := range dropObjects(ds) {
			if schemaCreated(p, name) {
				continue
			}
			msg := fmt.Sprintf("Dropping schema %s fails unless it is empty, and breaks code that uses objects in it.", name)
			if ds.Behavior == pg_query.DropBehavior_DROP_CASCADE {
				msg = fmt.Sprintf("Dropping schema %s with CASCADE deletes every object in it, with its data.", name)
			}
			fix := fmt.Sprintf("List what the schema still holds, drop or move those objects in reviewed migrations, then drop it empty:\n\n%s",
				Indent(fmt.Sprintf("SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s;\n"+
					"DROP SCHEMA %s;", sqlLiteral(name), identSQL(name))))
			p.Report(msg, "", fix)
		}
	},
}
