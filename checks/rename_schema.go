package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var renameSchema = &Rule{
	ID:       "rename-schema",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "ALTER SCHEMA … RENAME TO of a schema the migration did not create.",
	Why: "Every running query that qualifies a name with the old schema (old_schema.orders), every search_path setting that lists it " +
		"(in connection strings, ALTER ROLE … SET search_path, pooler configs) and every grant script stops working at once: queries fail " +
		"with \"relation … does not exist\" (42P01) or, through search_path, silently resolve to another object of the same name.",
	Fix: "Do not rename a schema under a running application. Create the new schema and move objects one at a time " +
		"(ALTER TABLE … SET SCHEMA, leaving a view behind in the old schema), update search_path settings, and drop the old schema last.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-alterschema.html",
	Check: func(p *Pass) {
		rs := p.Node().GetRenameStmt()
		if rs == nil || rs.RenameType != pg_query.ObjectType_OBJECT_SCHEMA || schemaCreated(p, rs.Subname) {
			return
		}
		old, nw := identSQL(rs.Subname), identSQL(rs.Newname)
		fix := fmt.Sprintf("Move the objects instead, one table per migration, each leaving a view under the old name for old code:\n\n%s\n\n"+
			"Update search_path settings (ALTER ROLE … SET search_path) and deploy code that uses %s, then drop the views and schema %s in a later migration.",
			Indent("CREATE SCHEMA IF NOT EXISTS "+nw+";\n"+inOneTransaction(p.Stmt.InTransaction, fmt.Sprintf("ALTER TABLE %[1]s.<table> SET SCHEMA %[2]s;\n"+
				"CREATE VIEW %[1]s.<table> AS SELECT * FROM %[2]s.<table>;", old, nw), lockTimeout2s)), rs.Newname, rs.Subname)
		p.Report(fmt.Sprintf("Renaming schema %s to %s breaks every query and search_path that names %s.", rs.Subname, rs.Newname, rs.Subname), "", fix)
	},
}
