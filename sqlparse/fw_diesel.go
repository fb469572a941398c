package sqlparse

import (
	"strings"
)

// dieselTool: diesel (diesel_migrations), read at diesel-rs/diesel
// 04cc1b0 (2026-08-21):
//
//   - A migration is a directory {version}_{name} holding up.sql and
//     down.sql (diesel_migrations/src/file_based_migrations.rs; a directory
//     counts when it has an up.sql, migrations_internals
//     valid_sql_migration_directory).
//   - The version is the directory name up to the first "_", with every
//     "-" removed (migrations_internals version_from_string), so
//     2024-01-31-120000_create_users has version 20240131120000. Pending
//     migrations run sorted by version (migration_harness.rs
//     pending_migrations: sort by version(), a string, derived Ord).
//   - Each migration runs in its own transaction (harness: when
//     metadata().run_in_transaction(), self.transaction(...)) unless the
//     directory's metadata.toml says run_in_transaction = false. The field
//     is #[serde(default)]: a metadata.toml without the key also turns
//     the transaction off; no metadata.toml keeps it on
//     (TomlMetadata::read_from_file(...).unwrap_or_default()).
//   - up.sql is sent whole with batch_execute, which for PostgreSQL is
//     one PQexec (diesel/src/pg/connection: batch_execute → raw_connection
//     .exec → PQexec): a simple-protocol query string. Without diesel's
//     transaction, PostgreSQL still runs a string of several statements as
//     one implicit transaction, so CREATE INDEX CONCURRENTLY must then be
//     the only statement of its up.sql (diesel's own docs say so in
//     FileBasedMigrations: "split the migration into multiple migrations").
//   - down.sql is the revert: a down part, only syntax-checked.
type dieselTool struct{}

func (dieselTool) id() Framework           { return FrameworkDiesel }
func (dieselTool) fromContent([]byte) bool { return false }
func (dieselTool) noTxAdvice() string {
	return "Put it alone in the up.sql of its own migration directory and add a metadata.toml there with `run_in_transaction = false` (diesel sends up.sql as one query string, so it must be the only statement)."
}

func (dieselTool) fromName(dir, name string) (nameInfo, bool) {
	if name != "up.sql" && name != "down.sql" {
		return nameInfo{}, false
	}
	v, _, ok := strings.Cut(dir, "_")
	if !ok || v == "" || !isDigit(v[0]) {
		return nameInfo{}, false
	}
	v = strings.ReplaceAll(v, "-", "")
	n := nameInfo{version: v, text: v, part: PartUp}
	if name == "down.sql" {
		n.part = PartDown
	}
	return n, true
}

func (dieselTool) layout(f *File, _ Options, h hint) *fileLayout {
	if v, ok := h.conf["run_in_transaction"]; h.conf != nil && (!ok || strings.TrimSpace(v) != "true") {
		f.TxMode, f.TxReason = TxModeImplicit, "metadata.toml turns diesel's transaction off (run_in_transaction = false, or no such key): diesel sends up.sql as one query string, which PostgreSQL runs as one implicit transaction when it holds more than one statement"
		return whole(f, h.part, group{mode: TxModeImplicit, reopen: true})
	}
	f.TxMode, f.TxReason = TxModeFile, "diesel runs each migration in its own transaction (no metadata.toml with run_in_transaction = false)"
	return whole(f, h.part, group{mode: TxModeFile, reopen: true})
}
