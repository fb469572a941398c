package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
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
		// The column's type as the history declared it; a placeholder only
		// for a table the migrations never created.
		typ := "<type of " + rs.Subname + ">"
		if c := p.State.Catalog.Table(rs.Relation).Column(rs.Subname); c != nil && c.Type != nil {
			typ = TypeSQL(c.Type)
		}
		key := batchKey(p, rs.Relation)
		expand := Indent(fmt.Sprintf("-- 1. expand: a new column of the same type as %[2]s\n"+
			"ALTER TABLE %[1]s ADD COLUMN %[3]s %[4]s;\n"+
			"-- 2. deploy code that writes both %[2]s and %[3]s (or a BEFORE INSERT OR UPDATE trigger that copies it)\n"+
			"-- 3. backfill in batches, each in its own transaction, until it updates no row:\n"+
			"UPDATE %[1]s SET %[3]s = %[2]s WHERE %[5]s IN (SELECT %[5]s FROM %[1]s WHERE %[3]s IS DISTINCT FROM %[2]s LIMIT 10000);", t, old, nw, typ, key))
		contract := fmt.Sprintf("Then deploy code that reads %s only, and in a later migration drop the old column (see rule drop-column):\n\n%s",
			rs.Newname, Indent(fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s;", t, old)))
		if readd := readdedColumn(p, rs.Relation, rs.Subname); readd != nil {
			// The file gives the old name to a new column: with both names
			// kept, that column would collide with the old one, and a later
			// "DROP COLUMN old" would drop the new column this migration
			// added. The new column belongs after the old one is gone.
			contract = fmt.Sprintf("Then deploy code that reads %[1]s only. The statement on line %[2]d adds a new column %[3]s: "+
				"while the old %[3]s still serves the old application version it cannot be added, so move it to the later migration "+
				"that retires the old column, in this order:\n\n%[4]s\n\nDo not drop %[3]s in any migration after line %[2]d has run: "+
				"by then %[3]s is the new column.",
				rs.Newname, readd.Start.Line, rs.Subname,
				Indent(fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s;  -- the old column: its values live on in %s\n%s", t, old, nw, strings.TrimSuffix(strings.TrimSpace(readd.Text), ";")+";")))
		}
		fix := fmt.Sprintf("Keep both names working while old and new application versions run side by side:\n\n%s\n\n%s", expand, contract)
		p.Report(fmt.Sprintf("Renaming column %s.%s to %s breaks every running query that still uses the old name.", RelName(rs.Relation), rs.Subname, rs.Newname), "", fix)
	},
}

// readdedColumn returns the later statement of the file that adds a
// column named col to the table again (ADD COLUMN col, or RENAME COLUMN …
// TO col), or nil.
func readdedColumn(p *Pass, rv *pg_query.RangeVar, col string) *sqlparse.Statement {
	for _, st := range p.File.Statements {
		if st.Index <= p.Stmt.Index || st.Part != p.Stmt.Part || st.Node == nil {
			continue
		}
		if r := st.Node.GetRenameStmt(); r != nil && r.RenameType == pg_query.ObjectType_OBJECT_COLUMN &&
			RelKey(r.Relation) == RelKey(rv) && strings.EqualFold(r.Newname, col) {
			return st
		}
		rel, cmds := AlterCmds(st.Node)
		if rel == nil || RelKey(rel) != RelKey(rv) {
			continue
		}
		for _, c := range cmds {
			if cd := c.GetDef().GetColumnDef(); c.Subtype == pg_query.AlterTableType_AT_AddColumn && cd != nil && strings.EqualFold(cd.Colname, col) {
				return st
			}
		}
	}
	return nil
}
