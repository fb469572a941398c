package dblab

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/checks"
)

// Thresholds turn measurements into findings. The defaults follow GitLab's
// migration guide (3 min per regular migration, 100 ms per query, 5 min
// for a concurrent index build) and DBLab's migration checker (ACCESS
// EXCLUSIVE held over 10 s fails).
type Thresholds struct {
	// Statement is the longest a statement may run (100 ms);
	// ConcurrentStatement the same for CONCURRENTLY operations (5 min).
	Statement, ConcurrentStatement time.Duration
	// Migration is the longest a migration file may run (3 min, a
	// warning); MigrationError makes it an error (20 min).
	Migration, MigrationError time.Duration
	// LockHold is the longest a lock that blocks reads or writes may be
	// held (1 s, a warning); LockHoldError makes it an error (10 s).
	LockHold, LockHoldError time.Duration
	// MediumTableBytes and LargeTableBytes scale severities with the real
	// size of the table on the clone: below medium a rewrite is info,
	// from large on a rewrite or a long lock is an error.
	MediumTableBytes, LargeTableBytes int64
	// FailOn is the lowest severity that blocks the gate (error).
	FailOn checks.Severity
}

// DefaultThresholds returns the default thresholds.
func DefaultThresholds() Thresholds {
	return Thresholds{
		Statement: 100 * time.Millisecond, ConcurrentStatement: 5 * time.Minute,
		Migration: 3 * time.Minute, MigrationError: 20 * time.Minute,
		LockHold: time.Second, LockHoldError: 10 * time.Second,
		MediumTableBytes: 10 << 20, LargeTableBytes: 1 << 30,
		FailOn: checks.Error,
	}
}

// MeasuredRule documents a rule that only an experiment can report.
type MeasuredRule struct {
	ID, Summary, Why, Fix, DocsURL string
}

// The measured-only rules.
var (
	ObservedRewrite = MeasuredRule{
		ID:      "observed-rewrite",
		Summary: "The statement rewrote a table on the clone (its storage was replaced).",
		Why: "A rewrite copies every row into new files and rebuilds every index while holding ACCESS EXCLUSIVE, " +
			"which blocks all reads and writes on the table until the transaction commits; it also writes the whole table to WAL.",
		Fix: "Avoid the rewrite: add columns without volatile defaults and backfill in batches; change types through a new column " +
			"filled in batches and swapped in; use binary-coercible changes (varchar(n) → text, a larger varchar).",
		DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES",
	}
	LongLockHold = MeasuredRule{
		ID:      "long-lock-hold",
		Summary: "A lock that blocks reads or writes was held longer than the threshold on the clone.",
		Why: "While the lock is held, every query that needs a conflicting lock waits — and so does every query queued behind it, " +
			"because PostgreSQL grants locks in order. Locks are held until the transaction ends.",
		Fix: "Keep the strong lock short: set lock_timeout (e.g. SET lock_timeout = '3s') and retry, move slow work " +
			"(scans, backfills) out of the transaction, use CONCURRENTLY / NOT VALID + VALIDATE variants, and commit right after the DDL.",
		DocsURL: LockDocsURL,
	}
	SlowStatement = MeasuredRule{
		ID:      "slow-statement",
		Summary: "A statement ran longer than the threshold on the clone (100 ms, 5 min for CONCURRENTLY).",
		Why: "GitLab's migration guide allows 100 ms per query in a migration: longer statements hold their locks and a connection " +
			"for that long during the deployment, and on production data they can take longer still.",
		Fix: "Batch backfills (UPDATE … WHERE id BETWEEN … in a loop with commits), move data changes to a background migration, " +
			"and add indexes before the queries that need them.",
		DocsURL: "https://docs.gitlab.com/ee/development/database/query_performance.html",
	}
	SlowMigration = MeasuredRule{
		ID:      "slow-migration",
		Summary: "A migration file ran longer than the threshold on the clone (3 min).",
		Why: "A regular migration runs before the new code is deployed and holds up the deployment; GitLab's guide allows 3 minutes, " +
			"10 for a post-deployment migration, and asks to warn release managers beyond 20.",
		Fix:     "Split the migration: schema changes in a regular migration, slow data changes in a post-deployment or background migration.",
		DocsURL: "https://docs.gitlab.com/ee/development/migration_style_guide.html#how-long-a-migration-should-take",
	}
	ExperimentFailed = MeasuredRule{
		ID:      "experiment-failed",
		Summary: "The statement failed when run on a clone of the database.",
		Why: "It would fail the same way when deployed: its transaction is rolled back, the tool stops, and statements that already " +
			"ran outside a transaction stay applied, leaving the schema half-migrated.",
		Fix:     "Fix the cause the server names (for example clean up duplicates before a unique index, or fill NULLs before SET NOT NULL) and run the experiment again.",
		DocsURL: "https://www.postgresql.org/docs/current/errcodes-appendix.html",
	}
)

// MeasuredRules lists the measured-only rules.
var MeasuredRules = []MeasuredRule{ExperimentFailed, LongLockHold, ObservedRewrite, SlowMigration, SlowStatement}

// Static rule ids whose prediction an experiment can confirm or refute.
var (
	rewriteRules = map[string]bool{"alter-column-type": true, "add-column-volatile-default": true,
		"add-column-rewriting-kind": true, "vacuum-full-or-cluster": true}
	scanRules = map[string]bool{"set-not-null": true, "check-validated-inline": true, "fk-validated-inline": true,
		"validate-in-same-tx": true, "pk-on-nullable-columns": true}
	// failureRules predict a data-dependent failure, by SQLSTATE.
	failureRules = map[string]string{"data-dependent-unique": "23505", "add-unique-constraint": "23505",
		"add-required-column": "23502", "set-not-null": "23502", "pk-on-nullable-columns": "23502",
		"check-validated-inline": "23514", "fk-validated-inline": "23503"}
)

// Derive turns measurements into measured-only findings.
func Derive(r *Result, th Thresholds) []checks.Finding {
	th = th.withDefaults()
	var out []checks.Finding
	for i := range r.Measurements {
		m := &r.Measurements[i]
		if m.Error != "" {
			out = append(out, failedFinding(m, th))
			continue
		}
		if f, ok := rewriteFinding(r, m, th); ok {
			out = append(out, f)
		}
		if f, ok := lockFinding(r, m, th); ok {
			out = append(out, f)
		}
		if f, ok := slowFinding(m, th); ok {
			out = append(out, f)
		}
	}
	for _, fr := range r.Files {
		if d := time.Duration(fr.DurationMS * float64(time.Millisecond)); d > th.Migration {
			sev := checks.Warning
			if d > th.MigrationError {
				sev = checks.Error
			}
			f := newFinding(SlowMigration, sev, &Measurement{Path: fr.Path, Line: 1}, th,
				fmt.Sprintf("The migration ran %s on the clone, over the %s limit for a regular migration.", human(d), human(th.Migration)),
				map[string]any{"duration_ms": fr.DurationMS, "statements": fr.Statements})
			out = append(out, f)
		}
	}
	if r.Stopped != "" {
		for i := range out {
			if out[i].Rule == ExperimentFailed.ID {
				out[i].Evidence["stopped"] = r.Stopped
			}
		}
	}
	return out
}

func (th Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&th.Statement, d.Statement)
	set(&th.ConcurrentStatement, d.ConcurrentStatement)
	set(&th.Migration, d.Migration)
	set(&th.MigrationError, d.MigrationError)
	set(&th.LockHold, d.LockHold)
	set(&th.LockHoldError, d.LockHoldError)
	if th.MediumTableBytes == 0 {
		th.MediumTableBytes = d.MediumTableBytes
	}
	if th.LargeTableBytes == 0 {
		th.LargeTableBytes = d.LargeTableBytes
	}
	if th.FailOn == 0 {
		th.FailOn = d.FailOn
	}
	return th
}

// tableBytes is the size of a table before the statement: from the
// measurement's sizes, else the run's table list (-1 when unknown, e.g. a
// table the migration created).
func tableBytes(r *Result, m *Measurement, rel string) (int64, int64) {
	for _, s := range m.Sizes {
		if s.Relation == rel {
			return s.TableBefore + s.IndexBefore, s.RowsEstimate
		}
	}
	if t, ok := r.Tables[rel]; ok {
		return t.TableBytes + t.IndexBytes, t.Rows
	}
	return -1, 0
}

func (th Thresholds) sizeSeverity(bytes int64) checks.Severity {
	switch {
	case bytes >= th.LargeTableBytes:
		return checks.Error
	case bytes >= th.MediumTableBytes:
		return checks.Warning
	}
	return checks.Info
}

// rewrittenTables are the existing tables a statement rewrote.
func rewrittenTables(r *Result, m *Measurement) []string {
	var out []string
	for _, rel := range m.Rewritten {
		if _, ok := r.Tables[rel]; ok {
			out = append(out, rel)
		}
	}
	return out
}

func strongestLock(m *Measurement, rel string) *Lock {
	var best *Lock
	for i := range m.Locks {
		l := &m.Locks[i]
		if l.Relation == rel && (best == nil || LockStrength(l.Mode) > LockStrength(best.Mode)) {
			best = l
		}
	}
	return best
}

func rewriteFinding(r *Result, m *Measurement, th Thresholds) (checks.Finding, bool) {
	tables := rewrittenTables(r, m)
	if len(tables) == 0 {
		return checks.Finding{}, false
	}
	sev := checks.Info
	var parts []string
	for _, t := range tables {
		bytes, rows := tableBytes(r, m, t)
		if s := th.sizeSeverity(bytes); s > sev {
			sev = s
		}
		desc := fmt.Sprintf("%s (%s, ~%s rows)", t, HumanBytes(bytes), humanCount(rows))
		if l := strongestLock(m, t); l != nil {
			desc += fmt.Sprintf(" under %s held %s, which blocks %s", l.Mode, HumanMS(l.HeldMS), blocksText(l.Blocks))
		}
		parts = append(parts, desc)
	}
	msg := fmt.Sprintf("Measured on the clone: the statement rewrote %s.", strings.Join(parts, "; "))
	return newFinding(ObservedRewrite, sev, m, th, msg, evidenceOf(m)), true
}

func lockFinding(r *Result, m *Measurement, th Thresholds) (checks.Finding, bool) {
	var worst *Lock
	for i := range m.Locks {
		l := &m.Locks[i]
		if _, existing := r.Tables[l.Relation]; !existing {
			continue // a table the migration created: nobody else uses it yet
		}
		if !blocksTraffic(l) || l.HeldMS <= ms(th.LockHold) {
			continue
		}
		if worst == nil || l.HeldMS > worst.HeldMS || (l.HeldMS == worst.HeldMS && LockStrength(l.Mode) > LockStrength(worst.Mode)) {
			worst = l
		}
	}
	if worst == nil {
		return checks.Finding{}, false
	}
	sev := checks.Warning
	bytes, _ := tableBytes(r, m, worst.Relation)
	if worst.HeldMS > ms(th.LockHoldError) || bytes >= th.LargeTableBytes {
		sev = checks.Error
	}
	until := "until the statement ended"
	if m.InTransaction {
		until = "from this statement until its transaction ended"
	}
	msg := fmt.Sprintf("Measured on the clone: %s on %s held %s (%s): %s on %s were blocked for that long.",
		worst.Mode, worst.Relation, HumanMS(worst.HeldMS), until, blocksText(worst.Blocks), worst.Relation)
	for _, b := range m.Blocked {
		if b.Relation == worst.Relation {
			msg += fmt.Sprintf(" A concurrent %s on %s waited %s.", b.Kind, b.Relation, HumanMS(b.MaxWaitMS))
		}
	}
	return newFinding(LongLockHold, sev, m, th, msg, evidenceOf(m)), true
}

// blocksText says "reads, writes and DDL".
func blocksText(blocks []string) string {
	words := make([]string, len(blocks))
	for i, b := range blocks {
		words[i] = b
		if b == "ddl" {
			words[i] = "DDL"
		}
	}
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func blocksTraffic(l *Lock) bool {
	for _, b := range l.Blocks {
		if b == "reads" || b == "writes" {
			return true
		}
	}
	return false
}

func slowFinding(m *Measurement, th Thresholds) (checks.Finding, bool) {
	limit := th.Statement
	up := strings.ToUpper(m.Statement)
	if strings.Contains(up, "CONCURRENTLY") {
		limit = th.ConcurrentStatement
	}
	head := strings.Fields(up)
	if len(head) > 0 {
		switch head[0] {
		case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SET", "RESET", "SHOW", "SAVEPOINT", "RELEASE":
			return checks.Finding{}, false
		}
	}
	if m.DurationMS <= ms(limit) {
		return checks.Finding{}, false
	}
	msg := fmt.Sprintf("Measured on the clone: the statement ran %s, over the %s limit for a statement in a migration.", HumanMS(m.DurationMS), human(limit))
	if m.Rows >= 0 {
		msg += fmt.Sprintf(" Rows processed: %s.", humanCount(m.Rows))
	}
	return newFinding(SlowStatement, checks.Warning, m, th, msg, evidenceOf(m)), true
}

func failedFinding(m *Measurement, th Thresholds) checks.Finding {
	msg := fmt.Sprintf("The statement failed on the clone: ERROR %s: %s.", m.SQLState, strings.TrimSuffix(m.Error, "."))
	why, fix := ExperimentFailed.Why, ExperimentFailed.Fix
	switch m.SQLState {
	case "23505":
		why = "The existing data has duplicates, so building the unique index or constraint fails: " + why
		fix = "Find and resolve the duplicates first (SELECT key, count(*) FROM t GROUP BY key HAVING count(*) > 1), then build the index (CONCURRENTLY)."
	case "23502":
		why = "Existing rows hold NULL in the column: " + why
		fix = "Backfill the NULLs in batches first, then add a CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, and SET NOT NULL."
	case "23514", "23503":
		why = "Existing rows violate the new constraint: " + why
		fix = "Add the constraint NOT VALID (new rows are checked), fix the existing rows, then VALIDATE CONSTRAINT."
	case "55P03":
		why = "The statement could not get its lock within lock_timeout: on production it would queue behind long transactions and block everyone queued after it."
		fix = "Retry with a short lock_timeout in a loop (GitLab's with_lock_retries), at a quiet time."
	case "57014":
		why = "The statement ran past statement_timeout or the experiment's deadline: on production data it is at least that slow, holding its locks all along."
		fix = "Batch the work, build indexes CONCURRENTLY, or move the change to a background migration."
	}
	f := newFinding(ExperimentFailed, checks.Error, m, th, msg, evidenceOf(m))
	f.Why, f.Fix = why, fix
	return f
}

func newFinding(rule MeasuredRule, sev checks.Severity, m *Measurement, th Thresholds, msg string, ev map[string]any) checks.Finding {
	f := checks.Finding{
		Rule: rule.ID, Severity: sev, Path: m.Path, Line: m.Line, Column: max(m.Column, 1), EndLine: max(m.EndLine, m.Line),
		Statement: m.Statement, Message: msg, Why: rule.Why, Fix: rule.Fix, DocsURL: rule.DocsURL, Evidence: ev,
		Blocking: sev >= th.FailOn,
	}
	sum := sha256.Sum256([]byte(rule.ID + "\x00" + m.Path + "\x00" + strings.Join(strings.Fields(m.Statement), " ")))
	f.Fingerprint = hex.EncodeToString(sum[:16])
	return f
}

// evidenceOf is a measurement as finding evidence.
func evidenceOf(m *Measurement) map[string]any {
	ev := map[string]any{"measured": true, "duration_ms": m.DurationMS, "locks": m.Locks, "rewritten": m.Rewritten, "rows": m.Rows}
	if len(m.Scanned) > 0 {
		ev["scanned"] = m.Scanned
	}
	if m.WALBytes > 0 {
		ev["wal_bytes"] = m.WALBytes
	}
	if len(m.Sizes) > 0 {
		ev["sizes"] = m.Sizes
	}
	if len(m.Blocked) > 0 {
		ev["blocked"] = m.Blocked
	}
	if m.Error != "" {
		ev["error"], ev["sqlstate"] = m.Error, m.SQLState
	}
	return ev
}

// Merge combines static findings with an experiment's measurements.
// A static finding on a measured statement gets the measurements as
// evidence. Rules that predict a rewrite (alter-column-type,
// add-column-volatile-default, …) or a validation scan (fk-validated-inline,
// set-not-null, …) are confirmed when the clone shows it — the
// measured-only observed-rewrite and long-lock-hold findings of that
// statement are then folded in, so that the comment shows the hazard once,
// at the higher severity — or refuted and downgraded to info when it did
// not happen. Other measured-only findings are added.
func Merge(static []checks.Finding, r *Result, th Thresholds) []checks.Finding {
	th = th.withDefaults()
	if r == nil {
		return static
	}
	// Statements are matched by path, line and column (several may share
	// a line), else by path and line.
	type pos struct {
		path      string
		line, col int
	}
	byPos := map[pos]*Measurement{}
	for i := range r.Measurements {
		m := &r.Measurements[i]
		byPos[pos{m.Path, m.Line, max(m.Column, 1)}] = m
		if _, ok := byPos[pos{m.Path, m.Line, 0}]; !ok {
			byPos[pos{m.Path, m.Line, 0}] = m
		}
	}
	measured := Derive(r, th)
	measuredAt := map[pos][]int{}
	for i, f := range measured {
		k := pos{f.Path, f.Line, f.Column}
		measuredAt[k] = append(measuredAt[k], i)
	}
	folded := map[int]bool{}
	out := make([]checks.Finding, 0, len(static)+len(measured))
	for _, s := range static {
		m := byPos[pos{s.Path, s.Line, s.Column}]
		if m == nil {
			m = byPos[pos{s.Path, s.Line, 0}]
		}
		if m == nil {
			out = append(out, s)
			continue
		}
		p := pos{m.Path, m.Line, max(m.Column, 1)}
		ev := map[string]any{}
		for k, v := range s.Evidence {
			ev[k] = v
		}
		for k, v := range evidenceOf(m) {
			ev[k] = v
		}
		s.Evidence = ev
		fold := func(rules ...string) {
			for _, i := range measuredAt[p] {
				for _, id := range rules {
					if measured[i].Rule == id {
						folded[i] = true
						if measured[i].Severity > s.Severity {
							s.Severity = measured[i].Severity
						}
						s.Message += " " + measured[i].Message
					}
				}
			}
		}
		switch {
		case m.Error != "":
			// The statement failed: the failure is the news. A rule that
			// predicted exactly this failure is confirmed.
			if code, ok := failureRules[s.Rule]; ok && code == m.SQLState {
				ev["confirmed"] = true
				fold(ExperimentFailed.ID)
			}
		case rewriteRules[s.Rule]:
			if len(m.Rewritten) > 0 {
				ev["confirmed"] = true
				if len(rewrittenTables(r, m)) == 0 {
					s.Message += fmt.Sprintf(" Measured on the clone: rewrite of %s.", strings.Join(m.Rewritten, ", "))
				}
				fold(ObservedRewrite.ID, LongLockHold.ID)
			} else {
				ev["refuted"] = true
				s.Severity = checks.Info
				s.Message += " No rewrite measured on the clone (relfilenode unchanged): PostgreSQL only changed the catalog, so this statement does not rewrite the table."
			}
		case scanRules[s.Rule]:
			if len(m.Scanned) > 0 {
				ev["confirmed"] = true
				s.Message += " Measured on the clone: validation scan of " + strings.Join(m.Scanned, ", ") + locksSummary(m) + "."
				fold(LongLockHold.ID, ObservedRewrite.ID)
			} else {
				ev["refuted"] = true
				s.Severity = checks.Info
				s.Message += " No validation scan measured on the clone: PostgreSQL did not read the table for this statement."
			}
		default:
			held := false // a long-lock-hold finding says the same, with more
			for _, i := range measuredAt[p] {
				held = held || measured[i].Rule == LongLockHold.ID
			}
			if len(m.Locks) > 0 && !held {
				s.Message += " Measured on the clone:" + strings.TrimPrefix(locksSummary(m), ",") + "."
			}
			fold(LongLockHold.ID)
		}
		s.Blocking = s.Severity >= th.FailOn
		out = append(out, s)
	}
	for i, f := range measured {
		if !folded[i] {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// locksSummary says ", AccessExclusiveLock on t held 1.5 s (blocks reads, writes, ddl)" for each
// lock that blocks more than DDL.
func locksSummary(m *Measurement) string {
	var parts []string
	for _, l := range m.Locks {
		if l.Kind != "table" && l.Kind != "partitioned table" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s on %s held %s (blocks %s)", l.Mode, l.Relation, HumanMS(l.HeldMS), blocksText(l.Blocks)))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, "; ")
}

func human(d time.Duration) string { return HumanMS(ms(d)) }

// HumanMS formats milliseconds for people: "850.0 ms", "1.50 s", "2.5 min".
func HumanMS(v float64) string {
	switch {
	case v >= 60000:
		return fmt.Sprintf("%.1f min", v/60000)
	case v >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// HumanBytes formats a size in binary units ("119.5 MiB"); negative means unknown.
func HumanBytes(b int64) string {
	if b < 0 {
		return "size unknown"
	}
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

func humanCount(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f M", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0f k", float64(n)/1e3)
	}
	return fmt.Sprintf("%d", n)
}
