package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// uniqueIndexFix is the safe sequence for a UNIQUE or PRIMARY KEY
// constraint: build the index concurrently, then attach it.
func uniqueIndexFix(rv *pg_query.RangeVar, c *pg_query.Constraint) string {
	cols := stringList(c.Keys)
	quoted := make([]string, len(cols))
	for i, k := range cols {
		quoted[i] = quoteIdent(k)
	}
	kind := "UNIQUE"
	if c.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
		kind = "PRIMARY KEY"
	}
	idx := c.Conname
	nulls := ""
	if c.NullsNotDistinct {
		nulls = " NULLS NOT DISTINCT"
	}
	include := ""
	if inc := stringList(c.Including); len(inc) > 0 {
		include = " INCLUDE (" + strings.Join(inc, ", ") + ")"
	}
	return fmt.Sprintf("CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (%s)%s%s;", quoteIdent(idx), RelName(rv), strings.Join(quoted, ", "), include, nulls) +
		"\n" + fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s;", RelName(rv), quoteIdent(c.Conname), kind, quoteIdent(idx))
}

var addUniqueConstraint = &Rule{
	ID:       "add-unique-constraint",
	Predicts: Prediction{Scan: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "UNIQUE constraint added to an existing table without USING INDEX.",
	Why: "ADD CONSTRAINT … UNIQUE builds the unique index while holding ACCESS EXCLUSIVE on the table: every read and " +
		"write waits until the index is built.",
	Fix: "Build the unique index with CREATE UNIQUE INDEX CONCURRENTLY (outside a transaction), then attach it with " +
		"ADD CONSTRAINT … UNIQUE USING INDEX, which only holds ACCESS EXCLUSIVE for a moment.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX",
	Check: func(p *Pass) {
		rv, cons := addedConstraints(p)
		for _, ac := range cons {
			if ac.Con.Contype != pg_query.ConstrType_CONSTR_UNIQUE || ac.Con.Indexname != "" {
				continue
			}
			c := asTableConstraint(rv, ac)
			pre := ""
			if ac.Column != nil {
				plain := columnWithoutDefault(ac.Column)
				plain.Constraints = nil
				pre = alterSQL(rv, &pg_query.AlterTableCmd{Subtype: pg_query.AlterTableType_AT_AddColumn, Def: &pg_query.Node{Node: &pg_query.Node_ColumnDef{ColumnDef: plain}}}) + "\n"
			}
			fix := "Build the index without blocking traffic, in a migration that does not run in a transaction, then attach it:\n\n" +
				Indent(pre+uniqueIndexFix(rv, c)) +
				"\n\nCONCURRENTLY takes SHARE UPDATE EXCLUSIVE (reads and writes go on); USING INDEX only holds ACCESS EXCLUSIVE for a moment. " +
				"If the build fails (for example on a duplicate) it leaves an INVALID index: drop it, fix the data, retry."
			p.Report(fmt.Sprintf("UNIQUE constraint %s on %s (%s) builds its index under ACCESS EXCLUSIVE: reads and writes on %s are blocked meanwhile.",
				c.Conname, RelName(rv), strings.Join(stringList(c.Keys), ", "), RelName(rv)), "", fix)
		}
	},
}
