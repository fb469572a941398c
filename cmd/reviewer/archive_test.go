package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/internal/ui"
	"gitlab.com/pgai/reviewer/webhook"
)

// TestReviewArchivedAndLinked is the acceptance case: a review
// with a clone run posts a summary that links the review's page; the page
// shows the findings, the escaped migration text and an SVG lock
// timeline; /ui/ lists it; a POST is refused; a private project's review
// is neither linked nor shown.
func TestReviewArchivedAndLinked(t *testing.T) {
	t.Parallel()
	const (
		token   = "glpat-bot"
		pid     = 42
		private = 43
		iid     = 7
		base    = "base000000000000000000000000000000000000"
		sha     = "aaaa111111111111111111111111111111111111"
		mig     = "db/migrations/002_email.sql"
	)
	ctx := t.Context()
	own := pgtest.New(t) // the reviewer's own database
	pool := own.Pool(t)
	if err := archive.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	store := archive.NewStore(pool)
	src := pgtest.New(t) // the database the clones are made from
	src.Exec(t, "CREATE TABLE orders (id bigint PRIMARY KEY, email text); INSERT INTO orders SELECT g, 'u' || g FROM generate_series(1, 20000) g")
	lp, err := localpg.New(localpg.Options{SourceDSN: src.URL, Prefix: "pgai_ui" + strings.TrimPrefix(src.Name, "pgtest_") + "_"})
	if err != nil {
		t.Fatal(err)
	}

	gl := gitlabtest.New(t)
	gl.AddUser(token, gitlabtest.User{ID: 99, Username: "pgai-bot"})
	for _, p := range []int64{pid, private} {
		gl.SetFile(p, base, "db/migrations/001_init.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, email text);\n")
		gl.AddMR(gitlabtest.MR{ProjectID: p, IID: iid, Title: `Email lookup <img src=x onerror=alert(1)>`, BaseSHA: base, AuthorID: 5})
		gl.Push(p, iid, sha, gitlabtest.Change{Path: mig, Content: "-- <script>alert('pwned')</script>\nCREATE INDEX orders_email_idx ON orders (email);\n"})
	}
	api, err := gitlab.New(gitlab.Options{BaseURL: gl.URL, Token: token, CreateRetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ropts := mrreview.Options{GitLab: api, Logger: log, CloneSource: "a test database",
		Experimenter: &dblab.Runner{Provider: lp, Options: dblab.Options{Logger: log}, Logger: log}}
	// Which project is private is decided by path; find the fake's paths.
	probe, err := api.MergeRequest(ctx, gitlab.MR{ProjectID: private, IID: iid})
	if err != nil {
		t.Fatal(err)
	}
	hide, err := archive.ParseVisibility([]string{archive.ProjectPathOf(probe.WebURL)})
	if err != nil || archive.ProjectPathOf(probe.WebURL) == "" {
		t.Fatalf("private project path from %q: %v", probe.WebURL, err)
	}
	archiveHooks(&ropts, store, archive.Links{PublicURL: "https://reviewer.example.com", Visibility: hide}, log)
	rev := mrreview.New(ropts)
	results := map[int64]*mrreview.Result{}
	for _, p := range []int64{pid, private} {
		res, err := rev.Run(ctx, review.Job{ProjectID: p, MRIID: iid, HeadSHA: sha}, mrreview.GitLabTree{API: api, ProjectID: p, SHA: sha})
		if err != nil {
			t.Fatalf("review of project %d: %v", p, err)
		}
		results[p] = res
	}
	if n := len(results[pid].Report.Measurements); n == 0 {
		t.Fatal("no clone measurements in the report")
	}
	pagePath := "/ui/reviews/42/7/" + sha
	if !strings.Contains(results[pid].Summary, "https://reviewer.example.com"+pagePath) {
		t.Errorf("the summary does not link the review's page:\n%s", results[pid].Summary)
	}
	if strings.Contains(results[private].Summary, "reviewer.example.com") {
		t.Errorf("the private project's summary links the UI:\n%s", results[private].Summary)
	}

	pages, err := ui.New(ui.Options{Reviews: store, Experiments: store, Hide: hide, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withUI(http.NotFoundHandler(), pages))
	defer srv.Close()
	get := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := get(http.MethodGet, pagePath)
	if code != 200 {
		t.Fatalf("GET %s: %d\n%s", pagePath, code, body)
	}
	for _, want := range []string{
		"index-create-nonconcurrent",                             // the finding
		`-- &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;`, // the migration, escaped
		`Email lookup &lt;img src=x onerror=alert(1)&gt;`,        // the MR title, escaped
		`<svg viewBox="0 0 960`, `class="tl-bar blk-writes"`,     // the lock timeline: SHARE on orders blocks writes
		"orders_email_idx",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("review page: no %q", want)
		}
	}
	if regexp.MustCompile(`(?i)<\s*(script|img)`).MatchString(body) {
		t.Error("review page: unescaped markup from the merge request")
	}
	if strings.Contains(body, "This run did not record when each lock was taken") {
		t.Error("the clone run did not record lock acquire and release times")
	}
	if code, body := get(http.MethodGet, "/ui/"); code != 200 || !strings.Contains(body, `href="`+pagePath+`"`) || strings.Contains(body, "/ui/reviews/43/") {
		t.Errorf("GET /ui/: %d; want the public review listed and the private one not", code)
	}
	if code, _ := get(http.MethodPost, pagePath); code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", pagePath, code)
	}
	if code, _ := get(http.MethodGet, "/ui/reviews/43/7/"+sha); code != http.StatusNotFound {
		t.Errorf("private review page: %d, want 404", code)
	}
	if code, _ := get(http.MethodGet, "/healthz-not-ui"); code != http.StatusNotFound {
		t.Errorf("other paths do not reach the next handler: %d", code)
	}
}

func TestServiceConfigUI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url     string
		private []string
		ok      bool
	}{
		{"", nil, true},
		{"https://reviewer.example.com", []string{"42", "acme/secret"}, true},
		{"reviewer.example.com", nil, false},
		{"https://user:pw@reviewer.example.com", nil, false},
		{"https://reviewer.example.com", []string{"-1"}, false},
	} {
		c := &serviceConfig{GitLabURL: "https://gitlab.example.com", GitLabToken: "t", WebhookSecret: "s", DatabaseURL: "postgres://x",
			MinAccess: "developer", PublicURL: tc.url, PrivateProjects: tc.private}
		if err := c.validate(true); (err == nil) != tc.ok {
			t.Errorf("public_url %q private %v: %v", tc.url, tc.private, err)
		}
	}
}

// TestExperimentCommandArchived: /pgai experiment runs on a clone, the
// run is archived with its merge request and the reply links its page;
// a private project's run is archived but neither linked nor shown.
func TestExperimentCommandArchived(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.New(t).Pool(t)
	if err := archive.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	store := archive.NewStore(pool)
	src := pgtest.New(t)
	src.Exec(t, "CREATE TABLE t (id int)")
	lp, err := localpg.New(localpg.Options{SourceDSN: src.URL, Prefix: "pgai_uc" + strings.TrimPrefix(src.Name, "pgtest_") + "_"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	links := archive.Links{PublicURL: "https://reviewer.example.com", Visibility: archive.Visibility{PrivatePaths: []string{"acme/secret"}}}
	var cmd *mrreview.Command
	for _, c := range agent.Commands(agent.MROptions{Experimenter: recordingExperimenter{&dblab.Runner{Provider: lp, Logger: log}}, Logger: log}) {
		archiveExperiments(c, store, links, log)
		if c.Name == "experiment" {
			cmd = c
		}
	}
	if cmd == nil || cmd.Run == nil {
		t.Fatal("no experiment command")
	}
	for _, tc := range []struct {
		project int64
		path    string
		linked  bool
	}{{42, "acme/shop", true}, {43, "acme/secret", false}} {
		in := &mrreview.Invocation{Args: "LOCK TABLE t IN ACCESS EXCLUSIVE MODE;", Cmd: webhook.Command{AuthorUsername: "alice"},
			MR: gitlab.MergeRequest{ProjectID: tc.project, IID: 7, SHA: "abc", WebURL: "https://gitlab.example.com/" + tc.path + "/-/merge_requests/7"}}
		reply, err := cmd.Run(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(reply, "https://reviewer.example.com/ui/experiments/"); got != tc.linked {
			t.Errorf("%s: reply links the page: %v, want %v\n%s", tc.path, got, tc.linked, reply)
		}
	}
	list, err := store.Experiments(ctx, links.Visibility, 10, 0)
	if err != nil || len(list) != 1 || list[0].ProjectPath != "acme/shop" || list[0].Title != "/pgai experiment on !7 by @alice" || list[0].Statements != 1 {
		t.Fatalf("public experiments = %+v, %v", list, err)
	}
	e, err := store.Experiment(ctx, list[0].ID)
	if err != nil || len(e.Files) != 1 || !strings.Contains(e.Files[0].Text, "LOCK TABLE t") || len(e.Measurements[0].Locks) == 0 {
		t.Fatalf("experiment = %+v, %v", e, err)
	}
	if all, _ := store.Experiments(ctx, archive.Visibility{}, 10, 0); len(all) != 2 {
		t.Errorf("%d experiments stored, want 2 (the private one too, hidden)", len(all))
	}
}
