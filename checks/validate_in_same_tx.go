package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

var validateInSameTx = &Rule{
	ID:       "validate-in-same-tx",
	Predicts: Prediction{Scan: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "VALIDATE CONSTRAINT in the same transaction as the ADD CONSTRAINT … NOT VALID it validates.",
	Why: "Locks are held until the transaction commits. The ADD CONSTRAINT … NOT VALID took ACCESS EXCLUSIVE (CHECK) or " +
		"SHARE ROW EXCLUSIVE (FOREIGN KEY, on both tables), and that lock is still held while VALIDATE scans the table, " +
		"so splitting the statement bought nothing: the scan blocks traffic as if the constraint had been validated inline.",
	Fix:     "Commit between the two: put VALIDATE CONSTRAINT in a separate migration (or after COMMIT in a file that is not wrapped in a transaction).",
	DocsURL: "https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES",
	Check: func(p *Pass) {
		rv, _ := p.AlterCmds()
		if rv == nil || p.State.IsNew(rv) {
			return
		}
		sameTxValidations(p, func(c *pg_query.AlterTableCmd, st *sqlparse.Statement, con *pg_query.Constraint) bool {
			if !con.SkipValidation {
				return true
			}
			mode, held := AccessExclusive, RelName(rv)
			if con.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
				mode, held = ShareRowExclusive, RelName(rv)+" and "+RelName(con.Pktable)
			}
			fix := "Commit before validating. " + splitAdvice(p) + "\n\n" +
				Indent(alterSQL(rv, validateCmd(c.Name)))
			p.Report(fmt.Sprintf("VALIDATE CONSTRAINT %s runs in the same transaction as its ADD CONSTRAINT … NOT VALID on line %d (%s): %s on %s is still held while %s is scanned.",
				c.Name, st.Start.Line, strings.TrimPrefix(txContext(p), "inside "), LockSQLName(mode), held, RelName(rv)), "", fix)
			return true
		})
	},
}

// sameTxValidations calls fn for each VALIDATE CONSTRAINT of the
// statement whose constraint an earlier statement of the same transaction
// added, with that statement and its constraint; fn returns false to stop.
func sameTxValidations(p *Pass, fn func(validate *pg_query.AlterTableCmd, added *sqlparse.Statement, con *pg_query.Constraint) bool) {
	rv, cmds := p.AlterCmds()
	if rv == nil {
		return
	}
	for _, c := range cmds {
		if c.Subtype != pg_query.AlterTableType_AT_ValidateConstraint {
			continue
		}
		for _, st := range sameTxEarlier(p) {
			rv2, cmds2 := AlterCmds(st.Node)
			if rv2 == nil || RelKey(rv2) != RelKey(rv) {
				continue
			}
			for _, c2 := range cmds2 {
				con := c2.Def.GetConstraint()
				if c2.Subtype == pg_query.AlterTableType_AT_AddConstraint && con != nil &&
					strings.EqualFold(constraintName(rv2, con, ""), c.Name) && !fn(c, st, con) {
					return
				}
			}
		}
	}
}

// splitAdvice says how to move a statement into its own transaction.
func splitAdvice(p *Pass) string {
	if strings.HasPrefix(txContext(p), "inside the transaction opened by BEGIN") {
		return "End the transaction (COMMIT) before this statement and run it on its own:"
	}
	return "The migration tool runs this whole file in one transaction, so move this statement to the next migration file:"
}
