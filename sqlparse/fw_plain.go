package sqlparse

// plainTool: SQL files run by psql or a runner we do not know.
type plainTool struct{}

func (plainTool) id() Framework                            { return FrameworkSQL }
func (plainTool) fromName(string, string) (nameInfo, bool) { return nameInfo{}, false }
func (plainTool) fromContent([]byte) bool                  { return false }
func (plainTool) noTxAdvice() string {
	return "Run it in its own migration, outside any transaction block (no BEGIN; do not run the file with psql --single-transaction or a runner that wraps files)."
}

// layoutPlain: a plain SQL file run by psql or a similar runner. psql runs
// every statement on its own (autocommit) unless it is started with
// --single-transaction, which wraps the whole file in BEGIN/COMMIT
// (https://www.postgresql.org/docs/current/app-psql.html); an explicit
// COMMIT inside then ends that transaction and later statements
// autocommit. AssumeInTransaction says the runner wraps the file.
func (plainTool) layout(f *File, opts Options, h hint) *fileLayout {
	if opts.AssumeInTransaction {
		f.TxMode, f.TxReason = TxModeFile, "assumed to run in one transaction (assume_in_transaction, like psql --single-transaction)"
		return whole(f, h.part, group{mode: TxModeFile})
	}
	f.TxMode, f.TxReason = TxModeNone, "plain SQL: each statement autocommits (as psql runs a file) unless the file opens a transaction; set assume_in_transaction when the runner wraps files"
	return whole(f, h.part, group{mode: TxModeNone})
}
