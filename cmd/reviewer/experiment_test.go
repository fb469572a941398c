package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/dblab/dblabtest"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/internal/pgtest"
)

func runExperimentTest(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), append([]string{"experiment"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

const lockSQL = "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(0.2); COMMIT;"

func TestExperimentCommandLocal(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.Exec(t, "CREATE TABLE t (id int)")

	code, out, errOut := runExperimentTest(t, "--clone", "local", "--source-dsn", db.URL, "--sql", lockSQL, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var got struct {
		Clone        string `json:"clone"`
		Measurements []struct {
			Line  int `json:"line"`
			Locks []struct {
				Relation string   `json:"relation"`
				Mode     string   `json:"mode"`
				HeldMS   float64  `json:"held_ms"`
				Blocks   []string `json:"blocks"`
			} `json:"locks"`
		} `json:"measurements"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, out)
	}
	found := false
	for _, m := range got.Measurements {
		for _, l := range m.Locks {
			if l.Relation == "t" && l.Mode == "AccessExclusiveLock" && l.HeldMS >= 150 && len(l.Blocks) == 3 {
				found = true
			}
		}
	}
	if got.Clone != "local" || !found {
		t.Errorf("output lacks AccessExclusiveLock on t held through the sleep:\n%s", out)
	}

	code, out, errOut = runExperimentTest(t, "--clone", "local", "--source-dsn", db.URL, "--sql", "ALTER TABLE t ALTER COLUMN id TYPE bigint")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"sql:1  ALTER TABLE t ALTER COLUMN id TYPE bigint", "ACCESS EXCLUSIVE", "on table t", "blocks reads, writes, ddl", "rewritten: t", "observed-rewrite"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	var cols int
	conn := db.Conn(t)
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND atttypid = 'bigint'::regtype").Scan(&cols); err != nil || cols != 0 {
		t.Errorf("the source changed: %d bigint columns (%v)", cols, err)
	}
	var clones int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgai\\_clone\\_%' AND shobj_description(oid, 'pg_database') LIKE '%source="+db.Name+"%'").Scan(&clones); err != nil || clones != 0 {
		t.Errorf("%d clones of %s left behind (%v)", clones, db.Name, err)
	}
}

func TestExperimentCommandFailure(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.Exec(t, "CREATE TABLE t (e text); INSERT INTO t VALUES ('a'), ('a')")
	code, out, errOut := runExperimentTest(t, "--clone", "local", "--source-dsn", db.URL, "--sql", "CREATE UNIQUE INDEX t_e ON t (e);")
	if code != exitBlocking || !strings.Contains(out, "ERROR 23505") || !strings.Contains(out, "[experiment-failed]") {
		t.Errorf("exit %d, want 1 with the 23505 failure\n%s%s", code, out, errOut)
	}
}

func TestExperimentCommandDBLab(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.Exec(t, "CREATE TABLE t (id int)")
	lp, err := localpg.New(localpg.Options{SourceDSN: db.URL, Prefix: "pgai_cli" + strings.TrimPrefix(db.Name, "pgtest_") + "_"})
	if err != nil {
		t.Fatal(err)
	}
	f := dblabtest.NewFakeDLE(t, dblabtest.FakeOptions{Token: "tok", CreateDelay: 10 * time.Millisecond,
		Backend: &dblabtest.LocalBackend{Provider: lp, AdminDSN: pgtest.AdminURL(t)}})
	code, out, errOut := runExperimentTest(t, "--clone", "dblab", "--dblab-url", f.URL, "--dblab-token", "tok", "--sql", lockSQL)
	if code != exitOK || !strings.Contains(out, "ACCESS EXCLUSIVE") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if ids := f.CloneIDs(); len(ids) != 0 {
		t.Errorf("clones left on the engine: %v", ids)
	}
	code, _, errOut = runExperimentTest(t, "--clone", "dblab", "--dblab-url", f.URL, "--dblab-token", "wrong", "--sql", "SELECT 1")
	if code != exitError || !strings.Contains(errOut, "401") {
		t.Errorf("wrong token: exit %d, stderr %q; want 2 and the 401", code, errOut)
	}
}

func TestExperimentCommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no sql", []string{"--clone", "local", "--source-dsn", "postgres://x/app"}, "exactly one of --sql and --file"},
		{"both", []string{"--sql", "SELECT 1", "--file", "x.sql", "--clone", "local"}, "exactly one of --sql and --file"},
		{"bad clone", []string{"--clone", "cloud", "--sql", "SELECT 1"}, `--clone "cloud"`},
		{"bad format", []string{"--clone", "local", "--sql", "SELECT 1", "--format", "xml"}, "--format"},
		{"syntax", []string{"--clone", "local", "--source-dsn", "postgres://x/app", "--sql", "SELEC 1"}, "syntax error"},
		{"no source", []string{"--clone", "local", "--source-dsn", "", "--sql", "SELECT 1"}, "--source-dsn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runExperimentTest(t, tt.args...)
			if code != exitError || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}
