package dblab_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
)

func TestBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode string
		want []string
	}{
		{"AccessShareLock", []string{"ddl"}},
		{"RowShareLock", []string{"ddl"}},
		{"RowExclusiveLock", []string{"ddl"}},
		{"ShareUpdateExclusiveLock", []string{"ddl"}},
		{"ShareLock", []string{"writes", "ddl"}},
		{"ShareRowExclusiveLock", []string{"writes", "ddl"}},
		{"ExclusiveLock", []string{"writes", "ddl"}},
		{"AccessExclusiveLock", []string{"reads", "writes", "ddl"}},
		{"NoSuchLock", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, dblab.Blocks(tt.mode)); diff != "" {
			t.Errorf("Blocks(%s) (-want +got):\n%s", tt.mode, diff)
		}
	}
	// The table is symmetric, as PostgreSQL's is.
	modes := []string{"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
	for _, a := range modes {
		for _, b := range modes {
			if dblab.Conflicts(a, b) != dblab.Conflicts(b, a) {
				t.Errorf("Conflicts(%s, %s) = %v but Conflicts(%s, %s) = %v", a, b, dblab.Conflicts(a, b), b, a, dblab.Conflicts(b, a))
			}
		}
	}
}

const path = "db/001.sql"

func result(ms ...dblab.Measurement) *dblab.Result {
	return &dblab.Result{
		Measurements: ms,
		Tables: map[string]dblab.TableInfo{
			"big":   {TableBytes: 2 << 30, Rows: 12_000_000},
			"small": {TableBytes: 8192, Rows: 10},
			"other": {TableBytes: 8192, Rows: 10},
		},
		Files: []dblab.FileRun{{Path: path, DurationMS: 100}},
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	ae := func(rel string, held float64) dblab.Lock {
		return dblab.Lock{Relation: rel, Mode: "AccessExclusiveLock", HeldMS: held, Blocks: dblab.Blocks("AccessExclusiveLock"), Kind: "table"}
	}
	sre := func(rel string, held float64) dblab.Lock {
		return dblab.Lock{Relation: rel, Mode: "ShareRowExclusiveLock", HeldMS: held, Blocks: dblab.Blocks("ShareRowExclusiveLock"), Kind: "table"}
	}
	static := func(rule string, sev checks.Severity) checks.Finding {
		return checks.Finding{Rule: rule, Severity: sev, Path: path, Line: 1, Message: "Static.", Blocking: sev == checks.Error}
	}
	type want struct {
		rule      string
		sev       checks.Severity
		blocking  bool
		contains  string
		confirmed any
	}
	tests := []struct {
		name   string
		static []checks.Finding
		m      dblab.Measurement
		want   []want
	}{
		{
			name:   "rewrite confirmed on a large table",
			static: []checks.Finding{static("alter-column-type", checks.Warning)},
			m:      dblab.Measurement{Path: path, Line: 1, DurationMS: 41000, Rewritten: []string{"big"}, Locks: []dblab.Lock{ae("big", 41000)}},
			want: []want{
				{"alter-column-type", checks.Error, true, "reads and writes on big were blocked for 41.00 s", true},
			},
		},
		{
			name:   "rewrite refuted",
			static: []checks.Finding{static("alter-column-type", checks.Error)},
			m:      dblab.Measurement{Path: path, Line: 1, DurationMS: 2, Rewritten: []string{}, Locks: []dblab.Lock{ae("small", 2)}},
			want:   []want{{"alter-column-type", checks.Info, false, "no rewrite", nil}},
		},
		{
			name:   "validation scan confirmed",
			static: []checks.Finding{static("fk-validated-inline", checks.Error)},
			m: dblab.Measurement{Path: path, Line: 1, DurationMS: 20, Scanned: []string{"small"},
				Locks: []dblab.Lock{sre("small", 20), sre("other", 20)}},
			want: []want{{"fk-validated-inline", checks.Info, false, "SHARE ROW EXCLUSIVE held 20.0 ms on", true}},
		},
		{
			name:   "validation scan refuted",
			static: []checks.Finding{static("set-not-null", checks.Warning)},
			m:      dblab.Measurement{Path: path, Line: 1, DurationMS: 1, Locks: []dblab.Lock{ae("small", 1)}},
			want:   []want{{"set-not-null", checks.Info, false, "no validation scan", nil}},
		},
		{
			name:   "lock rule gets evidence, long hold folded in",
			static: []checks.Finding{static("index-create-nonconcurrent", checks.Warning)},
			m: dblab.Measurement{Path: path, Line: 1, DurationMS: 50,
				Locks: []dblab.Lock{{Relation: "small", Mode: "ShareLock", HeldMS: 1500, Blocks: dblab.Blocks("ShareLock"), Kind: "table"}}},
			want: []want{
				{"index-create-nonconcurrent", checks.Warning, false, "writes on small were blocked for 1.50 s", nil},
			},
		},
		{
			name: "measured only: rewrite of a small table is info, long hold is a warning",
			m:    dblab.Measurement{Path: path, Line: 1, DurationMS: 30, Rewritten: []string{"small"}, Locks: []dblab.Lock{ae("small", 2000)}},
			want: []want{
				{"observed-rewrite", checks.Info, false, "rewrote small", nil},
				{"long-lock-hold", checks.Warning, false, "ACCESS EXCLUSIVE on small was held 2.00 s", nil},
			},
		},
		{
			name: "measured only: failure",
			m:    dblab.Measurement{Path: path, Line: 1, Error: "could not create unique index \"u\"", SQLState: "23505"},
			want: []want{{"experiment-failed", checks.Error, true, "23505", nil}},
		},
		{
			name:   "data-dependent failure confirmed",
			static: []checks.Finding{static("data-dependent-unique", checks.Warning)},
			m:      dblab.Measurement{Path: path, Line: 1, Error: "could not create unique index \"u\"", SQLState: "23505"},
			want:   []want{{"data-dependent-unique", checks.Error, true, "ERROR 23505", true}},
		},
		{
			name:   "unrelated failure kept apart",
			static: []checks.Finding{static("index-create-nonconcurrent", checks.Warning)},
			m:      dblab.Measurement{Path: path, Line: 1, Error: "canceling statement due to lock timeout", SQLState: "55P03"},
			want: []want{
				{"index-create-nonconcurrent", checks.Warning, false, "Static.", nil},
				{"experiment-failed", checks.Error, true, "55P03", nil},
			},
		},
		{
			name:   "unmeasured statement untouched",
			static: []checks.Finding{{Rule: "x", Severity: checks.Warning, Path: path, Line: 9, Message: "Static."}},
			m:      dblab.Measurement{Path: path, Line: 1, DurationMS: 1},
			want:   []want{{"x", checks.Warning, false, "Static.", nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := dblab.Merge(tt.static, result(tt.m), dblab.Thresholds{})
			if len(got) != len(tt.want) {
				t.Fatalf("Merge = %d findings %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				f := got[i]
				if f.Rule != w.rule || f.Severity != w.sev || f.Blocking != w.blocking || !strings.Contains(f.Message+" "+f.Measured, w.contains) || f.Evidence["confirmed"] != w.confirmed {
					t.Errorf("finding %d = %s %s blocking=%v %q confirmed=%v; want %s %s blocking=%v containing %q confirmed=%v",
						i, f.Rule, f.Severity, f.Blocking, f.Message, f.Evidence["confirmed"], w.rule, w.sev, w.blocking, w.contains, w.confirmed)
				}
				measuredOnly := map[string]bool{"observed-rewrite": true, "long-lock-hold": true, "slow-statement": true, "slow-migration": true, "experiment-failed": true}
				if measuredOnly[f.Rule] && (f.Why == "" || f.Fix == "" || f.DocsURL == "" || f.Fingerprint == "") {
					t.Errorf("finding %s lacks why, fix, docs or fingerprint: %+v", f.Rule, f)
				}
			}
		})
	}
}

func TestSlowMigration(t *testing.T) {
	t.Parallel()
	r := result()
	r.Files[0].DurationMS = 4 * 60 * 1000
	got := dblab.Derive(r, dblab.Thresholds{})
	if len(got) != 1 || got[0].Rule != "slow-migration" || got[0].Severity != checks.Warning || !strings.Contains(got[0].Message, "4.0 min") {
		t.Fatalf("Derive = %+v, want one slow-migration warning of 4.0 min", got)
	}
	r.Files[0].DurationMS = 25 * 60 * 1000
	if got := dblab.Derive(r, dblab.Thresholds{}); got[0].Severity != checks.Error {
		t.Errorf("25 min migration severity %s, want error", got[0].Severity)
	}
}

// TestMergeSameLine: two statements on one line are told apart by column.
func TestMergeSameLine(t *testing.T) {
	t.Parallel()
	r := result(
		dblab.Measurement{Path: path, Line: 1, Column: 1, DurationMS: 1, Rewritten: []string{}},
		dblab.Measurement{Path: path, Line: 1, Column: 42, DurationMS: 1, Rewritten: []string{"small"}},
	)
	static := []checks.Finding{
		{Rule: "alter-column-type", Severity: checks.Error, Path: path, Line: 1, Column: 1, Message: "First."},
		{Rule: "alter-column-type", Severity: checks.Error, Path: path, Line: 1, Column: 42, Message: "Second."},
	}
	got := dblab.Merge(static, r, dblab.Thresholds{})
	var states []string
	for _, f := range got {
		states = append(states, f.Rule+" "+f.Severity.String())
	}
	want := []string{"alter-column-type info", "alter-column-type error"}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
}
