package checks

// measuredRules are reported only by clone experiments (dblab): what the
// migration did on a copy of the database, not what its text says. They
// are rules like the others — `reviewer rules ID` documents them,
// `--rule ID=off|severity`, .pgai.yml and pgai:ignore apply — but have no
// Check.
var measuredRules = []*Rule{ExperimentFailed, LongLockHold, ObservedRewrite, SlowMigration, SlowStatement}

// LockDocsURL is PostgreSQL's table of lock modes and their conflicts.
const LockDocsURL = "https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES"

// The measured-only rules.
var (
	ObservedRewrite = &Rule{
		ID: "observed-rewrite", Group: "measured", Severity: Warning, Measured: true,
		Summary: "The statement rewrote a table on the clone (its storage was replaced).",
		Why: "A rewrite copies every row into new files and rebuilds every index while holding ACCESS EXCLUSIVE, " +
			"which blocks all reads and writes on the table until the transaction commits; it also writes the whole table to WAL. " +
			"Severity follows the table's measured size: info below 10 MiB, warning, error from 1 GiB.",
		Fix: "Avoid the rewrite: add columns without volatile defaults and backfill in batches; change types through a new column " +
			"filled in batches and swapped in; use binary-coercible changes (varchar(n) → text, a larger varchar).",
		DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES",
	}
	LongLockHold = &Rule{
		ID: "long-lock-hold", Group: "measured", Severity: Warning, Measured: true,
		Summary: "A lock that blocks reads or writes was held longer than the threshold on the clone (1 s; an error from 10 s or on a table of 1 GiB or more).",
		Why: "While the lock is held, every query that needs a conflicting lock waits — and so does every query queued behind it, " +
			"because PostgreSQL grants locks in order. Locks are held until the transaction ends. A timeout setting does not shorten this: " +
			"lock_timeout limits acquiring, not holding.",
		Fix: "Keep the strong lock short: use CONCURRENTLY / NOT VALID + VALIDATE variants, move slow work " +
			"(scans, backfills) out of the transaction, and commit right after the DDL.",
		DocsURL: LockDocsURL,
	}
	SlowStatement = &Rule{
		ID: "slow-statement", Group: "measured", Severity: Warning, Measured: true,
		Summary: "A statement ran longer than the threshold on the clone (100 ms, 5 min for CONCURRENTLY).",
		Why: "GitLab's migration guide allows 100 ms per query in a migration: longer statements hold their locks and a connection " +
			"for that long during the deployment, and on production data they can take longer still.",
		Fix: "Batch backfills (UPDATE … WHERE id BETWEEN … in a loop with commits), move data changes to a background migration, " +
			"and add indexes before the queries that need them.",
		DocsURL: "https://docs.gitlab.com/ee/development/database/query_performance.html",
	}
	SlowMigration = &Rule{
		ID: "slow-migration", Group: "measured", Severity: Warning, Measured: true,
		Summary: "A migration file ran longer than the threshold on the clone (3 min; an error from 20 min).",
		Why: "A regular migration runs before the new code is deployed and holds up the deployment; GitLab's guide allows 3 minutes, " +
			"10 for a post-deployment migration, and asks to warn release managers beyond 20.",
		Fix:     "Split the migration: schema changes in a regular migration, slow data changes in a post-deployment or background migration.",
		DocsURL: "https://docs.gitlab.com/ee/development/migration_style_guide.html#how-long-a-migration-should-take",
	}
	ExperimentFailed = &Rule{
		ID: "experiment-failed", Group: "measured", Severity: Error, Measured: true,
		Summary: "The statement failed when run on a clone of the database.",
		Why: "It would fail the same way when deployed: its transaction is rolled back, the tool stops, and statements that already " +
			"ran outside a transaction stay applied, leaving the schema half-migrated.",
		Fix:     "Fix the cause the server names (for example clean up duplicates before a unique index, or fill NULLs before SET NOT NULL) and run the experiment again.",
		DocsURL: "https://www.postgresql.org/docs/current/errcodes-appendix.html",
	}
)
