package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var pkOnNullableColumns = &Rule{
	ID:       "pk-on-nullable-columns",
	Predicts: Prediction{Scan: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "PRIMARY KEY (also USING INDEX) over columns that are not NOT NULL.",
	Why: "A primary key needs NOT NULL columns, so PostgreSQL silently runs SET NOT NULL on each nullable key column: " +
		"a scan of the whole table under ACCESS EXCLUSIVE, during which every read and write waits (from PostgreSQL 12 " +
		"the scan is skipped when a validated CHECK (col IS NOT NULL) exists).",
	Fix:     "Before adding the key, add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a separate transaction and SET NOT NULL.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX",
	Check: func(p *Pass) {
		rv, cons := addedConstraints(p)
		t := p.State.Catalog.Table(rv)
		if t == nil {
			return // columns unknown: do not guess
		}
		for _, ac := range cons {
			if ac.Con.Contype != pg_query.ConstrType_CONSTR_PRIMARY || ac.Column != nil {
				continue
			}
			cols := stringList(ac.Con.Keys)
			if ac.Con.Indexname != "" {
				if ix := t.Indexes[strings.ToLower(ac.Con.Indexname)]; ix != nil {
					cols = ix.Columns
				}
			}
			var nullable []string
			fix := ""
			for _, k := range cols {
				col := t.Column(k)
				if col == nil || col.NotNull || (p.Settings.PGVersion.AtLeast(12, 0) && t.ProvedNotNull(k)) {
					continue
				}
				nullable = append(nullable, k)
				name := DefaultConstraintName(rv.Relname, []string{k}, "_not_null")
				fix += fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID;\n-- in a separate transaction:\nALTER TABLE %s VALIDATE CONSTRAINT %s;\nALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\n",
					RelName(rv), name, quoteIdent(k), RelName(rv), name, RelName(rv), quoteIdent(k))
			}
			if len(nullable) == 0 {
				continue
			}
			fix = "Make the columns NOT NULL first, without a scan under ACCESS EXCLUSIVE:\n\n" + Indent(fix) +
				"\n\nthen add the primary key as written."
			if !p.Settings.PGVersion.AtLeast(12, 0) {
				fix = fmt.Sprintf("On PostgreSQL %s SET NOT NULL always scans the table; run it when a short outage is acceptable, with lock_timeout set, before adding the key.", p.Settings.PGVersion)
			}
			p.Report(fmt.Sprintf("PRIMARY KEY on %s makes nullable column(s) %s NOT NULL implicitly: a full scan under ACCESS EXCLUSIVE.",
				RelName(rv), strings.Join(nullable, ", ")), "", fix)
		}
	},
}
