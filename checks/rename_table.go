package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var renameTable = &Rule{
	ID:       "rename-table",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "ALTER TABLE … RENAME TO (or a view's rename) on an existing relation.",
	Why: "The rename itself is a catalog update under a brief ACCESS EXCLUSIVE lock, but during a rolling deploy the old application " +
		"version keeps querying the old name and fails with \"relation … does not exist\" (42P01) until it is gone; a new version " +
		"started before the migration fails the same way. Views, foreign keys and functions compiled against the table follow the " +
		"rename; application SQL, ORM models and reports do not.",
	Fix: "Rename and leave a view with the old name behind in the same transaction: a simple view over one table is automatically " +
		"updatable, so old code keeps reading and writing through it. Drop the view once no old code runs.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-RENAME",
	Check: func(p *Pass) {
		rs := p.Node().GetRenameStmt()
		if rs == nil || rs.Relation == nil || p.State.IsNew(rs.Relation) {
			return
		}
		if p.State.Catalog.IndexTable(rangeVarNames(rs.Relation)) != nil {
			return // ALTER TABLE may rename an index: queries do not name indexes
		}
		kind := ""
		switch rs.RenameType {
		case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
			kind = "table"
		case pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW:
			kind = "view"
		default:
			return
		}
		renamed := &pg_query.RangeVar{Schemaname: rs.Relation.Schemaname, Relname: rs.Newname}
		// The safe pattern: a view under the old name created right after.
		if laterStmt(p, func(n *pg_query.Node) bool {
			v := n.GetViewStmt()
			return v != nil && RelKey(v.View) == RelKey(rs.Relation)
		}) {
			return
		}
		fix := ""
		if kind == "table" {
			fix = fmt.Sprintf("Keep the old name working for the old application version, in one transaction:\n\n%s\n\n"+
				"Deploy the code that uses %s, then drop the view in a later migration:\n\n%s",
				Indent(inOneTransaction(p.Stmt.InTransaction, fmt.Sprintf("ALTER TABLE %s RENAME TO %s;\nCREATE VIEW %s AS SELECT * FROM %s;",
					relSQL(rs.Relation), identSQL(rs.Newname), relSQL(rs.Relation), relSQL(renamed)), lockTimeout2s)),
				RelName(renamed), Indent(fmt.Sprintf("DROP VIEW %s;", relSQL(rs.Relation))))
		} else {
			fix = fmt.Sprintf("Create the view under its new name next to the old one, deploy code that uses %s, then drop %s in a later migration.",
				RelName(renamed), RelName(rs.Relation))
		}
		p.Report(fmt.Sprintf("Renaming %s %s to %s breaks every running query that still uses the old name.", kind, RelName(rs.Relation), rs.Newname), "", fix)
	},
}
