package sqlparse

// prismaTool: Prisma Migrate, read at prisma/prisma (packages/migrate
// src/utils/listMigrations.ts) and prisma/prisma-engines
// (schema-engine/connectors/sql-schema-connector/src/flavour/postgres/
// connector/native/mod.rs, Connection::apply_migration_script):
//
//   - migrations/<timestamp>_<name>/migration.sql, with
//     migrations/migration_lock.toml naming the provider. The CLI lists
//     the directories and sorts them by name (a.path.localeCompare(b.path);
//     for the usual 14-digit timestamps that is the byte order used here).
//   - `prisma migrate deploy` / `dev` send the whole migration.sql with
//     ONE tokio-postgres simple_query call and no BEGIN/COMMIT around it.
//     PostgreSQL runs a simple query string that holds several statements
//     as one implicit transaction
//     (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT):
//     a multi-statement migration.sql is all-or-nothing and holds every
//     lock to its end, and CREATE INDEX CONCURRENTLY (or any statement
//     that cannot run in a transaction block) fails with "cannot run
//     inside a transaction block" unless it is the only statement of its
//     migration.sql. An explicit COMMIT in the script ends the implicit
//     block; the statements after it start a new one.
//   - There are no down migrations in the directory (rollbacks are new
//     migrations).
type prismaTool struct{}

func (prismaTool) id() Framework           { return FrameworkPrisma }
func (prismaTool) fromContent([]byte) bool { return false }
func (prismaTool) noTxAdvice() string {
	return "Put it alone in the migration.sql of its own migration (`prisma migrate dev --create-only`, then edit): Prisma sends migration.sql as one query string, which PostgreSQL runs as one implicit transaction when it holds more than one statement."
}

func (prismaTool) fromName(dir, name string) (nameInfo, bool) {
	n := digitRun(dir)
	if name != "migration.sql" || n == 0 || n >= len(dir) || dir[n] != '_' {
		return nameInfo{}, false
	}
	return nameInfo{version: dir[:n], text: dir, part: PartUp}, true
}

func (prismaTool) layout(f *File, _ Options, h hint) *fileLayout {
	f.TxMode, f.TxReason = TxModeImplicit, "Prisma sends migration.sql as one query string (simple_query, no BEGIN), which PostgreSQL runs as one implicit transaction when it holds more than one statement"
	return whole(f, h.part, group{mode: TxModeImplicit, reopen: true})
}
