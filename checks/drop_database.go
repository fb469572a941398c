package checks

import (
	"fmt"
)

var dropDatabase = &Rule{
	ID:       "drop-database",
	Group:    "compatibility",
	Severity: Error,
	Summary:  "DROP DATABASE in a migration.",
	Why: "DROP DATABASE deletes a whole database and cannot be undone. It also cannot run inside a transaction block (25001), so " +
		"a migration tool that wraps the file in a transaction fails on it, and it fails while any session is connected to that " +
		"database (55006) unless WITH (FORCE) terminates them (PostgreSQL 13+).",
	Fix: "Take the database out of the migrations: dropping one is an operational step, done by hand (or by infrastructure code) " +
		"after a backup, once nothing connects to it.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-dropdatabase.html",
	Check: func(p *Pass) {
		dd := p.Node().GetDropdbStmt()
		if dd == nil {
			return
		}
		p.Report(fmt.Sprintf("DROP DATABASE %s deletes the whole database; it does not belong in a migration.", dd.Dbname), "", "")
	},
}
