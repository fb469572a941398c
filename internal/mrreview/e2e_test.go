package mrreview_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// scriptedClone stands in for dblab's runner (whose own tests measure on
// real clones): it returns the static findings as the script changes them.
type scriptedClone struct {
	script func(static []checks.Finding) ([]dblab.Measurement, []checks.Finding)
}

func (s scriptedClone) Experiment(_ context.Context, _ []*sqlparse.File, static []checks.Finding) ([]dblab.Measurement, []checks.Finding, error) {
	m, f := s.script(static)
	return m, f, nil
}

func reviewer(t *testing.T, e *env, o mrreview.Options) *mrreview.Reviewer {
	o.GitLab = e.api
	o.Logger = testLogger(t)
	return mrreview.New(o)
}

func runWith(t *testing.T, e *env, rev *mrreview.Reviewer, sha string) *mrreview.Result {
	t.Helper()
	res, err := rev.Run(t.Context(), review.Job{ProjectID: pid, MRIID: iid, HeadSHA: sha},
		mrreview.GitLabTree{API: e.api, ProjectID: pid, SHA: sha})
	if err != nil {
		t.Fatalf("review %s: %v", sha, err)
	}
	return res
}

// The history declares varchar(100); the MR widens it: no error, no
// thread, a success status.
func TestWideningWithHistoryPasses(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.SetFile(pid, base, ".pgai.yml", "")
	e.gl.SetFile(pid, base, "db/migrations/001_init.sql", "CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(100));\n")
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_widen.sql",
		Content: "SET lock_timeout = '2s';\nALTER TABLE customers ALTER COLUMN name TYPE varchar(200);\n"})
	res := e.review(t, sha1)
	for _, f := range res.Report.Findings {
		if f.Severity == checks.Error || f.Blocking {
			t.Errorf("finding %s (%s): %s", f.Rule, f.Severity, f.Message)
		}
	}
	if n := len(threads(e.gl)); n != 0 {
		t.Errorf("%d threads, want none", n)
	}
	if diff := cmp.Diff([]string{"aaaa pending", "aaaa success"}, statuses(e.gl)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	// Without the history the same change looks like a rewrite: the
	// context is what makes the difference.
	e2 := setup(t)
	e2.gl.SetFile(pid, base, ".pgai.yml", "")
	e2.gl.SetFile(pid, base, "db/migrations/001_init.sql", "CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(100));\n")
	e2.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/001_init.sql", Content: "CREATE TABLE customers (id bigint PRIMARY KEY, name text);\n"},
		gitlabtest.Change{Path: "db/migrations/002_widen.sql", Content: "SET lock_timeout = '2s';\nALTER TABLE customers ALTER COLUMN name TYPE varchar(200);\n"})
	blocking := e2.review(t, sha1).Report.Summary.Blocking
	if blocking == 0 {
		t.Error("text → varchar(200) is not reported: the test does not show that the history is read")
	}
}

// A push that fixes one finding resolves its thread and opens none; the
// thread cap counts the bot's open threads across reviews; findings
// reported before never get a thread later.
func TestPushesKeepThreadsFew(t *testing.T) {
	t.Parallel()
	e, head := chatMR(t)
	rev := reviewer(t, e, mrreview.Options{MaxInline: 2})
	first := runWith(t, e, rev, sha1)
	if first.Inline != 2 {
		t.Fatalf("first review opened %d threads, want the cap, 2", first.Inline)
	}
	// A new blocking finding while 2 threads are open: no third thread.
	e.gl.Push(pid, iid, sha2, gitlabtest.Change{Path: "db/migrations/000015_posts_type_index.up.sql",
		Content: "CREATE INDEX idx_posts_type ON posts (type);\n"})
	second := runWith(t, e, rev, sha2)
	if second.Inline != 0 || len(threads(e.gl)) != 2 {
		t.Errorf("second review opened %d threads (%d in all); the cap is on open threads", second.Inline, len(threads(e.gl)))
	}
	// Fix the file of both open threads: they are resolved, and the
	// findings already reported in the summary get no thread now that
	// there is room.
	const sha3 = "cccc333333333333333333333333333333333333"
	fixed := "ALTER TABLE users ADD COLUMN IF NOT EXISTS props_json jsonb;\n"
	if head["db/migrations/000008_users_props_jsonb.up.sql"] == fixed {
		t.Fatal("fixture changed")
	}
	e.gl.Push(pid, iid, sha3, gitlabtest.Change{Path: "db/migrations/000008_users_props_jsonb.up.sql", Content: fixed})
	third := runWith(t, e, rev, sha3)
	if third.Resolved != 2 || third.Inline != 0 {
		t.Errorf("fixing push resolved %d and opened %d threads, want 2 and 0", third.Resolved, third.Inline)
	}
	for _, th := range threads(e.gl) {
		if !th.Resolved || th.Notes != 2 {
			t.Errorf("thread %+v: want resolved with the bot's reply", th)
		}
	}
	sum := summaries(e.gl)[0].Body
	if !regexp.MustCompile("Since the last review \\(`bbbb2222`\\): 1 new, 6 fixed \\(`alter-column-type` ×2, ").MatchString(sum) {
		t.Errorf("summary does not say what was fixed:\n%s", sum)
	}
}

// Findings only a clone can report: a run without a clone leaves their
// threads open; a clone run that no longer sees them resolves them; a
// refuted finding's thread is resolved with the measurement.
func TestCloneOnlyThreads(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.SetFile(pid, base, ".pgai.yml", "")
	e.gl.SetFile(pid, base, "db/migrations/001_init.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n")
	mig := "SET lock_timeout = '2s';\nSET statement_timeout = '5min';\nUPDATE orders SET note = '';\n"
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_backfill.sql", Content: mig})
	slow := func(static []checks.Finding) ([]dblab.Measurement, []checks.Finding) {
		m := dblab.Measurement{Path: "db/migrations/002_backfill.sql", Line: 3, DurationMS: 18600, Rows: 4200000}
		f := checks.Finding{Rule: dblab.LongLockHold.ID, Severity: checks.Error, Blocking: true, Path: m.Path, Line: 3, EndLine: 3,
			Message: "UPDATE orders held ROW EXCLUSIVE on orders for 18.6 s.",
			Why:     dblab.LongLockHold.Why, Fix: dblab.LongLockHold.Fix, DocsURL: dblab.LongLockHold.DocsURL,
			Measured:    "ROW EXCLUSIVE on `orders` held 18.6 s — blocked writes to the rows it updated; 4,200,000 rows",
			Fingerprint: "f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1"}
		return []dblab.Measurement{m}, append(static, f)
	}
	withClone := reviewer(t, e, mrreview.Options{Experimenter: scriptedClone{slow}, CloneSource: "dblab: dle.example.com"})
	res := runWith(t, e, withClone, sha1)
	if res.Inline != 1 {
		t.Fatalf("clone run opened %d threads, want 1 (long-lock-hold)", res.Inline)
	}
	body := e.gl.Discussions(pid, iid)[0].Notes[0].Body
	if !strings.Contains(body, "**Measured on the clone:** ROW EXCLUSIVE on `orders` held 18.6 s") {
		t.Errorf("thread lacks the measurement:\n%s", body)
	}
	sum := summaries(e.gl)[0].Body
	if !strings.Contains(sum, "Measured on a clone of `dblab: dle.example.com`") || strings.Contains(sum, "blocked writes to the rows") {
		t.Errorf("summary: want the clone named and the measurement only in the thread:\n%s", sum)
	}

	// The same head reviewed by CI without a clone: the thread stays open.
	static := reviewer(t, e, mrreview.Options{})
	res = runWith(t, e, static, sha1)
	if res.Resolved != 0 || threads(e.gl)[0].Resolved {
		t.Fatalf("a run without a clone resolved a clone-only thread")
	}
	if sum := summaries(e.gl)[0].Body; !strings.Contains(sum, "0 fixed") {
		t.Errorf("a run without a clone counts the clone-only finding as fixed:\n%s", sum)
	}

	// A clone run that refutes it: resolved, with the measured reason.
	refute := func(static []checks.Finding) ([]dblab.Measurement, []checks.Finding) {
		m, fs := slow(static)
		last := &fs[len(fs)-1]
		last.Refuted, last.Fix = true, ""
		last.Measured = "ROW EXCLUSIVE on `orders` held 40 ms on the clone (4,200 rows)"
		return m, fs
	}
	res = runWith(t, e, reviewer(t, e, mrreview.Options{Experimenter: scriptedClone{refute}}), sha1)
	d := e.gl.Discussions(pid, iid)[0]
	if res.Resolved != 1 || !d.Notes[0].Resolved || !strings.Contains(d.Notes[len(d.Notes)-1].Body, "held 40 ms on the clone") {
		t.Errorf("refuted finding: resolved %d; thread %+v", res.Resolved, d.Notes[len(d.Notes)-1].Body)
	}
	if sum := summaries(e.gl)[0].Body; !strings.Contains(sum, "🧪 refuted") {
		t.Errorf("summary does not show the refuted finding:\n%s", sum)
	}
}

// A finding whose Edit replaces lines the MR adds gets a suggestion block
// that applies cleanly: GitLab replaces the -N lines above and +M below
// the commented line with the block's text.
func TestSuggestionApplies(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.SetFile(pid, base, ".pgai.yml", "")
	e.gl.SetFile(pid, base, "db/migrations/001_init.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n")
	mig := "-- golang-migrate: each file in its own transaction\nCREATE INDEX idx_orders_user\n    ON orders\n    (user_id);\nSELECT 1;\n"
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_index.up.sql", Content: mig})
	replacement := "CREATE INDEX CONCURRENTLY idx_orders_user\n    ON orders (user_id);\n"
	edit := func(static []checks.Finding) ([]dblab.Measurement, []checks.Finding) {
		for i, f := range static {
			if f.Rule == "index-create-nonconcurrent" {
				static[i].Edit = &checks.Edit{StartLine: f.Line, EndLine: f.EndLine, Text: replacement}
			}
		}
		return nil, static
	}
	res := runWith(t, e, reviewer(t, e, mrreview.Options{Experimenter: scriptedClone{edit}}), sha1)
	var edited int
	for _, f := range res.Report.Findings {
		if f.Edit != nil && f.Severity == checks.Error {
			edited++ // warnings carry edits too (timeouts), but no thread
		}
	}
	if edited != 1 {
		t.Fatalf("%d findings with an edit, want 1", edited)
	}
	var got []string
	for _, d := range e.gl.Discussions(pid, iid) {
		n := d.Notes[0]
		if !strings.Contains(n.Body, "suggestion:") {
			continue
		}
		out, err := applySuggestion(mig, n.Position.NewLine, n.Body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out)
	}
	want := "-- golang-migrate: each file in its own transaction\n" + replacement + "SELECT 1;\n"
	if diff := cmp.Diff([]string{want}, got); diff != "" {
		t.Errorf("file after applying the suggestion (-want +got):\n%s", diff)
	}
}

var suggestionRE = regexp.MustCompile("(?s)(`{3,})suggestion:-(\\d+)\\+(\\d+)\n(.*?)\n?(`{3,})\n")

// applySuggestion applies a GitLab suggestion block of a thread on line
// to a file, as GitLab's "Apply suggestion" does.
func applySuggestion(file string, line int, body string) (string, error) {
	m := suggestionRE.FindStringSubmatch(body + "\n")
	if m == nil || m[1] != m[5] {
		return "", fmt.Errorf("no suggestion block in:\n%s", body)
	}
	above, _ := strconv.Atoi(m[2])
	below, _ := strconv.Atoi(m[3])
	lines := strings.SplitAfter(file, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	from, to := line-above, line+below
	if from < 1 || to > len(lines) {
		return "", fmt.Errorf("suggestion -%d+%d on line %d is outside the file's %d lines", above, below, line, len(lines))
	}
	var b strings.Builder
	for _, l := range lines[:from-1] {
		b.WriteString(l)
	}
	if m[4] != "" {
		b.WriteString(m[4] + "\n")
	}
	for _, l := range lines[to:] {
		b.WriteString(l)
	}
	return b.String(), nil
}

var _ = gitlab.MR{}
var _ = time.Second

// For every example project, a merge request that changes the project's
// last migrations gets exactly the findings `reviewer check` gives on the
// head tree for those files: the whole history is the context.
func TestFindingsEqualCheckOnHeadTree(t *testing.T) {
	t.Parallel()
	projects := map[string]string{"examples": "../../examples/migrations", "chat": "testdata/chat"}
	entries, err := os.ReadDir("../../sqlparse/testdata/projects")
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.IsDir() {
			projects[en.Name()] = filepath.Join("../../sqlparse/testdata/projects", en.Name())
		}
	}
	for name, dir := range projects {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The head tree: every file of the project under db/ (the
			// chat project's base/ and mr/ folded into one folder).
			head := map[string]string{}
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				rel = filepath.ToSlash(rel)
				if name == "chat" {
					rel = path.Base(rel)
				}
				b, err := os.ReadFile(p)
				head["db/"+rel] = string(b)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			// reviewer check on the head tree.
			tree := fstest.MapFS{}
			for p, c := range head {
				tree[p] = &fstest.MapFile{Data: []byte(c)}
			}
			all, err := review.Run(t.Context(), review.Request{FS: tree, Paths: []string{"db"}})
			if err != nil {
				t.Fatal(err)
			}
			// The MR changes the last two files that run (by the tool's order).
			var order []string
			for _, f := range all.Files {
				if f.Analysed {
					order = append(order, f.Path)
				}
			}
			if len(order) < 3 {
				t.Fatalf("project has %d analysed files", len(order))
			}
			changed := order[len(order)-2:]
			e := setup(t)
			e.gl.SetFile(pid, base, ".pgai.yml", "")
			var changes []gitlabtest.Change
			for p, c := range head {
				if slices.Contains(changed, p) {
					e.gl.SetFile(pid, base, p, "SELECT 1;\n") // modified by the MR
					changes = append(changes, gitlabtest.Change{Path: p, Content: c})
				} else {
					e.gl.SetFile(pid, base, p, c)
				}
			}
			e.gl.Push(pid, iid, sha1, changes...)
			res := e.review(t, sha1)
			var want, got []string
			for _, f := range all.Findings {
				if slices.Contains(changed, f.Path) {
					want = append(want, fmt.Sprintf("%s:%d %s %s", f.Path, f.Line, f.Rule, f.Message))
				}
			}
			for _, f := range res.Report.Findings {
				got = append(got, fmt.Sprintf("%s:%d %s %s", f.Path, f.Line, f.Rule, f.Message))
			}
			slices.Sort(want)
			slices.Sort(got)
			if len(want) == 0 {
				t.Logf("no findings on %v", changed)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("MR review of %v differs from reviewer check on the head tree (-check +mr):\n%s", changed, diff)
			}
		})
	}
}

// A baseline schema file (.pgai.yml schema:) is read before the
// migrations: a column it declares is known to the rules.
func TestBaselineSchemaFile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.SetFile(pid, base, ".pgai.yml", "schema: db/structure.sql\n")
	e.gl.SetFile(pid, base, "db/structure.sql", "-- PostgreSQL database dump\nCREATE TABLE public.customers (\n    id bigint NOT NULL,\n    name character varying(100)\n);\n")
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_widen.sql",
		Content: "SET lock_timeout = '2s';\nALTER TABLE customers ALTER COLUMN name TYPE varchar(200);\n"})
	res := e.review(t, sha1)
	if res.Report.Summary.Blocking != 0 {
		t.Errorf("%d blocking findings: the schema file was not read: %+v", res.Report.Summary.Blocking, res.Report.Findings)
	}
	// Without it the type is unknown and the change may rewrite.
	e.gl.Push(pid, iid, sha2, gitlabtest.Change{Path: ".pgai.yml", Content: ""})
	if res := e.review(t, sha2); res.Report.Summary.Blocking == 0 {
		t.Error("without the schema file the widening is not flagged: the test shows nothing")
	}
	// A configured schema file that is missing is said so.
	e.gl.Push(pid, iid, "cccc333333333333333333333333333333333333", gitlabtest.Change{Path: ".pgai.yml", Content: "schema: db/missing.sql\n"})
	res = e.review(t, "cccc333333333333333333333333333333333333")
	if sum := summaries(e.gl)[0].Body; res.Outcome != mrreview.OutcomeConfigError || !strings.Contains(sum, "schema file db/missing.sql") {
		t.Errorf("missing schema file: outcome %s, summary:\n%s", res.Outcome, sum)
	}
}
