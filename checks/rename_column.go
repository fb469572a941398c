package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var renameColumn = &Rule{
	ID:       "rename-column",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "ALTER TABLE … RENAME COLUMN on an existing table.",
	Why: "A rename is instant for PostgreSQL (a catalog update under a brief ACCESS EXCLUSIVE lock), but the application is not: " +
		"during a rolling deploy the old version keeps sending queries with the old column name and every one of them fails with " +
		"\"column … does not exist\" (42703) until the last old instance is gone; the new version fails the same way if it starts " +
		"before the migration ran. Views and functions that name the column keep working, but application SQL, ORM caches and " +
		"reporting queries do not.",
	Fix: "Rename in expand/contract steps: add the new column, write both, backfill in batches, switch reads, drop the old column " +
		"in a later deploy.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-RENAME",
	Check: func(p *Pass) {
		rs := p.Node().GetRenameStmt()
		if rs == nil || rs.RenameType != pg_query.ObjectType_OBJECT_COLUMN || rs.Relation == nil || p.State.IsNew(rs.Relation) {
			return
		}
		t, old, nw := relSQL(rs.Relation), identSQL(rs.Subname), identSQL(rs.Newname)
		fix := fmt.Sprintf("Keep both names working while old and new application versions run side by side:\n\n%s\n\n"+
			"Then deploy code that reads %s only, and in a later migration drop the old column (see rule drop-column):\n\n%s",
			Indent(fmt.Sprintf("-- 1. expand: a new column of the same type as %[2]s\n"+
				"ALTER TABLE %[1]s ADD COLUMN %[3]s <type of %[2]s>;\n"+
				"-- 2. deploy code that writes both %[2]s and %[3]s (or a BEFORE INSERT OR UPDATE trigger that copies it)\n"+
				"-- 3. backfill in batches of a few thousand rows, each in its own transaction:\n"+
				"UPDATE %[1]s SET %[3]s = %[2]s WHERE %[3]s IS DISTINCT FROM %[2]s AND <primary key> BETWEEN :from AND :to;", t, old, nw)),
			rs.Newname, Indent(fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s;", t, old)))
		p.Report(fmt.Sprintf("Renaming column %s.%s to %s breaks every running query that still uses the old name.", RelName(rs.Relation), rs.Subname, rs.Newname), "", fix)
	},
}
