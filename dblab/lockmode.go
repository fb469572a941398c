package dblab

// The table-level lock modes as pg_locks names them, weakest first.
const (
	AccessShareLock          = "AccessShareLock"
	RowShareLock             = "RowShareLock"
	RowExclusiveLock         = "RowExclusiveLock"
	ShareUpdateExclusiveLock = "ShareUpdateExclusiveLock"
	ShareLock                = "ShareLock"
	ShareRowExclusiveLock    = "ShareRowExclusiveLock"
	ExclusiveLock            = "ExclusiveLock"
	AccessExclusiveLock      = "AccessExclusiveLock"
)

// lockModes lists the modes from weakest to strongest.
var lockModes = []string{
	AccessShareLock, RowShareLock, RowExclusiveLock, ShareUpdateExclusiveLock,
	ShareLock, ShareRowExclusiveLock, ExclusiveLock, AccessExclusiveLock,
}

// conflicts is PostgreSQL's table-level lock conflict table (docs, "Explicit
// Locking", Table 13.2): the modes each mode conflicts with.
var conflicts = map[string][]string{
	AccessShareLock:          {AccessExclusiveLock},
	RowShareLock:             {ExclusiveLock, AccessExclusiveLock},
	RowExclusiveLock:         {ShareLock, ShareRowExclusiveLock, ExclusiveLock, AccessExclusiveLock},
	ShareUpdateExclusiveLock: {ShareUpdateExclusiveLock, ShareLock, ShareRowExclusiveLock, ExclusiveLock, AccessExclusiveLock},
	ShareLock:                {RowExclusiveLock, ShareUpdateExclusiveLock, ShareRowExclusiveLock, ExclusiveLock, AccessExclusiveLock},
	ShareRowExclusiveLock:    {RowExclusiveLock, ShareUpdateExclusiveLock, ShareLock, ShareRowExclusiveLock, ExclusiveLock, AccessExclusiveLock},
	ExclusiveLock:            {RowShareLock, RowExclusiveLock, ShareUpdateExclusiveLock, ShareLock, ShareRowExclusiveLock, ExclusiveLock, AccessExclusiveLock},
	AccessExclusiveLock:      lockModes,
}

// LockDocsURL is the PostgreSQL documentation of table-level locks.
const LockDocsURL = "https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES"

// Conflicts reports whether two table-level lock modes conflict.
func Conflicts(a, b string) bool {
	for _, m := range conflicts[a] {
		if m == b {
			return true
		}
	}
	return false
}

// Blocks says what other sessions a mode holds up, from the conflict
// table: "reads" (it conflicts with the ACCESS SHARE of SELECT), "writes"
// (with the ROW EXCLUSIVE of INSERT, UPDATE, DELETE) and "ddl" (with the
// locks of schema changes, VACUUM and index builds). Unknown modes block
// nothing that we know of.
func Blocks(mode string) []string {
	if _, ok := conflicts[mode]; !ok {
		return nil
	}
	var out []string
	if Conflicts(mode, AccessShareLock) {
		out = append(out, "reads")
	}
	if Conflicts(mode, RowExclusiveLock) {
		out = append(out, "writes")
	}
	if Conflicts(mode, AccessExclusiveLock) {
		out = append(out, "ddl")
	}
	return out
}

// LockStrength ranks a mode from 1 (AccessShareLock) to 8
// (AccessExclusiveLock); 0 for an unknown mode.
func LockStrength(mode string) int {
	for i, m := range lockModes {
		if m == mode {
			return i + 1
		}
	}
	return 0
}

// SQLName is the mode as written in LOCK TABLE (e.g. ACCESS EXCLUSIVE).
func SQLName(mode string) string {
	switch mode {
	case AccessShareLock:
		return "ACCESS SHARE"
	case RowShareLock:
		return "ROW SHARE"
	case RowExclusiveLock:
		return "ROW EXCLUSIVE"
	case ShareUpdateExclusiveLock:
		return "SHARE UPDATE EXCLUSIVE"
	case ShareLock:
		return "SHARE"
	case ShareRowExclusiveLock:
		return "SHARE ROW EXCLUSIVE"
	case ExclusiveLock:
		return "EXCLUSIVE"
	case AccessExclusiveLock:
		return "ACCESS EXCLUSIVE"
	}
	return mode
}
