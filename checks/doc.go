// Package checks is the static rule engine of the reviewer: it runs a
// catalogue of rules over parsed migrations (package sqlparse) and returns
// findings that say what is wrong, why (the lock mode and what it blocks, a
// rewrite or scan, a deploy-time failure, or the break for running
// application code), how to fix it (safe SQL), and where PostgreSQL
// documents it.
//
// # Rules
//
// A Rule has a stable kebab-case ID (it appears in configs, ignore
// directives and MR comments, so it never changes), a Group, a default
// Severity, a one-line Summary, a Why, a Fix, a DocsURL and a Check func
// that looks at one statement through a Pass. The groups are those of the
// catalogue of peer linters' checks (squawk, eugene, strong_migrations,
// Atlas, Bytebase) that the rule set covers:
//
//   - "locks" (group A): strong locks held for a scan, rewrite or index
//     build on a table that already exists;
//   - "compatibility" (group B): drops, renames and constraints that break
//     the running application version during a rolling deploy, destroy data,
//     or fail at deploy time on production data;
//   - "types" (group C): schema design choices that are expensive to undo
//     (json, 32-bit ids, serial, timestamp, char(n), varchar(n), missing
//     primary keys, enums, over-long identifiers), plus style rules that
//     are off by default (unqualified-names, naming-convention, wide-index);
//   - "transactions" (group D): script and transaction hygiene;
//   - "syntax" and "style": findings the engine makes itself (syntax-error,
//     file-not-analysed, unused-ignore).
//
// Severities: Error for what blocks reads or writes on an existing table
// for the length of a scan, rewrite or index build, and for what fails at
// deploy time (add-required-column on a table with rows, CONCURRENTLY in a
// transaction, a syntax error); Warning for compatibility hazards (drop,
// rename) and missing timeouts; Info for style. Config can override any
// rule's severity, and turn rules off or on (Settings).
//
// A rule reports at most what it can prove from the statement, the earlier
// statements of the file (State: objects created earlier are exempt where
// nobody else can be using them yet) and the schema the earlier files built
// (State.Catalog). It does not guess about tables it has never seen.
//
// # Adding a rule
//
//  1. One file, checks/<id with underscores>.go, holding the Rule value and
//     its Check func. Start from index_create_nonconcurrent.go. The message
//     names the object ("Dropping column users.legacy_flag …"); Why states
//     what PostgreSQL does, concretely (lock mode and what it blocks,
//     rewrite, scan, SQLSTATE of the failure, what breaks for old
//     application code); Fix gives the safe sequence as SQL, and where a
//     mechanical fix exists prints the user's own statement fixed with
//     SafeSQL (and Indent for the code block); DocsURL is the precise
//     postgresql.org/docs/current page and anchor. Skip objects created
//     earlier in the file (p.State.IsNew) when the hazard needs existing
//     rows or users. Make the check version-aware (p.Settings.PGVersion)
//     where PostgreSQL's behaviour changed.
//  2. One line in the group's registry file (registry_locks.go,
//     registry_compatibility.go, registry_types.go,
//     registry_transactions.go), kept in alphabetical order. There is no
//     init() registration.
//  3. A fixture, testdata/<id>.txtar, with sections setup.sql (the schema
//     and some rows before the migration; it also feeds the catalog), bad.sql
//     (one or more bad*.sql sections, each must produce findings), good.sql
//     (the safe way, must produce none), want (the findings of the bad
//     sections; write bad and good, run `go test ./checks -run
//     TestRuleFixtures -update`, then read the generated want and check
//     that every message is right), and optionally settings (pg_version=,
//     in_transaction=, framework=, timezone=, assume_lock_timeout=,
//     assume_statement_timeout=, path=). Version and config variants go in
//     testdata/<id>.<variant>.txtar.
//  4. A proof section wherever the rule claims a lock mode, a rewrite, a
//     scan or a deploy-time failure: claims such as
//     `bad.sql: AccessExclusiveLock orders`, `good.sql: !rewrite orders`,
//     `bad.sql: fails 23502` are checked on a real PostgreSQL by
//     TestProofOnPostgres (proof_test.go documents the format). A claim the
//     server does not confirm is a failing test: fix the rule's text, not
//     the proof.
//
// Then `go test ./checks` runs the fixtures, the registry meta-test (ids,
// docs, fixtures present) and the proofs; `reviewer rules --markdown`
// regenerates the rule list in the README.
package checks
