package sqlparse

import (
	"strings"
)

// flywayTool: Flyway. File names V<version>__<desc>.sql, U<version>__<desc>.sql
// (undo), R__<desc>.sql (repeatable); the version's parts are separated by
// dots or underscores and compared as numbers; repeatable migrations run
// after all versioned ones, ordered by description
// (https://documentation.red-gate.com/fd/migrations-184127470.html).
type flywayTool struct{}

func (flywayTool) id() Framework           { return FrameworkFlyway }
func (flywayTool) fromContent([]byte) bool { return false }
func (flywayTool) noTxAdvice() string {
	return "Put it in its own migration and set `executeInTransaction=false` for it (script config file `<name>.sql.conf`); Flyway also runs a file outside a transaction when it detects a non-transactional statement, but only if the file has no other statement."
}

func (flywayTool) fromName(_, name string) (nameInfo, bool) {
	if m := matchFlyway(name); m != nil {
		n := nameInfo{version: strings.ReplaceAll(m[2], "_", "."), part: PartUp,
			parts: strings.FieldsFunc(m[2], func(r rune) bool { return r == '.' || r == '_' })}
		if m[1] == "U" {
			n.part = PartDown
		}
		return n, true
	}
	if m := matchFlywayRepeatable(name); m != nil {
		return nameInfo{part: PartUp, class: 1, sortName: m[1]}, true
	}
	return nameInfo{}, false
}

// layoutFlyway: Flyway runs each migration in one transaction by default
// (executeInTransaction=true, https://documentation.red-gate.com/fd/flyway-execute-in-transaction-setting-277578997.html);
// a script configuration file next to the script (V2__x.sql.conf) can set
// executeInTransaction=false. Flyway sends statements one by one over JDBC,
// so there is no multi-statement implicit transaction. ${name}
// placeholders are substituted before parsing (substitute). U (undo)
// migrations are down parts.
func (flywayTool) layout(f *File, _ Options, h hint) *fileLayout {
	lay := whole(f, h.part, group{mode: TxModeFile, reopen: true})
	f.TxMode, f.TxReason = TxModeFile, "Flyway runs each migration in one transaction (executeInTransaction defaults to true)"
	if v, ok := h.conf["executeInTransaction"]; ok && strings.EqualFold(strings.TrimSpace(v), "false") {
		lay.groups[1] = group{mode: TxModeNone}
		f.TxMode, f.TxReason = TxModeNone, "executeInTransaction=false in "+baseName(f.Path)+".conf: Flyway runs each statement on its own"
		return lay
	}
	lay.finish = flywayNonTransactional
	return lay
}

// flywayNonTransactional mirrors Flyway's PostgreSQL parser: a migration
// holding a statement that PostgreSQL cannot run in a transaction block
// (CREATE/DROP INDEX CONCURRENTLY, VACUUM, REINDEX SCHEMA/DATABASE/SYSTEM,
// CREATE/DROP DATABASE/TABLESPACE/SUBSCRIPTION, ALTER SYSTEM, DISCARD ALL)
// is run without a transaction (flyway-database-postgresql
// PostgreSQLParser.detectCanExecuteInTransaction). When the migration
// mixes such statements with transactional ones, Flyway refuses to run it
// ("Detected both transactional and non-transactional statements within
// the same migration") unless mixed=true, and then runs the whole
// migration without a transaction. Flyway also treats ALTER TYPE … ADD
// VALUE as non-transactional on PostgreSQL before 12; we do not know the
// server version here and leave it transactional.
func flywayNonTransactional(f *File, lay *fileLayout) {
	var what string
	mixed := false
	for _, st := range f.Statements {
		if st.Part != PartUp || st.Node == nil {
			continue
		}
		if w := flywayNonTx(st.Node); w != "" {
			if what == "" {
				what = w
			}
		} else {
			mixed = true
		}
	}
	if what == "" {
		return
	}
	lay.groups[1] = group{mode: TxModeNone}
	f.TxMode = TxModeNone
	f.TxReason = "Flyway runs this migration without a transaction because it contains " + what + ", which PostgreSQL cannot run in one"
	if mixed {
		f.TxReason += "; Flyway refuses a migration that mixes it with transactional statements unless mixed=true"
	}
}
