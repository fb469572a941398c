package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var addPrimaryKey = &Rule{
	ID:       "add-primary-key",
	Group:    "locks",
	Severity: Error,
	Summary:  "PRIMARY KEY added to an existing table without USING INDEX.",
	Why: "ADD PRIMARY KEY builds the unique index while holding ACCESS EXCLUSIVE on the table (and first scans to set NOT NULL " +
		"on nullable key columns): every read and write waits until it ends.",
	Fix: "Build the index with CREATE UNIQUE INDEX CONCURRENTLY, make the key columns NOT NULL through a validated CHECK, " +
		"then ADD CONSTRAINT … PRIMARY KEY USING INDEX, which only holds ACCESS EXCLUSIVE for a moment.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX",
	Check: func(p *Pass) {
		rv, cons := addedConstraints(p)
		for _, ac := range cons {
			if ac.Con.Contype != pg_query.ConstrType_CONSTR_PRIMARY || ac.Con.Indexname != "" {
				continue
			}
			c := asTableConstraint(rv, ac)
			cols := stringList(c.Keys)
			pre := ""
			if ac.Column != nil {
				plain := columnWithoutDefault(ac.Column)
				plain.Constraints = nil
				pre = alterSQL(rv, &pg_query.AlterTableCmd{Subtype: pg_query.AlterTableType_AT_AddColumn, Def: &pg_query.Node{Node: &pg_query.Node_ColumnDef{ColumnDef: plain}}}) + "\n"
			}
			notNull := ""
			t := p.State.Catalog.Table(rv)
			for _, k := range cols {
				col := t.Column(k)
				if col != nil && col.NotNull {
					continue
				}
				name := DefaultConstraintName(rv.Relname, []string{k}, "_not_null")
				notNull += fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID;\nALTER TABLE %s VALIDATE CONSTRAINT %s;  -- separate transaction\nALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\n",
					RelName(rv), name, quoteIdent(k), RelName(rv), name, RelName(rv), quoteIdent(k))
			}
			fix := "Build the index without blocking traffic (outside a transaction), make sure the key columns are NOT NULL " +
				"without a scan under ACCESS EXCLUSIVE, then attach the index:\n\n" + Indent(pre+notNull+uniqueIndexFix(rv, c)) +
				"\n\nCONCURRENTLY takes SHARE UPDATE EXCLUSIVE (reads and writes go on); PRIMARY KEY USING INDEX only holds ACCESS EXCLUSIVE for a moment when the columns are already NOT NULL."
			p.Report(fmt.Sprintf("PRIMARY KEY %s on %s (%s) builds its index under ACCESS EXCLUSIVE: reads and writes on %s are blocked meanwhile.",
				c.Conname, RelName(rv), strings.Join(cols, ", "), RelName(rv)), "", fix)
		}
	},
}
