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
	// Harmless is the blocking time under which a lock hazard confirmed on
	// the clone is downgraded to info: held that briefly, at this table
	// size, nobody notices (1 s).
	Harmless time.Duration
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
		Harmless:         time.Second,
		MediumTableBytes: 10 << 20, LargeTableBytes: 1 << 30,
		FailOn: checks.Error,
	}
}

// The measured-only rules live in the checks registry with the static
// ones (reviewer rules ID, --rule ID=…, pgai:ignore); these are their
// definitions.
var (
	ObservedRewrite  = checks.ObservedRewrite
	LongLockHold     = checks.LongLockHold
	SlowStatement    = checks.SlowStatement
	SlowMigration    = checks.SlowMigration
	ExperimentFailed = checks.ExperimentFailed
)

// MeasuredRules lists the measured-only rules.
var MeasuredRules = []*checks.Rule{ExperimentFailed, LongLockHold, ObservedRewrite, SlowMigration, SlowStatement}

// timeoutRules ask for lock_timeout and statement_timeout: what a
// statement waits for, not what it holds, so a measured hold never
// escalates them.
var timeoutRules = map[string]bool{"missing-lock-timeout": true, "missing-statement-timeout": true}

// Derive turns measurements into measured-only findings.
func Derive(r *Result, th Thresholds) []checks.Finding {
	th = th.withDefaults()
	var out []checks.Finding
	for i := range r.Measurements {
		m := &r.Measurements[i]
		if !m.Measured() {
			continue
		}
		if m.Error != "" {
			f := failedFinding(m, th)
			f.Measured = measuredLine(r, m)
			out = append(out, f)
			continue
		}
		if f, ok := rewriteFinding(r, m, th); ok {
			out = append(out, f)
		}
		if f, ok := lockFinding(r, m, th); ok {
			out = append(out, f)
		}
		if f, ok := slowFinding(r, m, th); ok {
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
	set(&th.Harmless, d.Harmless)
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
	f := newFinding(ObservedRewrite, sev, m, th, msg, evidenceOf(m))
	f.Measured = measuredLine(r, m)
	return f, true
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
	msg := fmt.Sprintf("%s on %s was held %s on the clone (%s): %s on %s were blocked for that long.",
		checks.LockSQLName(worst.Mode), worst.Relation, HumanMS(worst.HeldMS), until, blocksText(trafficBlocks(worst)), worst.Relation)
	for _, b := range m.Blocked {
		if b.Relation == worst.Relation {
			msg += fmt.Sprintf(" A concurrent %s on %s waited %s.", b.Kind, b.Relation, HumanMS(b.MaxWaitMS))
		}
	}
	f := newFinding(LongLockHold, sev, m, th, msg, evidenceOf(m))
	f.Measured = measuredLine(r, m)
	return f, true
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

func slowFinding(r *Result, m *Measurement, th Thresholds) (checks.Finding, bool) {
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
	f := newFinding(SlowStatement, checks.Warning, m, th, msg, evidenceOf(m))
	f.Measured = measuredLine(r, m)
	return f, true
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

func newFinding(rule *checks.Rule, sev checks.Severity, m *Measurement, th Thresholds, msg string, ev map[string]any) checks.Finding {
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

// Merge combines static findings with an experiment's measurements, in
// migration order.
//
// A static finding on a measured statement gets the measurement as
// evidence and one line for people (Finding.Measured). What the rule
// declares it predicts (checks.Rule.Predicts) is checked: a predicted
// rewrite, scan or error that happened confirms the finding, and the
// measured-only finding that says the same (observed-rewrite,
// experiment-failed) is folded into it; a predicted rewrite or scan that
// did not happen refutes it: the finding becomes info, says what was
// measured instead and carries no fix. A lock hazard (a rule of the locks
// group) whose measured blocking time stays under th.Harmless is
// downgraded to info with the figures; above it the message states the
// blocking time, and a long-lock-hold finding of the statement is folded
// in. Timeout findings (missing-lock-timeout, missing-statement-timeout)
// only get the measurement line: a long hold is not a missing timeout.
// Findings on statements that did not run say so. Other measured-only
// findings are added.
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
	fileOrder := map[string]int{}
	for i := range r.Measurements {
		m := &r.Measurements[i]
		byPos[pos{m.Path, m.Line, max(m.Column, 1)}] = m
		if _, ok := byPos[pos{m.Path, m.Line, 0}]; !ok {
			byPos[pos{m.Path, m.Line, 0}] = m
		}
		if _, ok := fileOrder[m.Path]; !ok {
			fileOrder[m.Path] = len(fileOrder)
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
		if !m.Measured() {
			s.Measured = m.StatusText()
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
					if measured[i].Rule == id && !folded[i] {
						folded[i] = true
						if measured[i].Severity > s.Severity {
							s.Severity = measured[i].Severity
						}
					}
				}
			}
		}
		rule := checks.Lookup(s.Rule)
		var pred checks.Prediction
		if rule != nil {
			pred = rule.Predicts
		}
		s.Measured = measuredLine(r, m)
		switch {
		case m.Error != "":
			// The statement failed: the failure is the news. A rule that
			// predicted exactly this failure is confirmed.
			if pred.SQLState != "" && pred.SQLState == m.SQLState {
				ev["confirmed"] = true
				fold(ExperimentFailed.ID)
			}
		case pred.Rewrite && len(m.Rewritten) == 0:
			refute(&s, ev, fmt.Sprintf("Measured on the clone: no rewrite — the storage of %s was not replaced (relfilenode unchanged), "+
				"so PostgreSQL only changed the catalog.", subject(m)))
		case pred.Scan && len(m.Scanned) == 0 && len(m.Rewritten) == 0:
			refute(&s, ev, fmt.Sprintf("Measured on the clone: no validation scan — PostgreSQL did not read %s for this statement.", subject(m)))
		case pred.Rewrite || pred.Scan:
			ev["confirmed"] = true
			fold(ObservedRewrite.ID)
			lockVerdict(&s, r, m, th, fold)
		case timeoutRules[s.Rule]:
			// what the statement holds is long-lock-hold's business
		case rule != nil && rule.Group == "locks":
			lockVerdict(&s, r, m, th, fold)
		}
		s.Blocking = s.Severity >= th.FailOn
		out = append(out, s)
	}
	for i, f := range measured {
		if !folded[i] {
			out = append(out, f)
		}
	}
	rank := func(path string) int {
		if i, ok := fileOrder[path]; ok {
			return i
		}
		return len(fileOrder)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := rank(out[i].Path), rank(out[j].Path); a != b {
			return a < b
		}
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return out
}

// refute turns a finding whose prediction the clone contradicted into an
// info that says what was measured, without a fix.
func refute(s *checks.Finding, ev map[string]any, msg string) {
	ev["refuted"] = true
	s.Refuted = true
	s.Severity = checks.Info
	s.Message = msg
	s.Fix = ""
	s.Edit = nil
}

// lockVerdict sizes a confirmed lock hazard by what it blocked on the
// clone: under th.Harmless it is info ("harmless at this size"); above,
// the message states the blocking time and a long-lock-hold finding of
// the statement is folded in.
func lockVerdict(s *checks.Finding, r *Result, m *Measurement, th Thresholds, fold func(...string)) {
	l := worstBlockingLock(r, m)
	if l == nil {
		return
	}
	_, rows := tableBytes(r, m, l.Relation)
	if l.HeldMS < ms(th.Harmless) {
		s.Severity = checks.Info
		s.Measured = fmt.Sprintf("%s held %s on %s, %s rows", checks.LockSQLName(l.Mode), HumanMS(l.HeldMS), l.Relation, humanCount(rows))
		if len(m.Rewritten) > 0 {
			s.Measured += "; rewrote " + strings.Join(m.Rewritten, ", ")
		}
		if len(m.Scanned) > 0 {
			s.Measured += "; scanned " + strings.Join(m.Scanned, ", ")
		}
		s.Measured += " — harmless at this size; re-check when it grows"
		return
	}
	s.Message = strings.TrimSpace(s.Message + " " + fmt.Sprintf("Measured on the clone: %s on %s were blocked for %s.",
		blocksText(trafficBlocks(l)), l.Relation, HumanMS(l.HeldMS)))
	fold(LongLockHold.ID, SlowStatement.ID)
}

// worstBlockingLock is the statement's longest-held lock that blocks reads
// or writes on a table that existed before the migration.
func worstBlockingLock(r *Result, m *Measurement) *Lock {
	var worst *Lock
	for i := range m.Locks {
		l := &m.Locks[i]
		if _, existing := r.Tables[l.Relation]; !existing || !blocksTraffic(l) {
			continue
		}
		if worst == nil || l.HeldMS > worst.HeldMS || (l.HeldMS == worst.HeldMS && LockStrength(l.Mode) > LockStrength(worst.Mode)) {
			worst = l
		}
	}
	return worst
}

// trafficBlocks is what of reads and writes a lock blocks.
func trafficBlocks(l *Lock) []string {
	var out []string
	for _, b := range l.Blocks {
		if b == "reads" || b == "writes" {
			out = append(out, b)
		}
	}
	return out
}

// subject names what a statement worked on, for refutations.
func subject(m *Measurement) string {
	for _, l := range m.Locks {
		if l.Kind == "table" || l.Kind == "partitioned table" {
			return l.Relation
		}
	}
	return "the table"
}

// measuredLine is the one line, for people, of what the clone measured
// for a statement: "SHARE on orders held 3.12 s — blocked writes; 4.0 M
// rows, 253.1 MiB; a concurrent write waited 3.08 s; ran 3.12 s".
func measuredLine(r *Result, m *Measurement) string {
	if !m.Measured() {
		return m.StatusText()
	}
	if m.Error != "" {
		return fmt.Sprintf("failed after %s: ERROR %s: %s", HumanMS(m.DurationMS), m.SQLState, strings.TrimSuffix(m.Error, "."))
	}
	var parts []string
	if l := worstBlockingLock(r, m); l != nil {
		part := fmt.Sprintf("%s on %s held %s", checks.LockSQLName(l.Mode), l.Relation, HumanMS(l.HeldMS))
		if m.InTransaction {
			part += " (until commit)"
		}
		part += " — blocked " + blocksText(trafficBlocks(l))
		bytes, rows := tableBytes(r, m, l.Relation)
		if bytes >= 0 {
			part += fmt.Sprintf("; %s rows, %s", humanCount(rows), HumanBytes(bytes))
		}
		parts = append(parts, part)
		for _, b := range m.Blocked {
			if b.Relation == l.Relation {
				parts = append(parts, fmt.Sprintf("a concurrent %s waited %s", b.Kind, HumanMS(b.MaxWaitMS)))
			}
		}
	} else if len(m.Locks) > 0 {
		var ls []string
		for _, l := range m.Locks {
			if l.Kind == "table" || l.Kind == "partitioned table" {
				ls = append(ls, fmt.Sprintf("%s on %s", checks.LockSQLName(l.Mode), l.Relation))
			}
		}
		if len(ls) > 0 {
			parts = append(parts, strings.Join(ls, ", ")+" — blocked no reads or writes")
		}
	}
	if len(m.Rewritten) > 0 {
		parts = append(parts, "rewrote "+strings.Join(m.Rewritten, ", "))
	}
	if len(m.Scanned) > 0 {
		parts = append(parts, "scanned "+strings.Join(m.Scanned, ", "))
	}
	if m.Rows >= 0 {
		parts = append(parts, humanCount(m.Rows)+" rows processed")
	}
	parts = append(parts, "ran "+HumanMS(m.DurationMS))
	return strings.Join(parts, "; ")
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
