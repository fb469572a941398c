package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var truncateRule = &Rule{
	ID:       "truncate",
	Group:    "locks",
	Severity: Warning,
	Summary:  "TRUNCATE of an existing table in a migration.",
	Why: "TRUNCATE takes ACCESS EXCLUSIVE (every read and write waits, and the request queues behind running queries) and " +
		"swaps in new, empty storage: the data is gone without a trace in the application's tables, and with CASCADE every " +
		"table with a foreign key to it is emptied too, without naming them.",
	Fix:     "If the data must go, DELETE it in batches (ROW EXCLUSIVE: reads and writes go on); never use CASCADE in a migration: name every table.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-truncate.html",
	Check: func(p *Pass) {
		ts := p.Node().GetTruncateStmt()
		if ts == nil {
			return
		}
		var names []string
		for _, r := range ts.Relations {
			if rv := r.GetRangeVar(); rv != nil && !p.State.IsNew(rv) {
				names = append(names, RelName(rv))
			}
		}
		if len(names) == 0 {
			return
		}
		cascade := ""
		if ts.Behavior == pg_query.DropBehavior_DROP_CASCADE {
			cascade = " CASCADE also empties every table with a foreign key to it."
		}
		fix := "Delete in batches instead, each batch in its own transaction, until no row is left:\n\n" +
			Indent(fmt.Sprintf("DELETE FROM %s WHERE ctid IN (SELECT ctid FROM %s LIMIT 10000);", names[0], names[0])) +
			"\n\nIf emptying the table at once is intended, run TRUNCATE with a short lock_timeout, and name every table instead of using CASCADE."
		p.Report(fmt.Sprintf("TRUNCATE %s takes ACCESS EXCLUSIVE and discards all rows.%s", strings.Join(names, ", "), cascade), "", fix)
	},
}
