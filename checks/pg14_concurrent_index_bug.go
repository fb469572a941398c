package checks

import "fmt"

var pg14ConcurrentIndexBug = &Rule{
	ID:       "pg14-concurrent-index-bug",
	Group:    "locks",
	Severity: Error,
	Summary:  "CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY on PostgreSQL 14.0–14.3.",
	Why: "PostgreSQL 14.0 to 14.3 have a bug in concurrent index builds: rows changed while the index is built can be " +
		"missing from it, silently, so queries using the index return wrong results. It was fixed in 14.4.",
	Fix: "Upgrade to PostgreSQL 14.4 or later before building indexes concurrently; after upgrading, rebuild indexes " +
		"built concurrently on 14.0–14.3 (REINDEX INDEX CONCURRENTLY) and check them with amcheck (bt_index_check … heapallindexed).",
	DocsURL: "https://www.postgresql.org/docs/release/14.4/",
	Check: func(p *Pass) {
		v := p.Settings.PGVersion
		if v.Major != 14 || v.Minor >= 4 {
			return
		}
		what := NonTransactional(p.Node())
		if what != "CREATE INDEX CONCURRENTLY" && what != "REINDEX CONCURRENTLY" {
			return
		}
		minor := ""
		if v.Minor == 0 {
			minor = " (pg_version says 14; give the minor version, e.g. 14.11, if the server is newer than 14.3)"
		}
		p.Report(fmt.Sprintf("%s on PostgreSQL %s can build a corrupt index (bug fixed in 14.4)%s.", what, v, minor), "", "")
	},
}
