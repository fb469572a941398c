package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var addExclusionConstraint = &Rule{
	ID:       "add-exclusion-constraint",
	Group:    "locks",
	Severity: Error,
	Summary:  "EXCLUDE constraint added to an existing table.",
	Why: "ADD CONSTRAINT … EXCLUDE builds its index and checks every row while holding ACCESS EXCLUSIVE on the table: " +
		"every read and write waits until it ends. Unlike UNIQUE, there is no CONCURRENTLY/USING INDEX route and no NOT VALID.",
	Fix: "Declare exclusion constraints when the table is created. On a populated table, either accept a maintenance window " +
		"(with lock_timeout set) or build a new table with the constraint, copy the rows and swap names.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-EXCLUDE",
	Check: func(p *Pass) {
		rv, cons := addedConstraints(p)
		for _, ac := range cons {
			if ac.Con.Contype != pg_query.ConstrType_CONSTR_EXCLUSION {
				continue
			}
			name := constraintName(rv, ac.Con, "")
			fix := "There is no online way to add an exclusion constraint. Run it in a maintenance window with a short lock_timeout " +
				"so that it gives up instead of queueing in front of traffic:\n\n" +
				Indent(withTimeouts(p.Stmt.InTransaction, strings.TrimSuffix(deparseNode(p.Node()), ";")+";", lockTimeout5s)) +
				"\n\nor create a new table that has the constraint, copy the rows over in batches, and swap the table names in one short transaction."
			p.Report(fmt.Sprintf("EXCLUDE constraint %s on %s builds its index and checks every row under ACCESS EXCLUSIVE.", name, RelName(rv)), "", fix)
		}
	},
}
