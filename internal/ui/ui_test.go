package ui_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/ui"
)

func newHandler(t *testing.T, o ui.Options) *ui.Handler {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(tlog{t}, nil))
	}
	h, err := ui.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func fullOptions() ui.Options {
	hide, _ := archive.ParseVisibility([]string{"acme/secret-project"})
	m := newMemArchive(shopReview(), secretReview())
	return ui.Options{Reviews: m, Experiments: m, Benchmarks: newMemBench(), Conversations: newMemChat(), Hide: hide}
}

func get(t *testing.T, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) { l.t.Log(strings.TrimSpace(string(b))); return len(b), nil }

var reviewPath = "/ui/" + shopKey.Path()

func TestPages(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fullOptions())
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/ui/", []string{`<table class="data list" id="reviews">`, `href="` + reviewPath + `"`, "acme/shop", "3f2a9c1d", ">blocking<", "2 h ago", `<option value="acme/shop">`}},
		{"/ui/?verdict=clean", []string{"No review matches these filters."}},
		{"/ui/?q=email+lookup", []string{`href="` + reviewPath + `"`}},
		{"/ui/?q=payroll", []string{"No review matches these filters."}},
		{reviewPath, []string{
			"require-concurrent-index", "blocking", // findings, blocking first
			`href="#f1-L4"`, `id="f1-L4"`, // line anchors from the finding to the migration
			"SHARE lock on orders", "CREATE INDEX CONCURRENTLY orders_email_idx ON orders (email);", // why and fix
			"SHARE on orders held 2.46 s — blocked writes",                                                      // evidence
			`<svg viewBox="0 0 960`, `class="tl-bar blk-reads"`, `class="tl-bar blk-writes"`, `class="tl-stmt"`, // the lock timeline
			"ACCESS EXCLUSIVE", "2.41 s", "rewrite", "Index Scan on orders using orders_pkey", // measurements, plans
			"183 MB → 183 MB", "40 MB → 61 MB", // sizes
			"pg-reviewer:summary v1", // the posted note
			`href="/ui/experiments/1"`,
		}},
		{"/ui/experiments/", []string{`href="/ui/experiments/1"`, "Clone run of the review of !42", "2.46 s"}},
		{"/ui/experiments/1", []string{`<svg viewBox="0 0 960`, "orders_email_idx", "3 statements, 2.46 s", `href="` + reviewPath + `"`, `id="s1-L4"`, "<code>orders</code>"}},
		{"/ui/benchmarks/", []string{`href="/ui/benchmarks/run-7"`, "1,512 tps"}},
		{"/ui/benchmarks/run-7", []string{"pgbench -c 8", `<polyline class="line series0"`, "!42 head", "90,720",
			`href="/ui/benchmarks/run-7/artifacts/pgbench-head.log"`, "download"}},
		{"/ui/conversations/", []string{`href="/ui/conversations/c-3"`, "Is the index on orders.email safe to add?"}},
		{"/ui/conversations/c-3", []string{"run_experiment", "SHARE lock on orders", "Building Indexes Concurrently", "alice", "role-assistant"}},
	} {
		res, body := get(t, h, http.MethodGet, tc.path)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", tc.path, res.StatusCode, body)
			continue
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", tc.path, ct)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in the page", tc.path, w)
			}
		}
	}
	res, body := get(t, h, http.MethodGet, "/ui/style.css")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, ".tl-bar") {
		t.Errorf("style.css: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fullOptions())
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for _, p := range []string{"/ui/", reviewPath, "/ui/experiments/1", "/ui/benchmarks/run-7/artifacts/pgbench-head.log"} {
			res, _ := get(t, h, m, p)
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q; want 405 with Allow: GET, HEAD", m, p, res.StatusCode, res.Header.Get("Allow"))
			}
		}
	}
	res, body := get(t, h, http.MethodHead, reviewPath)
	if res.StatusCode != http.StatusOK || body != "" || res.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", res.StatusCode, len(body), res.Header.Get("Content-Length"))
	}
}

// TestHTMLInjection: a migration comment, an MR title, a finding message,
// the posted note, a benchmark title and the model's answer all carry a
// <script> element; every page shows it as text.
func TestHTMLInjection(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fullOptions())
	tag := regexp.MustCompile(`(?i)<\s*script`)
	for _, p := range []string{"/ui/", reviewPath, "/ui/experiments/1", "/ui/benchmarks/", "/ui/benchmarks/run-7", "/ui/conversations/c-3", "/ui/?q=" + "%3Cscript%3E"} {
		res, body := get(t, h, http.MethodGet, p)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, res.StatusCode)
		}
		if loc := tag.FindStringIndex(body); loc != nil {
			t.Errorf("GET %s: unescaped script element: …%s…", p, body[max(loc[0]-80, 0):min(loc[1]+80, len(body))])
		}
	}
	_, body := get(t, h, http.MethodGet, "/ui/conversations/c-3")
	if strings.Contains(strings.ToLower(body), "javascript:") {
		t.Error("a javascript: URL from the model is linked")
	}
	_, body = get(t, h, http.MethodGet, reviewPath)
	if !strings.Contains(body, `-- &lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;`) {
		t.Error("the migration's comment is not shown, escaped, on the review page")
	}
	// An HTML artifact is never rendered as a page of ours: it downloads,
	// sandboxed.
	res, _ := get(t, h, http.MethodGet, "/ui/benchmarks/run-7/artifacts/report.html")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("HTML artifact: %d, disposition %q, CSP %q", res.StatusCode, res.Header.Get("Content-Disposition"), res.Header.Get("Content-Security-Policy"))
	}
}

func TestNoSecrets(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fullOptions())
	for _, p := range []string{"/ui/benchmarks/run-7", "/ui/conversations/c-3"} {
		_, body := get(t, h, http.MethodGet, p)
		for _, s := range []string{"hunter2", "topsecret"} {
			if strings.Contains(body, s) {
				t.Errorf("GET %s shows the password %q", p, s)
			}
		}
		if !strings.Contains(body, "REDACTED") {
			t.Errorf("GET %s: no REDACTED in place of the credential", p)
		}
	}
}

func TestPrivateProjects(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fullOptions())
	_, list := get(t, h, http.MethodGet, "/ui/")
	for _, s := range []string{"secret-project", "payroll", secretKey.HeadSHA[:8]} {
		if strings.Contains(list, s) {
			t.Errorf("the review list shows %q of a private project", s)
		}
	}
	for _, p := range []string{"/ui/" + secretKey.Path(), "/ui/?project=acme/secret-project&q=payroll"} {
		res, body := get(t, h, http.MethodGet, p)
		if strings.Contains(body, "Top secret payroll change") {
			t.Errorf("GET %s: %d shows the private review", p, res.StatusCode)
		}
	}
	if res, _ := get(t, h, http.MethodGet, "/ui/"+secretKey.Path()); res.StatusCode != http.StatusNotFound {
		t.Errorf("private review: %d, want 404", res.StatusCode)
	}
	// Without the setting the same project is public.
	m := newMemArchive(secretReview())
	h2 := newHandler(t, ui.Options{Reviews: m, Experiments: m})
	if res, body := get(t, h2, http.MethodGet, "/ui/"+secretKey.Path()); res.StatusCode != 200 || !strings.Contains(body, "payroll") {
		t.Errorf("public review: %d", res.StatusCode)
	}
}

func TestNotStored(t *testing.T) {
	t.Parallel()
	m := newMemArchive(shopReview())
	h := newHandler(t, ui.Options{Reviews: m, Experiments: m})
	for _, p := range []string{"/ui/benchmarks/", "/ui/conversations/"} {
		res, body := get(t, h, http.MethodGet, p)
		if res.StatusCode != 200 || !strings.Contains(body, "not stored on this reviewer") {
			t.Errorf("GET %s: %d, want the not-stored state\n%s", p, res.StatusCode, body)
		}
	}
	for _, p := range []string{"/ui/benchmarks/run-7", "/ui/conversations/c-3", "/ui/benchmarks/run-7/artifacts/x"} {
		if res, _ := get(t, h, http.MethodGet, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fullOptions())
	for _, p := range []string{"/ui/reviews/11/42/nope", "/ui/reviews/x/42/abc", "/ui/experiments/999", "/ui/experiments/abc",
		"/ui/benchmarks/nope", "/ui/benchmarks/run-7/artifacts/unlisted.txt", "/ui/conversations/nope", "/ui/nothing"} {
		if res, _ := get(t, h, http.MethodGet, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
}

func TestArtifactDownload(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fullOptions())
	res, body := get(t, h, http.MethodGet, "/ui/benchmarks/run-7/artifacts/pgbench-head.log")
	if res.StatusCode != 200 || !strings.HasPrefix(body, "progress: 1.0 s") || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
		t.Errorf("view: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	res, _ = get(t, h, http.MethodGet, "/ui/benchmarks/run-7/artifacts/pgbench-head.log?download=1")
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename=pgbench-head.log` {
		t.Errorf("download: Content-Disposition %q", cd)
	}
}

func TestStatementNotRun(t *testing.T) {
	t.Parallel()
	r := shopReview()
	r.Report.Measurements[1].Error, r.Report.Measurements[1].SQLState = "could not create unique index", "23505"
	r.Report.Measurements[2] = dblab.Measurement{Path: r.Report.Measurements[2].Path, Line: 5, Statement: "UPDATE orders SET email = lower(email) WHERE id < 1000;",
		Rows: -1, Status: dblab.StatusNotRun, Note: "stopped after line 4 failed"}
	m := newMemArchive(r)
	h := newHandler(t, ui.Options{Reviews: m, Experiments: m})
	_, body := get(t, h, http.MethodGet, "/ui/experiments/1")
	for _, want := range []string{`<tr class="notrun">`, "not run (stopped after line 4 failed)", `<tr class="failed">`, "ERROR 23505: could not create unique index"} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q", want)
		}
	}
}
