package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var checkValidatedInline = &Rule{
	ID:       "check-validated-inline",
	Predicts: Prediction{Scan: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "CHECK constraint added to an existing table without NOT VALID.",
	Why: "ADD CONSTRAINT … CHECK takes ACCESS EXCLUSIVE on the table and holds it while it scans every row: " +
		"every read and write on the table waits until the scan ends.",
	Fix: "Add the constraint NOT VALID (no scan; ACCESS EXCLUSIVE only for a moment), then VALIDATE CONSTRAINT in a separate " +
		"transaction, which scans under SHARE UPDATE EXCLUSIVE: reads and writes go on.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-VALIDATE-CONSTRAINT",
	Check: func(p *Pass) {
		rv, cons := addedConstraints(p)
		for _, ac := range cons {
			if ac.Con.Contype != pg_query.ConstrType_CONSTR_CHECK || ac.Con.SkipValidation || ac.Column != nil {
				continue
			}
			c := asTableConstraint(rv, ac)
			c.SkipValidation, c.InitiallyValid = true, false
			fix := "Add the constraint without checking existing rows, then validate it in a separate transaction:\n\n" +
				Indent(alterSQL(rv, addConstraintCmd(c))) + "\n\nThen, in a separate transaction (a later migration, or after COMMIT):\n\n" +
				Indent(alterSQL(rv, validateCmd(c.Conname))) +
				"\n\nNew and updated rows are checked from the first statement on; VALIDATE scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on."
			p.Report(fmt.Sprintf("CHECK constraint %s on %s is validated inline: reads and writes on %s are blocked while every row is checked.",
				c.Conname, RelName(rv), RelName(rv)), "", fix)
			if _, cmds := p.AlterCmds(); len(cmds) == 1 && len(cons) == 1 {
				// Where each statement commits on its own the pair is a drop-in.
				p.EditLastAutocommit(alterSQL(rv, addConstraintCmd(c)) + "\n" + alterSQL(rv, validateCmd(c.Conname)))
			}
		}
	},
}
