package sqlparse

import (
	"bytes"
	"strings"
)

// sqlxTool: sqlx (sqlx migrate / sqlx::migrate!), read at launchbadge/sqlx
// 9d6bf66 (2026-03-27):
//
//   - Files <version>_<description>.sql (simple) or .up.sql / .down.sql
//     (reversible), version an i64; the migrator sorts them by version
//     (sqlx-core/src/migrate/source.rs resolve_blocking_with_config:
//     splitn(2, '_'), parse::<i64>, sort_by_key(version);
//     migration_type.rs from_filename).
//   - Each migration runs in a transaction (sqlx-postgres/src/migrate.rs
//     apply: self.begin(), execute_migration, commit) unless the file's
//     text starts with "-- no-transaction" (source.rs:
//     sql.starts_with("-- no-transaction"), the very first bytes).
//   - The SQL is executed with no arguments, which sqlx-postgres sends as
//     one simple Query message (connection/executor.rs run: no arguments →
//     Query(sql)): without the transaction, PostgreSQL still runs a string
//     of several statements as one implicit transaction, so CREATE INDEX
//     CONCURRENTLY must then be the only statement of its file.
//
// The names are those of golang-migrate and plain numbered SQL: sqlx is
// recognised by the "-- no-transaction" directive or by a Cargo.toml
// that depends on sqlx next to the migrations or up to three directories
// above them (projectFramework), or forced with --framework sqlx.
type sqlxTool struct{}

var sqlxNoTx = []byte("-- no-transaction")

func (sqlxTool) id() Framework               { return FrameworkSqlx }
func (sqlxTool) fromContent(src []byte) bool { return bytes.HasPrefix(src, sqlxNoTx) }
func (sqlxTool) nameIsAmbiguous()            {}
func (sqlxTool) noTxAdvice() string {
	return "Put it alone in its own migration file whose first line is `-- no-transaction` (sqlx then runs the file without a transaction, as one query string: it must be the only statement)."
}

func (sqlxTool) fromName(_, name string) (nameInfo, bool) {
	v, rest, ok := strings.Cut(name, "_")
	if !ok || v == "" || digitRun(v) != len(v) || !strings.HasSuffix(rest, ".sql") {
		return nameInfo{}, false
	}
	n := nameInfo{version: v, parts: []string{v}, part: PartUp}
	if strings.HasSuffix(rest, ".down.sql") {
		n.part = PartDown
	}
	return n, true
}

func (sqlxTool) layout(f *File, _ Options, h hint) *fileLayout {
	if bytes.HasPrefix(f.Src, sqlxNoTx) {
		f.TxMode, f.TxReason = TxModeImplicit, "-- no-transaction: sqlx runs the file without a transaction, as one query string, which PostgreSQL runs as one implicit transaction when it holds more than one statement"
		return whole(f, h.part, group{mode: TxModeImplicit, reopen: true})
	}
	f.TxMode, f.TxReason = TxModeFile, "sqlx runs each migration in a transaction (the file does not start with -- no-transaction)"
	return whole(f, h.part, group{mode: TxModeFile, reopen: true})
}
