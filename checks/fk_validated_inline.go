package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var fkValidatedInline = &Rule{
	ID:       "fk-validated-inline",
	Predicts: Prediction{Scan: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "FOREIGN KEY added to an existing table without NOT VALID.",
	Why: "ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on the table and on the referenced table, then scans the whole table " +
		"to check every row: INSERT, UPDATE and DELETE on both tables wait until the scan ends (reads go on).",
	Fix: "Add the constraint NOT VALID (no scan, the lock is held only for a moment), then VALIDATE CONSTRAINT in a separate " +
		"transaction: validation takes SHARE UPDATE EXCLUSIVE on the table and ROW SHARE on the referenced table, so reads and writes go on.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT",
	Check: func(p *Pass) {
		rv, cons := addedConstraints(p)
		for _, ac := range cons {
			if ac.Con.Contype != pg_query.ConstrType_CONSTR_FOREIGN || ac.Con.SkipValidation {
				continue
			}
			if ac.Column != nil {
				// A new column without a default is all NULL: PostgreSQL
				// marks the key valid without a scan
				// (transformFKConstraints, parse_utilcmd.c).
				if def := columnDefault(ac.Column); def == nil || isNullConst(def) {
					continue
				}
			}
			c := asTableConstraint(rv, ac)
			c.SkipValidation, c.InitiallyValid = true, false
			ref := RelName(ac.Con.Pktable)
			var pre string
			if ac.Column != nil {
				// Add the column first (a constant default needs no
				// rewrite), then the key NOT VALID, then validate.
				plain := columnWithoutDefault(ac.Column)
				plain.Constraints = nil
				for _, cn := range ac.Column.Constraints {
					if k := cn.GetConstraint(); k != nil && k.Contype != pg_query.ConstrType_CONSTR_FOREIGN {
						plain.Constraints = append(plain.Constraints, cn)
					}
				}
				pre = alterSQL(rv, &pg_query.AlterTableCmd{Subtype: pg_query.AlterTableType_AT_AddColumn, Def: &pg_query.Node{Node: &pg_query.Node_ColumnDef{ColumnDef: plain}}}) + "\n"
			}
			fix := "Add the constraint without checking existing rows, then validate it in a separate transaction:\n\n" +
				Indent(pre+alterSQL(rv, addConstraintCmd(c))) + "\n\nThen, in a separate transaction (a later migration, or after COMMIT):\n\n" +
				Indent(alterSQL(rv, validateCmd(c.Conname))) +
				"\n\nNew and updated rows are checked from the first statement on; VALIDATE scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on."
			cols := strings.Join(stringList(c.FkAttrs), ", ")
			p.Report(fmt.Sprintf("Foreign key %s on %s (%s) → %s is validated inline: writes to %s and %s are blocked while %s is scanned.",
				c.Conname, RelName(rv), cols, ref, RelName(rv), ref, RelName(rv)), "", fix)
			if _, cmds := p.AlterCmds(); len(cmds) == 1 && len(cons) == 1 {
				// Where each statement commits on its own the pair is a drop-in.
				p.EditLastAutocommit(pre + alterSQL(rv, addConstraintCmd(c)) + "\n" + alterSQL(rv, validateCmd(c.Conname)))
			}
		}
	},
}
