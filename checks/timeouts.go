package checks

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// One policy for timeouts in every fix text. Inside a transaction (the
// runner's or an explicit BEGIN) the fix sets them with SET LOCAL, which
// lasts until the transaction ends. In a file that runs without one, SET
// LOCAL would do nothing (PostgreSQL warns "can only be used in transaction
// blocks"), so the fix sets them with SET before the statements and RESETs
// them after: a runner that keeps its connection would otherwise carry the
// setting into every later migration.

// timeout is one setting of a fix: a name and its value as written.
type timeout struct{ name, value string }

var (
	lockTimeout2s = timeout{"lock_timeout", "'2s'"}
	lockTimeout5s = timeout{"lock_timeout", "'5s'"}
)

// withTimeouts returns sql (statements, each ending with a semicolon) with
// the settings around it as the file's transaction mode needs: SET LOCAL
// before it inside a transaction, SET before and RESET after outside one.
func withTimeouts(inTx bool, sql string, settings ...timeout) string {
	var b strings.Builder
	for _, s := range settings {
		if inTx {
			b.WriteString("SET LOCAL " + s.name + " = " + s.value + ";\n")
		} else {
			b.WriteString("SET " + s.name + " = " + s.value + ";\n")
		}
	}
	b.WriteString(strings.TrimRight(sql, "\n"))
	if !inTx {
		for _, s := range settings {
			b.WriteString("\nRESET " + s.name + ";")
		}
	}
	return b.String()
}

// stmtSQL is the statement's text with its semicolon.
func stmtSQL(p *Pass) string {
	return strings.TrimSuffix(strings.TrimSpace(p.Stmt.Text), ";") + ";"
}

// inOneTransaction returns statements that must commit together: as they
// are (with SET LOCAL) when the file already runs in a transaction, and
// between BEGIN and COMMIT when it does not. A BEGIN inside a file the
// runner wraps would only warn and its COMMIT would end the runner's
// transaction early.
func inOneTransaction(inTx bool, sql string, settings ...timeout) string {
	s := withTimeouts(true, sql, settings...)
	if inTx {
		return s
	}
	return "BEGIN;\n" + s + "\nCOMMIT;"
}

// batchKey is the column a batched UPDATE or DELETE of the table walks:
// its one-column primary key when the catalog knows it, else ctid (every
// table has one; a fix never names an id column the table may not have).
func batchKey(p *Pass, rv *pg_query.RangeVar) string {
	t := p.State.Catalog.Table(rv)
	if t == nil {
		return "ctid"
	}
	for _, k := range t.Constraints {
		if k.Type == pg_query.ConstrType_CONSTR_PRIMARY && len(k.Columns) == 1 && k.Columns[0] != "" {
			return quoteIdent(k.Columns[0])
		}
	}
	return "ctid"
}
