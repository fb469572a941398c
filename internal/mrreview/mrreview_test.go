package mrreview_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/webhook"
)

const (
	token = "glpat-bot"
	botID = 99
	pid   = 42
	iid   = 7
	base  = "base000000000000000000000000000000000000"
	sha1  = "aaaa111111111111111111111111111111111111"
	sha2  = "bbbb222222222222222222222222222222222222"
)

// Two findings on added lines: a blocking non-concurrent index, and a
// second one on another table.
const migBad = `SET lock_timeout = '2s';
CREATE INDEX idx_orders_user ON orders (user_id);
CREATE INDEX idx_items_order ON items (order_id);
`

// The first index fixed; the second still there (lines shifted).
const migHalfFixed = `SET lock_timeout = '2s';
-- build without blocking writes
CREATE INDEX CONCURRENTLY idx_orders_user ON orders (user_id);
CREATE INDEX idx_items_order ON items (order_id);
`

type env struct {
	gl  *gitlabtest.Server
	api *gitlab.Client
	rev *mrreview.Reviewer
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func setup(t *testing.T) *env {
	t.Helper()
	s := gitlabtest.New(t)
	s.AddUser(token, gitlabtest.User{ID: botID, Username: "pgai-bot"})
	s.SetFile(pid, base, "README.md", "hello\n")
	s.SetFile(pid, base, ".pgai.yml", onlyRule("index-create-nonconcurrent"))
	s.SetFile(pid, base, "db/migrations/001_init.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n")
	s.AddMR(gitlabtest.MR{ProjectID: pid, IID: iid, Title: "indexes", BaseSHA: base, AuthorID: 5})
	s.SetMember(pid, 5, 30) // Developer
	s.SetMember(pid, 6, 10) // Guest
	s.SetMember(pid, 7, 40) // Maintainer
	c, err := gitlab.New(gitlab.Options{BaseURL: s.URL, Token: token, CreateRetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &env{gl: s, api: c, rev: mrreview.New(mrreview.Options{GitLab: c, Logger: testLogger(t)})}
}

func (e *env) review(t *testing.T, sha string) *mrreview.Result {
	t.Helper()
	res, err := e.rev.Run(t.Context(), review.Job{ProjectID: pid, MRIID: iid, HeadSHA: sha},
		mrreview.GitLabTree{API: e.api, ProjectID: pid, SHA: sha})
	if err != nil {
		t.Fatalf("review %s: %v", sha, err)
	}
	return res
}

type threadView struct {
	Path     string
	Line     int
	Rule     string
	Resolved bool
	Notes    int
}

func threads(s *gitlabtest.Server) []threadView {
	var out []threadView
	for _, d := range s.Discussions(pid, iid) {
		n := d.Notes[0]
		if n.Position == nil {
			continue
		}
		rule := ""
		if i := strings.Index(n.Body, "`"); i >= 0 {
			rule = strings.SplitN(n.Body[i+1:], "`", 2)[0]
		}
		out = append(out, threadView{Path: n.Position.NewPath, Line: n.Position.NewLine, Rule: rule, Resolved: n.Resolved, Notes: len(d.Notes)})
	}
	return out
}

func summaries(s *gitlabtest.Server) []gitlabtest.Note {
	var out []gitlabtest.Note
	for _, n := range s.Notes(pid, iid) {
		if strings.Contains(n.Body, mrreview.SummaryMarker) {
			out = append(out, n)
		}
	}
	return out
}

func statuses(s *gitlabtest.Server) []string {
	var out []string
	for _, st := range s.Statuses(pid) {
		out = append(out, st.SHA[:4]+" "+st.State)
	}
	return out
}

func TestReviewPostsSummaryAndDiscussions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad},
		gitlabtest.Change{Path: "README.md", Content: "hello\nworld\n"})
	res := e.review(t, sha1)
	if res.Outcome != mrreview.OutcomeReviewed || res.Report.Summary.Blocking != 2 {
		t.Fatalf("outcome %s, blocking %d", res.Outcome, res.Report.Summary.Blocking)
	}
	want := []threadView{
		{Path: "db/migrations/002_indexes.sql", Line: 2, Rule: "index-create-nonconcurrent", Notes: 1},
		{Path: "db/migrations/002_indexes.sql", Line: 3, Rule: "index-create-nonconcurrent", Notes: 1},
	}
	if diff := cmp.Diff(want, threads(e.gl)); diff != "" {
		t.Errorf("threads (-want +got):\n%s", diff)
	}
	sums := summaries(e.gl)
	if len(sums) != 1 {
		t.Fatalf("%d summary notes, want 1", len(sums))
	}
	body := sums[0].Body
	for _, want := range []string{"2 blocking", "002_indexes.sql", "aaaa11111111"} {
		if !strings.Contains(body, want) {
			t.Errorf("summary lacks %q:\n%s", want, body)
		}
	}
	for _, n := range e.gl.Notes(pid, iid) {
		for _, l := range strings.Split(n.Body, "\n") {
			if strings.HasPrefix(l, "/") {
				t.Errorf("note line starts with /: %q", l)
			}
		}
	}
	if diff := cmp.Diff([]string{"aaaa pending", "aaaa failed"}, statuses(e.gl)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if st := e.gl.Statuses(pid); !strings.HasSuffix(st[1].TargetURL, fmt.Sprintf("#note_%d", sums[0].ID)) {
		t.Errorf("status links %q, want the summary note %d", st[1].TargetURL, sums[0].ID)
	}

	// The same head again: nothing new is posted, the summary stays one.
	before := e.gl.CountCalls(gitlabtest.RouteCreateDiscussion) + e.gl.CountCalls(gitlabtest.RouteCreateNote)
	e.review(t, sha1)
	after := e.gl.CountCalls(gitlabtest.RouteCreateDiscussion) + e.gl.CountCalls(gitlabtest.RouteCreateNote)
	if after != before || len(summaries(e.gl)) != 1 || len(threads(e.gl)) != 2 {
		t.Errorf("re-run posted %d new notes; %d summaries, %d threads", after-before, len(summaries(e.gl)), len(threads(e.gl)))
	}
}

func TestNewPushEditsSummaryAndResolvesFixed(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
	e.review(t, sha1)
	first := summaries(e.gl)
	e.gl.Push(pid, iid, sha2, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migHalfFixed})
	res := e.review(t, sha2)
	if res.Resolved != 1 || res.Inline != 0 {
		t.Errorf("resolved %d, opened %d; want 1 and 0", res.Resolved, res.Inline)
	}
	second := summaries(e.gl)
	if len(second) != 1 || second[0].ID != first[0].ID {
		t.Fatalf("summary notes %v then %v: want the same note edited", ids(first), ids(second))
	}
	if !strings.Contains(second[0].Body, "bbbb22222222") || !strings.Contains(second[0].Body, "1 blocking") {
		t.Errorf("summary not updated:\n%s", second[0].Body)
	}
	want := []threadView{
		{Path: "db/migrations/002_indexes.sql", Line: 2, Rule: "index-create-nonconcurrent", Resolved: true, Notes: 2},
		{Path: "db/migrations/002_indexes.sql", Line: 3, Rule: "index-create-nonconcurrent", Notes: 1},
	}
	if diff := cmp.Diff(want, threads(e.gl)); diff != "" {
		t.Errorf("threads (-want +got):\n%s", diff)
	}
	// The old commit's job arriving late posts nothing.
	res = e.review(t, sha1)
	if res.Outcome != mrreview.OutcomeStale {
		t.Errorf("late job for the old head: outcome %s, want stale", res.Outcome)
	}
}

func ids(ns []gitlabtest.Note) []int64 {
	var out []int64
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

func TestNoteExistsOnceAfterServerError(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
	e.gl.Fail(gitlabtest.Fault{Route: gitlabtest.RouteCreateNote, Status: 500, Apply: true})
	e.gl.Fail(gitlabtest.Fault{Route: gitlabtest.RouteCreateDiscussion, Status: 502, Apply: true})
	e.review(t, sha1)
	if n := len(summaries(e.gl)); n != 1 {
		t.Errorf("%d summary notes, want exactly 1", n)
	}
	if n := len(threads(e.gl)); n != 2 {
		t.Errorf("%d threads, want exactly 2", n)
	}
}

func TestFindingOutsideDiffOnlyInSummary(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// An existing migration gains a line; its old statement has a finding
	// on a line the MR does not add.
	e.gl.SetFile(pid, base, "db/migrations/001_idx.sql", "CREATE INDEX i1 ON orders (id);\n")
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/001_idx.sql", Content: "CREATE INDEX i1 ON orders (id);\nCREATE INDEX i2 ON orders (user_id);\n"})
	res := e.review(t, sha1)
	if res.Inline != 1 {
		t.Errorf("%d inline, want 1", res.Inline)
	}
	// Both are in the summary's table; only the added line has a thread.
	rows := map[string]string{}
	for _, l := range strings.Split(summaries(e.gl)[0].Body, "\n") {
		for _, where := range []string{"001_idx.sql:1`", "001_idx.sql:2`"} {
			if strings.Contains(l, where) {
				rows[where] = l
			}
		}
	}
	if r := rows["001_idx.sql:1`"]; r == "" || strings.Contains(r, "[thread]") {
		t.Errorf("finding outside the diff: row %q, want a row without a thread", r)
	}
	if r := rows["001_idx.sql:2`"]; !strings.Contains(r, "[thread]") {
		t.Errorf("finding on an added line: row %q, want a link to its thread", r)
	}
}

func TestNoMigrationsNoNoise(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "README.md", Content: "changed\n"})
	res := e.review(t, sha1)
	if res.Outcome != mrreview.OutcomeNoMigrations || len(e.gl.Notes(pid, iid)) != 0 || len(e.gl.Statuses(pid)) != 0 {
		t.Errorf("outcome %s, %d notes, %d statuses; want no-migrations and nothing posted", res.Outcome, len(e.gl.Notes(pid, iid)), len(e.gl.Statuses(pid)))
	}
}

func TestInvalidConfigReported(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: ".pgai.yml", Content: "pg_version: banana\n"},
		gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
	res := e.review(t, sha1)
	if res.Outcome != mrreview.OutcomeConfigError {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if body := summaries(e.gl)[0].Body; !strings.Contains(body, "banana") {
		t.Errorf("summary does not explain the config error:\n%s", body)
	}
	if diff := cmp.Diff([]string{"aaaa pending", "aaaa failed"}, statuses(e.gl)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestConfigPaths(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: ".pgai.yml", Content: "paths: [db/migrations]\n" + onlyRule("index-create-nonconcurrent")},
		gitlabtest.Change{Path: "scripts/adhoc.sql", Content: "CREATE INDEX x ON orders (id);\n"},
		gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
	res := e.review(t, sha1)
	var paths []string
	for _, f := range res.Report.Files {
		paths = append(paths, f.Path)
	}
	if diff := cmp.Diff([]string{"db/migrations/002_indexes.sql"}, paths); diff != "" {
		t.Errorf("reviewed (-want +got):\n%s", diff)
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		author int64
		text   string
		want   []string // substrings of the reply
		review bool     // a summary note appears
	}{
		{"guest refused", 6, "/pgai review", []string{"need at least Developer access", "you have Guest"}, false},
		{"stranger refused", 8, "/pgai help", []string{"need at least Developer access"}, false},
		{"help", 5, "/pgai help", []string{"`/pgai explain RULE-ID`", "not configured here"}, false},
		{"bare prefix is help", 5, "/pgai", []string{"`/pgai review`"}, false},
		{"explain", 5, "/pgai explain index-create-nonconcurrent", []string{"**`index-create-nonconcurrent`**", "**Fix:**", "CONCURRENTLY"}, false},
		{"explain unknown", 5, "/pgai explain index-create", []string{"There is no rule `index-create`", "index-create-nonconcurrent"}, false},
		{"ask not configured", 5, "/pgai ask why is this slow?", []string{"`ask` is not configured on this reviewer"}, false},
		{"unknown", 5, "/pgai frobnicate now", []string{"I don't know the command `frobnicate`"}, false},
		{"review", 7, "/pgai review", []string{"Reviewed commit `aaaa1111` again", "2 blocking"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
			noteID, did := e.gl.AddUserNote(pid, iid, tt.author, tt.text)
			cmd := webhook.Command{ProjectID: pid, MRIID: iid, NoteID: noteID, DiscussionID: did, AuthorID: tt.author,
				AuthorUsername: fmt.Sprintf("user%d", tt.author), Text: tt.text, HeadSHA: sha1}
			if err := e.rev.Command(t.Context(), cmd); err != nil {
				t.Fatal(err)
			}
			// Re-running the job (a retry) must not answer twice.
			if err := e.rev.Command(t.Context(), cmd); err != nil {
				t.Fatal(err)
			}
			var thread *gitlabtest.Discussion
			for _, d := range e.gl.Discussions(pid, iid) {
				if d.ID == did {
					thread = &d
				}
			}
			if thread == nil || len(thread.Notes) != 2 {
				t.Fatalf("thread %+v: want the command and one answer", thread)
			}
			cmdNote, reply := thread.Notes[0], thread.Notes[1]
			if diff := cmp.Diff([]string{fmt.Sprintf("eyes:%d", botID)}, cmdNote.Awards); diff != "" {
				t.Errorf("awards (-want +got):\n%s", diff)
			}
			for _, w := range tt.want {
				if !strings.Contains(reply.Body, w) {
					t.Errorf("reply lacks %q:\n%s", w, reply.Body)
				}
			}
			for _, l := range strings.Split(reply.Body, "\n") {
				if strings.HasPrefix(l, "/") {
					t.Errorf("reply line starts with /: %q", l)
				}
			}
			if got := len(summaries(e.gl)) == 1; got != tt.review {
				t.Errorf("summary posted = %v, want %v", got, tt.review)
			}
		})
	}
}

// onlyRule is a .pgai.yml that turns off every rule but id, so the tests
// do not change when rules are added.
func onlyRule(id string) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	for _, r := range checks.All() {
		if r.ID != id {
			fmt.Fprintf(&b, "  %s: off\n", r.ID)
		}
	}
	return b.String()
}

func TestNonLinearHistory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, add string
		want      bool
	}{
		{name: "added before an existing migration", add: "db/2_x.up.sql", want: true},
		{name: "appended", add: "db/4_z.up.sql", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.gl.SetFile(pid, base, ".pgai.yml", onlyRule("non-linear-history"))
			e.gl.SetFile(pid, base, "db/1_a.up.sql", "CREATE TABLE a (id bigint);\n")
			e.gl.SetFile(pid, base, "db/3_y.up.sql", "CREATE TABLE y (id bigint);\n")
			e.gl.SetFile(pid, base, "db/3_y.down.sql", "DROP TABLE y;\n")
			e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: tt.add, Content: "CREATE TABLE x (id bigint);\n"})
			res := e.review(t, sha1)
			var rules []string
			for _, f := range res.Report.Findings {
				rules = append(rules, f.Rule+" "+f.Path)
			}
			var want []string
			if tt.want {
				want = []string{"non-linear-history " + tt.add}
			}
			if diff := cmp.Diff(want, rules); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			sums := summaries(e.gl)
			if len(sums) != 1 {
				t.Fatalf("%d summary notes, want 1", len(sums))
			}
			if got := strings.Contains(sums[0].Body, "non-linear-history"); got != tt.want {
				t.Errorf("summary mentions non-linear-history = %v, want %v:\n%s", got, tt.want, sums[0].Body)
			}
			// The existing files are read for their order only.
			if strings.Contains(sums[0].Body, "3_y.down.sql") {
				t.Errorf("summary lists an existing file:\n%s", sums[0].Body)
			}
			if n := e.gl.CountCalls(gitlabtest.RouteTree); n != 1 {
				t.Errorf("%d tree listings, want 1", n)
			}
		})
	}
}

// A directory of many migrations: every one is read (the whole history is
// the context), and the finding names the first that follows the added
// file in numeric order (10 after 2).
func TestNonLinearHistoryReadsWholeDirectory(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.SetFile(pid, base, ".pgai.yml", onlyRule("non-linear-history"))
	e.gl.SetFile(pid, base, "db/1_a.up.sql", "CREATE TABLE a (id bigint);\n")
	for i := 10; i < 40; i++ {
		e.gl.SetFile(pid, base, fmt.Sprintf("db/%d_m.up.sql", i), fmt.Sprintf("CREATE TABLE m%d (id bigint);\n", i))
	}
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/2_x.up.sql", Content: "CREATE TABLE x (id bigint);\n"})
	res := e.review(t, sha1)
	var got []string
	for _, f := range res.Report.Findings {
		got = append(got, f.Rule+": "+f.Message)
	}
	want := []string{"non-linear-history: New migration db/2_x.up.sql sorts before db/10_m.up.sql, which already exists: " +
		"databases that ran db/10_m.up.sql will not apply it in order."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// Blobs: 1_a, 2_x, the 30 others and db/migrations/001_init.sql;
	// files: .pgai.yml, db/Cargo.toml and Cargo.toml (absent: no sqlx).
	if n := e.gl.CountCalls(gitlabtest.RouteRawBlob); n != 33 {
		t.Errorf("%d blob reads, want 33", n)
	}
	if n := e.gl.CountCalls(gitlabtest.RouteRawFile); n != 3 {
		t.Errorf("%d raw file reads, want 3", n)
	}
}

// In CI the checkout is listed instead of the API.
func TestNonLinearHistoryFromCheckout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/2_x.up.sql", Content: "CREATE TABLE x (id bigint);\n"})
	dir := t.TempDir()
	for p, content := range map[string]string{
		".pgai.yml":     onlyRule("non-linear-history"),
		"db/1_a.up.sql": "CREATE TABLE a (id bigint);\n",
		"db/2_x.up.sql": "CREATE TABLE x (id bigint);\n",
		"db/3_y.up.sql": "CREATE TABLE y (id bigint);\n",
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.rev.Run(t.Context(), review.Job{ProjectID: pid, MRIID: iid, HeadSHA: sha1}, mrreview.Checkout(dir))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Report.Findings {
		got = append(got, f.Rule+" "+f.Path)
	}
	if diff := cmp.Diff([]string{"non-linear-history db/2_x.up.sql"}, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if n := e.gl.CountCalls(gitlabtest.RouteTree); n != 0 {
		t.Errorf("%d tree listings through the API, want 0", n)
	}
}
