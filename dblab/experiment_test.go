package dblab_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/sqlparse"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// clone makes a source database with schema, and a local clone of it.
func clone(t *testing.T, schema string) (*pgtest.Database, *dblab.Clone) {
	t.Helper()
	db := pgtest.New(t)
	if schema != "" {
		db.Exec(t, schema)
	}
	p, err := localpg.New(localpg.Options{SourceDSN: db.URL, Prefix: "pgai_x" + strings.TrimPrefix(db.Name, "pgtest_") + "_"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Clone(t.Context(), dblab.CloneRequest{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Release(context.Background()) })
	return db, c
}

func parse(t *testing.T, name, src string, opts sqlparse.Options) *sqlparse.File {
	t.Helper()
	f := sqlparse.ParseFile(name, []byte(src), opts)
	for _, st := range f.Statements {
		if st.Err != nil {
			t.Fatalf("parse %s: %v", name, st.Err)
		}
	}
	return f
}

func run(t *testing.T, c *dblab.Clone, src string, opts dblab.Options) *dblab.Result {
	t.Helper()
	res, err := dblab.Experiment(t.Context(), c, []*sqlparse.File{parse(t, "migrations/001.sql", src, sqlparse.Options{})}, opts)
	if err != nil {
		t.Fatalf("Experiment: %v", err)
	}
	return res
}

// measurementAt returns the measurement of the statement starting with prefix.
func measurementAt(t *testing.T, res *dblab.Result, prefix string) dblab.Measurement {
	t.Helper()
	for _, m := range res.Measurements {
		if strings.HasPrefix(m.Statement, prefix) {
			return m
		}
	}
	t.Fatalf("no measurement of %q among %d", prefix, len(res.Measurements))
	return dblab.Measurement{}
}

func lockOn(m dblab.Measurement, rel, mode string) (dblab.Lock, bool) {
	for _, l := range m.Locks {
		if l.Relation == rel && l.Mode == mode {
			return l, true
		}
	}
	return dblab.Lock{}, false
}

// TestLockHeldUntilCommit is the acceptance case: ACCESS EXCLUSIVE taken
// by LOCK TABLE is held through pg_sleep(1.5) until COMMIT.
func TestLockHeldUntilCommit(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "CREATE TABLE t (id int)")
	res := run(t, c, "BEGIN;\nLOCK TABLE t IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(1.5);\nCOMMIT;\n", dblab.Options{})
	m := measurementAt(t, res, "LOCK TABLE")
	l, ok := lockOn(m, "t", "AccessExclusiveLock")
	if !ok {
		t.Fatalf("LOCK TABLE measured locks %+v, want AccessExclusiveLock on t", m.Locks)
	}
	t.Logf("AccessExclusiveLock on t held %.1f ms (pg_sleep 1500 ms)", l.HeldMS)
	if l.HeldMS < 1400 || l.HeldMS > 2500 {
		t.Errorf("held %.1f ms, want about 1500 ms (1400–2500)", l.HeldMS)
	}
	if diff := cmp.Diff([]string{"reads", "writes", "ddl"}, l.Blocks); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if !m.InTransaction || m.Line != 2 {
		t.Errorf("measurement at line %d in transaction %v, want line 2 in a transaction", m.Line, m.InTransaction)
	}
	// The timeline's times: the lock is taken while LOCK TABLE runs and
	// released at COMMIT, after the sleep started.
	sleep, commit := measurementAt(t, res, "SELECT pg_sleep"), measurementAt(t, res, "COMMIT")
	t.Logf("LOCK TABLE at %.2f ms, lock %.2f–%.2f ms, sleep at %.2f ms, COMMIT at %.2f ms", m.StartMS, l.AcquiredMS, l.ReleasedMS, sleep.StartMS, commit.StartMS)
	if l.AcquiredMS < m.StartMS || l.AcquiredMS > m.StartMS+m.DurationMS+1 ||
		l.ReleasedMS < sleep.StartMS+1400 || l.ReleasedMS < commit.StartMS ||
		math.Abs(l.ReleasedMS-l.AcquiredMS-l.HeldMS) > 0.01 || !(m.StartMS < sleep.StartMS && sleep.StartMS < commit.StartMS) {
		t.Errorf("lock %.2f–%.2f ms (held %.2f), statements at %.2f, %.2f, %.2f ms: want the lock from LOCK TABLE to COMMIT",
			l.AcquiredMS, l.ReleasedMS, l.HeldMS, m.StartMS, sleep.StartMS, commit.StartMS)
	}
	var hold bool
	for _, f := range res.Findings {
		if f.Rule == "long-lock-hold" && f.Line == 2 && strings.Contains(f.Message, "ACCESS EXCLUSIVE on t") && strings.Contains(f.Measured, "held 1.5") {
			hold = true
		}
	}
	if !hold {
		t.Errorf("no long-lock-hold finding on line 2 among %+v", res.Findings)
	}
}

func TestRewrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema, stmt string
		rewritten          []string
	}{
		{"int to bigint", "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g",
			"ALTER TABLE t ALTER COLUMN v TYPE bigint", []string{"t", "t_pkey"}},
		{"varchar to text", "CREATE TABLE t (id int PRIMARY KEY, s varchar(10)); INSERT INTO t SELECT g, g::text FROM generate_series(1, 1000) g",
			"ALTER TABLE t ALTER COLUMN s TYPE text", nil},
		{"bigserial column", "CREATE TABLE t (id int); INSERT INTO t SELECT g FROM generate_series(1, 1000) g",
			"ALTER TABLE t ADD COLUMN n bigserial", []string{"t"}},
		{"constant default", "CREATE TABLE t (id int); INSERT INTO t SELECT g FROM generate_series(1, 1000) g",
			"ALTER TABLE t ADD COLUMN n int DEFAULT 7", nil},
		{"volatile default", "CREATE TABLE t (id int); INSERT INTO t SELECT g FROM generate_series(1, 1000) g",
			"ALTER TABLE t ADD COLUMN n float8 DEFAULT random()", []string{"t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c := clone(t, tt.schema)
			res := run(t, c, tt.stmt+";\n", dblab.Options{})
			m := measurementAt(t, res, "ALTER TABLE")
			if m.Error != "" {
				t.Fatalf("statement failed: %s", m.Error)
			}
			if diff := cmp.Diff(tt.rewritten, m.Rewritten, cmpEmpty); diff != "" {
				t.Errorf("rewritten (-want +got):\n%s", diff)
			}
			if _, ok := lockOn(m, "t", "AccessExclusiveLock"); !ok {
				t.Errorf("locks %+v, want AccessExclusiveLock on t", m.Locks)
			}
			if m.InTransaction {
				t.Error("an autocommit statement is reported as in a transaction")
			}
			if len(tt.rewritten) > 0 && (len(m.Sizes) != 1 || m.Sizes[0].TableBefore == 0 || m.Sizes[0].TableAfter == 0) {
				t.Errorf("sizes %+v, want t before and after", m.Sizes)
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func TestForeignKeyLocksBothTables(t *testing.T) {
	t.Parallel()
	_, c := clone(t, `CREATE TABLE parent (id int PRIMARY KEY);
		CREATE TABLE child (id int PRIMARY KEY, parent_id int);
		INSERT INTO parent SELECT g FROM generate_series(1, 100) g;
		INSERT INTO child SELECT g, g % 100 + 1 FROM generate_series(1, 5000) g`)
	res := run(t, c, "ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id);\n", dblab.Options{})
	m := measurementAt(t, res, "ALTER TABLE child")
	for _, rel := range []string{"child", "parent"} {
		l, ok := lockOn(m, rel, "ShareRowExclusiveLock")
		if !ok {
			t.Errorf("locks %+v, want ShareRowExclusiveLock on %s", m.Locks, rel)
			continue
		}
		t.Logf("ShareRowExclusiveLock on %s held %.2f ms", rel, l.HeldMS)
		if l.HeldMS <= 0 {
			t.Errorf("ShareRowExclusiveLock on %s held %.2f ms, want a hold time", rel, l.HeldMS)
		}
		if diff := cmp.Diff([]string{"writes", "ddl"}, l.Blocks); diff != "" {
			t.Errorf("blocks (-want +got):\n%s", diff)
		}
	}
	if !slices.Contains(m.Scanned, "child") {
		t.Errorf("scanned %v, want the validation scan of child", m.Scanned)
	}
}

func TestFailureStopsTheTransaction(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "CREATE TABLE t (id int, email text); INSERT INTO t VALUES (1, 'a'), (2, 'a')")
	src := "BEGIN;\nALTER TABLE t ADD COLUMN n int;\nCREATE UNIQUE INDEX t_email ON t (email);\nALTER TABLE t ADD COLUMN m int;\nCOMMIT;\nCREATE TABLE later (id int);\n"
	res := run(t, c, src, dblab.Options{})
	var stmts []string
	for _, m := range res.Measurements {
		stmts = append(stmts, strings.Fields(m.Statement)[0]+"@"+itoa(m.Line)+" "+m.StatusText())
	}
	// Every statement is accounted for: those after the failure say why
	// they did not run.
	want := []string{"BEGIN@1 measured", "ALTER@2 measured", "CREATE@3 measured",
		"ALTER@4 not run (stopped after line 3 failed)", "COMMIT@5 not run (stopped after line 3 failed)", "CREATE@6 not run (stopped after line 3 failed)"}
	if diff := cmp.Diff(want, stmts); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
	for _, f := range res.Findings {
		if f.Line > 3 {
			t.Errorf("finding on a statement that did not run: %+v", f)
		}
	}
	m := measurementAt(t, res, "CREATE UNIQUE")
	if m.SQLState != "23505" || !strings.Contains(m.Error, "could not create unique index") {
		t.Errorf("error %s %q, want 23505 could not create unique index", m.SQLState, m.Error)
	}
	var f *checks.Finding
	for i := range res.Findings {
		if res.Findings[i].Rule == "experiment-failed" {
			f = &res.Findings[i]
		}
	}
	if f == nil || f.Line != 3 || f.Severity != checks.Error || !strings.Contains(f.Message, "23505") || !strings.Contains(f.Fix, "duplicates") {
		t.Fatalf("experiment-failed finding = %+v, want an error on line 3 naming 23505 with a fix for duplicates", f)
	}
	if res.Stopped == "" {
		t.Error("Stopped is empty after a failure")
	}
	conn := connect(t, c.DSN)
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'n'").Scan(&n); err != nil || n != 0 {
		t.Errorf("column n exists %d times (%v): the failed transaction was not rolled back", n, err)
	}
}

func TestDMLIsExplained(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "CREATE TABLE t (id int, v int); INSERT INTO t SELECT g, 0 FROM generate_series(1, 500) g")
	res := run(t, c, "UPDATE t SET v = 1 WHERE id <= 200;\nINSERT INTO t SELECT g, 2 FROM generate_series(501, 510) g;\nDELETE FROM t WHERE id > 505;\n", dblab.Options{})
	for _, tt := range []struct {
		prefix string
		rows   int64
	}{{"UPDATE", 200}, {"INSERT", 10}, {"DELETE", 5}} {
		m := measurementAt(t, res, tt.prefix)
		if m.Rows != tt.rows {
			t.Errorf("%s rows = %d, want %d", tt.prefix, m.Rows, tt.rows)
		}
		b, _ := json.Marshal(m.Plan)
		if !strings.Contains(string(b), `"Node Type":"ModifyTable"`) || !strings.Contains(string(b), "Shared Hit Blocks") {
			t.Errorf("%s plan %s, want an EXPLAIN (ANALYZE, BUFFERS) ModifyTable plan", tt.prefix, b)
		}
	}
	// EXPLAIN ANALYZE executed the statements once each.
	conn := connect(t, c.DSN)
	var n, v1 int
	if err := conn.QueryRow(t.Context(), "SELECT count(*), count(*) FILTER (WHERE v = 1) FROM t").Scan(&n, &v1); err != nil {
		t.Fatal(err)
	}
	if n != 505 || v1 != 200 {
		t.Errorf("after the run t has %d rows, %d updated; want 505 and 200", n, v1)
	}
}

// TestToolTransaction: a file the tool runs in one transaction holds the
// first statement's lock until the end of the file.
func TestToolTransaction(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "CREATE TABLE t (id int)")
	f := parse(t, "1_add.up.sql", "ALTER TABLE t ADD COLUMN a int;\nSELECT pg_sleep(0.3);\n", sqlparse.Options{})
	if !f.Statements[0].InTransaction {
		t.Fatalf("golang-migrate file not in a transaction; the test needs one")
	}
	res, err := dblab.Experiment(t.Context(), c, []*sqlparse.File{f}, dblab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := lockOn(measurementAt(t, res, "ALTER"), "t", "AccessExclusiveLock")
	if !ok || l.HeldMS < 250 {
		t.Errorf("lock %+v (found %v), want AccessExclusiveLock on t held through the pg_sleep(0.3)", l, ok)
	}
}

func TestConcurrentIndexRunsOutsideTransaction(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)")
	res := run(t, c, "CREATE INDEX CONCURRENTLY t_id ON t (id);\n", dblab.Options{})
	if m := res.Measurements[0]; m.Error != "" {
		t.Fatalf("CREATE INDEX CONCURRENTLY failed: %s (was it wrapped in a transaction?)", m.Error)
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "")
	res := run(t, c, "SELECT pg_sleep(30);\nCREATE TABLE never (id int);\n", dblab.Options{Deadline: 2 * time.Second})
	if len(res.Measurements) != 2 || res.Measurements[0].SQLState != "57014" || res.Measurements[1].Status != dblab.StatusNotRun {
		t.Fatalf("measurements %+v, want the sleep canceled with 57014 and the CREATE not run", res.Measurements)
	}
}

func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "")
	res := run(t, c, "SELECT pg_sleep(30);\n", dblab.Options{StatementTimeout: 200 * time.Millisecond})
	m := res.Measurements[0]
	if m.SQLState != "57014" || !strings.Contains(m.Error, "statement timeout") {
		t.Errorf("error %s %q, want 57014 statement timeout", m.SQLState, m.Error)
	}
}

// TestProbeTraffic: a concurrent reader waits for the ACCESS EXCLUSIVE
// lock until COMMIT.
func TestProbeTraffic(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
	res := run(t, c, "BEGIN;\nLOCK TABLE t IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(0.8);\nCOMMIT;\n", dblab.Options{ProbeTraffic: true})
	m := measurementAt(t, res, "LOCK TABLE")
	kinds := map[string]float64{}
	for _, b := range m.Blocked {
		if b.Relation == "t" {
			kinds[b.Kind] = b.MaxWaitMS
		}
	}
	t.Logf("probe waits on t: %v", kinds)
	for _, k := range []string{"read", "write"} {
		if kinds[k] < 300 {
			t.Errorf("%s probe waited %.1f ms on t, want most of the 800 ms the lock was held", k, kinds[k])
		}
	}
}

// TestSourceUnchanged: migrations run on the clone only.
func TestSourceUnchanged(t *testing.T) {
	t.Parallel()
	db, c := clone(t, "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
	before := schemaOf(t, db.URL)
	res := run(t, c, "ALTER TABLE t ALTER COLUMN v TYPE bigint;\nUPDATE t SET v = 0;\nCREATE TABLE extra (id int);\nDROP TABLE t;\n", dblab.Options{})
	if res.Stopped != "" {
		t.Fatalf("run stopped: %s", res.Stopped)
	}
	if diff := cmp.Diff(before, schemaOf(t, db.URL)); diff != "" {
		t.Errorf("source changed by the experiment (-before +after):\n%s", diff)
	}
	var sum int64
	if err := connect(t, db.URL).QueryRow(t.Context(), "SELECT sum(v) FROM t").Scan(&sum); err != nil || sum != 5050 {
		t.Errorf("source data: sum(v) = %d (%v), want 5050 unchanged", sum, err)
	}
	if got := schemaOf(t, c.DSN); cmp.Equal(before, got) {
		t.Error("the clone did not change either; the test proves nothing")
	}
}

func schemaOf(t *testing.T, dsn string) []string {
	t.Helper()
	conn := connect(t, dsn)
	rows, err := conn.Query(t.Context(), `SELECT c.relname || ':' || c.relfilenode || ':' ||
		coalesce((SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
		FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped), '') ||
		':' || c.reltuples
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestMergeOnClone: the static alter-column-type finding is confirmed for
// int → bigint and downgraded for varchar(10) → text, from measurements.
func TestMergeOnClone(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "CREATE TABLE t (id int PRIMARY KEY, v int, s varchar(10)); INSERT INTO t SELECT g, g, 'x' FROM generate_series(1, 100) g")
	src := "ALTER TABLE t ALTER COLUMN v TYPE bigint;\nALTER TABLE t ALTER COLUMN s TYPE text;\n"
	res := run(t, c, src, dblab.Options{})
	static := []checks.Finding{
		{Rule: "alter-column-type", Severity: checks.Error, Path: "migrations/001.sql", Line: 1, Message: "Changing the type of t.v rewrites the table.", Blocking: true},
		{Rule: "alter-column-type", Severity: checks.Error, Path: "migrations/001.sql", Line: 2, Message: "Changing the type of t.s may rewrite the table.", Blocking: true},
	}
	got := dblab.Merge(static, res, dblab.Thresholds{})
	byLine := map[int]checks.Finding{}
	for _, f := range got {
		if f.Rule == "alter-column-type" {
			byLine[f.Line] = f
		}
		if f.Rule == "observed-rewrite" {
			t.Errorf("observed-rewrite reported beside the confirmed static finding: %+v", f)
		}
	}
	// 100 rows: the rewrite happened, and was over in milliseconds.
	if f := byLine[1]; f.Severity != checks.Info || f.Blocking || f.Evidence["confirmed"] != true ||
		!strings.Contains(f.Measured, "rewrote t") || !strings.Contains(f.Measured, "100 rows") || !strings.Contains(f.Measured, "harmless at this size") {
		t.Errorf("int → bigint finding = %+v, want confirmed, harmless at 100 rows", f)
	}
	if f := byLine[2]; f.Severity != checks.Info || f.Blocking || f.Evidence["refuted"] != true || !f.Refuted || f.Fix != "" ||
		!strings.Contains(f.Message, "no rewrite") {
		t.Errorf("varchar → text finding = %+v, want refuted: info saying no rewrite, no fix", f)
	}
}

// TestToolCommitFailure: a deferred constraint fails at the tool's COMMIT;
// the failure is reported on the statement that caused it.
func TestToolCommitFailure(t *testing.T) {
	t.Parallel()
	_, c := clone(t, "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE ch (p int REFERENCES p DEFERRABLE INITIALLY DEFERRED)")
	f := parse(t, "2_fill.up.sql", "INSERT INTO p VALUES (1);\nINSERT INTO ch VALUES (2);\n", sqlparse.Options{})
	res, err := dblab.Experiment(t.Context(), c, []*sqlparse.File{f}, dblab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fd := range res.Findings {
		if fd.Rule == "experiment-failed" {
			got = append(got, itoa(fd.Line)+" "+fd.Evidence["sqlstate"].(string))
		}
	}
	if diff := cmp.Diff([]string{"2 23503"}, got); diff != "" {
		t.Errorf("experiment-failed findings (-want +got):\n%s", diff)
	}
}

// TestMergeWithRules runs the real static rules and the experiment on the
// same migration: the rule ids line up, and each prediction is confirmed
// or refuted by what the clone measured.
func TestMergeWithRules(t *testing.T) {
	t.Parallel()
	_, c := clone(t, `CREATE TABLE t (id int PRIMARY KEY, v int, s varchar(10));
		INSERT INTO t SELECT g, g, 'x' FROM generate_series(1, 1000) g;
		CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE child (id int PRIMARY KEY, parent_id int);
		INSERT INTO parent SELECT generate_series(1, 10); INSERT INTO child SELECT g, g % 10 + 1 FROM generate_series(1, 1000) g`)
	src := "ALTER TABLE t ALTER COLUMN v TYPE bigint;\n" +
		"ALTER TABLE t ALTER COLUMN s TYPE text;\n" +
		"ALTER TABLE t ADD COLUMN n bigserial;\n" +
		"ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id);\n" +
		"CREATE INDEX t_v ON t (v);\n"
	f := parse(t, "migrations/001.sql", src, sqlparse.Options{})
	static := checks.Run([]*sqlparse.File{f}, checks.Settings{}).Findings
	res, err := dblab.Experiment(t.Context(), c, []*sqlparse.File{f}, dblab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	merged := dblab.Merge(static, res, dblab.Thresholds{})
	find := func(rule string, line int) *checks.Finding {
		for i := range merged {
			if merged[i].Rule == rule && merged[i].Line == line {
				return &merged[i]
			}
		}
		t.Errorf("no %s finding on line %d among %d findings", rule, line, len(merged))
		return nil
	}
	tests := []struct {
		rule      string
		line      int
		confirmed bool
		refuted   bool
		contains  string
	}{
		{"alter-column-type", 1, true, false, "rewrote t"},
		{"alter-column-type", 2, false, true, "no rewrite"},
		{"add-column-rewriting-kind", 3, true, false, "rewrote t"},
		{"fk-validated-inline", 4, true, false, "SHARE ROW EXCLUSIVE held"},
		{"index-create-nonconcurrent", 5, false, false, "SHARE held"},
	}
	for _, tt := range tests {
		f := find(tt.rule, tt.line)
		if f == nil {
			continue
		}
		if (f.Evidence["confirmed"] == true) != tt.confirmed || (f.Evidence["refuted"] == true) != tt.refuted || !strings.Contains(f.Message+" "+f.Measured, tt.contains) {
			t.Errorf("%s line %d: confirmed=%v refuted=%v message %q; want confirmed=%v refuted=%v containing %q",
				tt.rule, tt.line, f.Evidence["confirmed"], f.Evidence["refuted"], f.Message, tt.confirmed, tt.refuted, tt.contains)
		}
		if f.Evidence["measured"] != true || f.Evidence["duration_ms"] == nil {
			t.Errorf("%s line %d lacks measured evidence: %v", tt.rule, tt.line, f.Evidence)
		}
		if tt.refuted && (f.Severity != checks.Info || f.Blocking) {
			t.Errorf("%s line %d refuted but still %s blocking=%v", tt.rule, tt.line, f.Severity, f.Blocking)
		}
	}
	for _, f := range merged {
		if f.Rule == "observed-rewrite" {
			t.Errorf("observed-rewrite on line %d not folded into the static rewrite finding", f.Line)
		}
	}
}

// TestProbeTimingAndSizeAwareVerdicts is the acceptance case of the
// traffic probe and the size-aware verdicts: a CREATE INDEX on a table of
// two million rows, the first statement of the migration, makes the
// probe's writer wait about as long as the SHARE lock is held (within
// 20%), and the static finding fails the gate with that measured time in
// its message; the same statement on a 10-row table is measured harmless
// and downgraded to info.
func TestProbeTimingAndSizeAwareVerdicts(t *testing.T) {
	t.Parallel()
	_, c := clone(t, `CREATE TABLE big (id int PRIMARY KEY, v int);
		INSERT INTO big SELECT g, (g::int8 * 7919) % 1000003 FROM generate_series(1, 2000000) g;
		CREATE TABLE settings (k text PRIMARY KEY, v text); INSERT INTO settings SELECT g::text, 'v' FROM generate_series(1, 10) g;
		ANALYZE`)
	src := "CREATE INDEX big_v ON big (v);\nCREATE INDEX settings_v ON settings (v);\n"
	f := parse(t, "migrations/001.sql", src, sqlparse.Options{})
	res, err := dblab.Experiment(t.Context(), c, []*sqlparse.File{f}, dblab.Options{ProbeTraffic: true})
	if err != nil {
		t.Fatal(err)
	}
	m := measurementAt(t, res, "CREATE INDEX big_v")
	share, ok := lockOn(m, "big", "ShareLock")
	if !ok {
		t.Fatalf("locks %+v, want ShareLock on big", m.Locks)
	}
	var write float64
	for _, b := range m.Blocked {
		if b.Relation == "big" && b.Kind == "write" {
			write = b.MaxWaitMS
		}
	}
	t.Logf("SHARE on big held %.1f ms; the probe's writer waited %.1f ms (%.1f%%)", share.HeldMS, write, 100*write/share.HeldMS)
	if share.HeldMS < 200 {
		t.Fatalf("SHARE held %.1f ms: too short for the test to say anything", share.HeldMS)
	}
	if d := write - share.HeldMS; d > 0.2*share.HeldMS || -d > 0.2*share.HeldMS {
		t.Errorf("writer waited %.1f ms, want within 20%% of the %.1f ms SHARE hold", write, share.HeldMS)
	}
	static := checks.Run([]*sqlparse.File{f}, checks.Settings{}).Findings
	merged := dblab.Merge(static, res, dblab.Thresholds{Harmless: 100 * time.Millisecond})
	var bigF, smallF *checks.Finding
	for i := range merged {
		if merged[i].Rule == "index-create-nonconcurrent" {
			switch merged[i].Line {
			case 1:
				bigF = &merged[i]
			case 2:
				smallF = &merged[i]
			}
		}
	}
	if bigF == nil || smallF == nil {
		t.Fatalf("merged findings %+v lack index-create-nonconcurrent on lines 1 and 2", merged)
	}
	if bigF.Severity != checks.Error || !bigF.Blocking || !strings.Contains(bigF.Message, "writes on big were blocked for") ||
		!strings.Contains(bigF.Measured, "a concurrent write waited") {
		t.Errorf("big table: %s blocking=%v %q / %q; want a blocking error stating the measured blocking time and the probe's wait",
			bigF.Severity, bigF.Blocking, bigF.Message, bigF.Measured)
	}
	if smallF.Severity != checks.Info || smallF.Blocking || !strings.Contains(smallF.Measured, "10 rows") || !strings.Contains(smallF.Measured, "harmless at this size") {
		t.Errorf("10-row table: %s blocking=%v %q; want info, harmless at this size", smallF.Severity, smallF.Blocking, smallF.Measured)
	}
	for _, fd := range merged {
		if fd.Rule == "long-lock-hold" || fd.Rule == "slow-statement" {
			if fd.Line == 1 {
				t.Errorf("%s on line 1 stands apart from the confirmed lock hazard it is folded into", fd.Rule)
			}
		}
		if fd.Rule == "missing-lock-timeout" && strings.Contains(fd.Message, "Measured") {
			t.Errorf("a measured hold escalated or rewrote the timeout finding: %q", fd.Message)
		}
	}
}
