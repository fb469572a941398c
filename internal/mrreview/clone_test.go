package mrreview_test

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// On real clones (local PostgreSQL copies): a finding only a measurement
// can report opens a thread in a clone run, stays open through a run
// without a clone, and is resolved by the clone run that no longer sees
// it.
func TestCloneOnlyThreadOnRealClones(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.Exec(t, "CREATE TABLE orders (id bigint PRIMARY KEY, note text); INSERT INTO orders SELECT g, '' FROM generate_series(1, 1000) g;")
	p, err := localpg.New(localpg.Options{SourceDSN: db.URL, Prefix: "pgai_mr" + strings.TrimPrefix(db.Name, "pgtest_") + "_"})
	if err != nil {
		t.Fatal(err)
	}
	clone := &dblab.Runner{Provider: p, Request: dblab.CloneRequest{TTL: time.Hour},
		Options: dblab.Options{LockTimeout: 5 * time.Second, StatementTimeout: time.Minute, Deadline: 5 * time.Minute}}

	e := setup(t)
	e.gl.SetFile(pid, base, ".pgai.yml", "inline: all\n")
	e.gl.SetFile(pid, base, "db/migrations/001_init.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n")
	slow := "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\nSELECT pg_sleep(0.3);\n"
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_slow.sql", Content: slow})

	withClone := reviewer(t, e, mrreview.Options{Experimenter: clone, CloneSource: "local: test"})
	res := runWith(t, e, withClone, sha1)
	var measured []string
	for _, f := range res.Report.Findings {
		for _, m := range dblab.MeasuredRules {
			if f.Rule == m.ID {
				measured = append(measured, f.Rule)
			}
		}
	}
	if len(measured) == 0 {
		t.Fatalf("the clone run reported no measured-only finding: %+v", res.Report.Findings)
	}
	cloneThreads := func() (open, resolved int) {
		for _, d := range e.gl.Discussions(pid, iid) {
			for _, m := range mrreview.ParseMarkers(d.Notes[0].Body) {
				if m.Kind == mrreview.KindFinding && strings.Contains(strings.Join(measured, " "), m.Rule) {
					if d.Notes[0].Resolved {
						resolved++
					} else {
						open++
					}
				}
			}
		}
		return open, resolved
	}
	if open, _ := cloneThreads(); open == 0 {
		t.Fatalf("no thread for %v", measured)
	}
	if !strings.Contains(summaries(e.gl)[0].Body, "Measured on a clone of `local: test`") {
		t.Errorf("summary does not say it measured:\n%s", summaries(e.gl)[0].Body)
	}

	// CI without a clone: nothing measured, nothing resolved.
	runWith(t, e, reviewer(t, e, mrreview.Options{}), sha1)
	if open, resolved := cloneThreads(); open == 0 || resolved != 0 {
		t.Errorf("after a run without a clone: %d open, %d resolved clone-only threads; want them all open", open, resolved)
	}

	// The sleep removed, measured again: resolved.
	e.gl.Push(pid, iid, sha2, gitlabtest.Change{Path: "db/migrations/002_slow.sql", Content: "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\nSELECT 1;\n"})
	runWith(t, e, withClone, sha2)
	if open, resolved := cloneThreads(); open != 0 || resolved == 0 {
		t.Errorf("after the fix, measured: %d open, %d resolved clone-only threads; want all resolved", open, resolved)
	}
}
