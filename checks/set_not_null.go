package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var setNotNull = &Rule{
	ID:       "set-not-null",
	Predicts: Prediction{Scan: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "ALTER COLUMN … SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL).",
	Why: "SET NOT NULL takes ACCESS EXCLUSIVE and scans the whole table to prove no row is NULL: every read and write on " +
		"the table waits until the scan ends. From PostgreSQL 12 the scan is skipped when a validated CHECK constraint " +
		"proves the column is not null.",
	Fix: "Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a separate transaction (SHARE UPDATE EXCLUSIVE: reads and " +
		"writes go on), then SET NOT NULL (no scan on PostgreSQL 12+) and drop the CHECK.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL",
	Check: func(p *Pass) {
		rv, cmds := p.AlterCmds()
		if rv == nil || p.State.IsNew(rv) {
			return
		}
		t := p.State.Catalog.Table(rv)
		pg12 := p.Settings.PGVersion.AtLeast(12, 0)
		for _, c := range cmds {
			if c.Subtype != pg_query.AlterTableType_AT_SetNotNull {
				continue
			}
			if pg12 && t.ProvedNotNull(c.Name) {
				continue
			}
			if col := t.Column(c.Name); col != nil && col.NotNull {
				// Already NOT NULL (an earlier migration said so): PostgreSQL
				// sees nothing to do and skips the scan.
				continue
			}
			table, col := RelName(rv), quoteIdent(c.Name)
			name := DefaultConstraintName(rv.Relname, []string{c.Name}, "_not_null")
			steps := fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID;", table, name, col)
			validate := fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;", table, name)
			if pg12 {
				fix := "Prove the column is not null with a validated CHECK first, so that SET NOT NULL skips the scan:\n\n" +
					Indent(steps) + "\n\nThen, in a separate transaction (a later migration, or after COMMIT):\n\n" +
					Indent(validate+fmt.Sprintf("\nALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\nALTER TABLE %s DROP CONSTRAINT %s;", table, col, table, name)) +
					"\n\nVALIDATE scans under SHARE UPDATE EXCLUSIVE (reads and writes go on); SET NOT NULL then only holds ACCESS EXCLUSIVE for a moment."
				p.Report(fmt.Sprintf("SET NOT NULL on %s.%s scans the whole table under ACCESS EXCLUSIVE: no validated CHECK (%s IS NOT NULL) precedes it.", table, c.Name, c.Name), "", fix)
				continue
			}
			fix := fmt.Sprintf("PostgreSQL %s always scans for SET NOT NULL (the CHECK shortcut arrived in 12). To enforce the rule without the scan "+
				"under ACCESS EXCLUSIVE, keep a validated CHECK constraint instead of the NOT NULL flag:\n\n", p.Settings.PGVersion) +
				Indent(steps) + "\n\nThen, in a separate transaction:\n\n" + Indent(validate) +
				"\n\nand switch to SET NOT NULL after upgrading to PostgreSQL 12 or later."
			p.Report(fmt.Sprintf("SET NOT NULL on %s.%s scans the whole table under ACCESS EXCLUSIVE on PostgreSQL %s, even with a validated CHECK.", table, c.Name, p.Settings.PGVersion), "", fix)
		}
	},
}
