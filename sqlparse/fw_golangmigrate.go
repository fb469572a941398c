package sqlparse

// golangMigrateTool: golang-migrate. <version>_<title>.up.sql and .down.sql,
// version an unsigned integer (github.com/golang-migrate/migrate
// source/parse.go).
type golangMigrateTool struct{}

func (golangMigrateTool) id() Framework           { return FrameworkGolangMigrate }
func (golangMigrateTool) fromContent([]byte) bool { return false }
func (golangMigrateTool) noTxAdvice() string {
	return "Put it alone in its own migration file: golang-migrate sends a file as one multi-statement query, which PostgreSQL runs as one implicit transaction."
}

func (golangMigrateTool) fromName(_, name string) (nameInfo, bool) {
	m := matchGolangMigrate(name)
	if m == nil {
		return nameInfo{}, false
	}
	n := nameInfo{version: m[1], parts: []string{m[1]}, part: PartUp}
	if m[2] == "down" {
		n.part = PartDown
	}
	return n, true
}

// layoutGolangMigrate: golang-migrate's postgres driver reads the whole
// file and sends it with ONE Exec call (database/postgres/postgres.go: Run
// → runStatement → conn.ExecContext(ctx, query), no arguments, so lib/pq
// uses the simple query protocol). PostgreSQL runs a query string holding
// several statements as one implicit transaction
// (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT),
// so CREATE INDEX CONCURRENTLY fails ("cannot run inside a transaction
// block") unless it is the only statement of its file, or the database URL
// sets x-multi-statement=true, which splits the file on semicolons
// (database/multistmt) and runs each statement on its own.
func (golangMigrateTool) layout(f *File, opts Options, h hint) *fileLayout {
	if opts.MultiStatement {
		f.TxMode, f.TxReason = TxModeNone, "golang-migrate with x-multi-statement=true runs each statement on its own"
		return whole(f, h.part, group{mode: TxModeNone})
	}
	f.TxMode, f.TxReason = TxModeImplicit, "golang-migrate sends the whole file as one query string, which PostgreSQL runs as one implicit transaction when it holds more than one statement"
	return whole(f, h.part, group{mode: TxModeImplicit, reopen: true})
}
