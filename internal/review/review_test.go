package review

import (
	"context"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/sqlparse"
)

func TestRunSourcesReportsOnlyChangedFiles(t *testing.T) {
	t.Parallel()
	rep, err := Run(context.Background(), Request{
		Sources: []Source{
			{Path: "db/migrations/V1__init.sql", Content: []byte("CREATE TABLE t (id bigint PRIMARY KEY, x int);\n")},
			{Path: "db/migrations/V2__idx.sql", Content: []byte("CREATE INDEX t_x_idx ON t (x);\n")},
			{Path: "db/migrations/V10__bad.sql", Content: []byte("SELEC 1;\n")},
		},
		Changed: []string{"db/migrations/V2__idx.sql", "db/migrations/V10__bad.sql"},
		Commit:  "0123456789abcdef",
	})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range rep.Files {
		paths = append(paths, f.Path)
	}
	if got := strings.Join(paths, ","); got != "db/migrations/V2__idx.sql,db/migrations/V10__bad.sql" {
		t.Errorf("files = %s (want only the changed ones, in Flyway order)", got)
	}
	rules := map[string]string{}
	for _, f := range rep.Findings {
		rules[f.Rule] = f.Path
	}
	if rules["index-create-nonconcurrent"] != "db/migrations/V2__idx.sql" || rules["syntax-error"] != "db/migrations/V10__bad.sql" {
		t.Errorf("findings = %v", rules)
	}
	if rep.Summary.Blocking == 0 || rep.Commit == "" || rep.PGVersion != "15" {
		t.Errorf("summary = %+v commit=%q pg=%q", rep.Summary, rep.Commit, rep.PGVersion)
	}
}

func TestRunRejectsEscapingPaths(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Request{Sources: []Source{{Path: "../../etc/x.sql", Content: []byte("SELECT 1;")}}})
	if err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("err = %v", err)
	}
}

type fakeExperimenter struct {
	gotFiles int
}

func (e *fakeExperimenter) Experiment(_ context.Context, files []*sqlparse.File, static []checks.Finding) ([]dblab.Measurement, []checks.Finding, error) {
	e.gotFiles = len(files)
	for i := range static {
		static[i].Severity = checks.Info // refuted by "measurement"
	}
	return []dblab.Measurement{{Path: files[0].Path, Line: 1, DurationMS: 1.5, Rows: -1}}, static, nil
}

func TestRunWithExperimenterRecomputesTheGate(t *testing.T) {
	t.Parallel()
	e := &fakeExperimenter{}
	rep, err := Run(context.Background(), Request{
		Sources:      []Source{{Path: "m/001.sql", Content: []byte("CREATE INDEX i ON t (x);\n")}},
		Experimenter: e,
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.gotFiles != 1 || len(rep.Measurements) != 1 {
		t.Fatalf("experimenter saw %d files; %d measurements", e.gotFiles, len(rep.Measurements))
	}
	if rep.Summary.Blocking != 0 {
		t.Errorf("a finding downgraded by the experiment still blocks: %+v", rep.Summary)
	}
}

func TestNonLinearHistory(t *testing.T) {
	t.Parallel()
	srcs := []Source{
		{Path: "db/1_users.up.sql", Content: []byte("CREATE TABLE users (id bigint PRIMARY KEY);\n")},
		{Path: "db/2_orders.up.sql", Content: []byte("CREATE TABLE orders (id bigint PRIMARY KEY);\n")},
		{Path: "db/3_items.up.sql", Content: []byte("CREATE TABLE items (id bigint PRIMARY KEY);\n")},
		{Path: "db/4_tags.up.sql", Content: []byte("CREATE TABLE tags (id bigint PRIMARY KEY);\n")},
	}
	for _, tc := range []struct {
		name  string
		added []string
		want  string // path with the finding, or ""
	}{
		{"appended at the end", []string{"db/4_tags.up.sql"}, ""},
		{"slipped in before existing ones", []string{"db/2_orders.up.sql"}, "db/2_orders.up.sql"},
		{"two new, one out of order", []string{"db/2_orders.up.sql", "db/4_tags.up.sql"}, "db/2_orders.up.sql"},
	} {
		rep, err := Run(context.Background(), Request{Sources: srcs, Changed: tc.added, Added: tc.added})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, f := range rep.Findings {
			if f.Rule == "non-linear-history" {
				if got != "" {
					t.Errorf("%s: more than one finding", tc.name)
				}
				got = f.Path
				if !strings.Contains(f.Message, "db/3_items.up.sql") || !f.Blocking || f.Fingerprint == "" {
					t.Errorf("%s: finding %+v", tc.name, f)
				}
			}
		}
		if got != tc.want {
			t.Errorf("%s: non-linear-history on %q, want %q", tc.name, got, tc.want)
		}
	}
}
