package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/sqlparse"

	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/internal/ui"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// chromium finds the browser: PGAI_CHROMIUM, else Debian's chromium. It
// skips the test when there is none, but fails it under CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PGAI_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium (apt-get install chromium chromium-driver, as scripts/setup does): the browser test must run in CI")
	}
	t.Skip("no Chromium; install the Debian packages chromium and chromium-driver")
	return ""
}

// TestBrowser opens a stored review (and its experiment) read from the
// real archive store, a benchmark run and a conversation in headless
// Chromium, checks what the pages show, and saves a screenshot of each
// (go test -artifacts -outputdir DIR keeps them) with the pages' weights.
func TestBrowser(t *testing.T) {
	browser := chromium(t)
	ctx := t.Context()
	pool := pgtest.New(t).Pool(t)
	if err := archive.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	store := archive.NewStore(pool)
	if err := store.SaveReview(ctx, shopReview()); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveReview(ctx, secretReview()); err != nil {
		t.Fatal(err)
	}
	stored, err := store.Review(ctx, shopKey)
	if err != nil {
		t.Fatal(err)
	}
	measuredID := measuredExperiment(t, store)
	hide, _ := archive.ParseVisibility([]string{"acme/secret-project"})
	h, err := ui.New(ui.Options{Reviews: store, Experiments: store, Benchmarks: newMemBench(), Conversations: newMemChat(), Hide: hide})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	out := t.ArtifactDir()
	// A fresh profile; Chromium's helper processes may still write to it
	// for a moment after the browser exits, so it is removed with retries.
	profile, err := os.MkdirTemp("", "pgai-ui-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Logf("could not remove the Chromium profile %s", profile)
	})
	alloc, cancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	defer cancel()
	bctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 8*time.Minute) // generous: CI runs every package at once on 2 cores
	defer cancel()

	type check struct {
		js   string // evaluates to a string
		want string // substring of the result
	}
	pages := []struct {
		name, path, wait string
		checks           []check
	}{
		{"reviews", "/ui/", "#reviews", []check{
			{`document.querySelector('#reviews tbody').innerText`, "Add order email lookup <script>"},
			{`String(document.querySelectorAll('#reviews tbody tr').length)`, "1"}, // the private project's review is not listed
		}},
		{"review", "/ui/" + shopKey.Path(), "svg.tl", []check{
			{`document.querySelector('#finding-1').innerText`, "require-concurrent-index"},
			{`document.querySelector('#finding-1').innerText`, "CREATE INDEX CONCURRENTLY orders_email_idx ON orders (email);"},
			{`document.querySelector('#f1-L2').textContent`, `-- <script>alert("pwned")</script>`},
			{`String(document.querySelectorAll('script').length)`, "0"},
			{`String(document.querySelectorAll('svg.tl .tl-bar').length)`, "4"},
			{`document.querySelector('svg.tl').textContent`, "orders_email_idx"},
			{`getComputedStyle(document.querySelector('.tl-bar.blk-reads rect')).fill`, "rgb(201, 55, 44)"}, // the stylesheet applies
		}},
		{"experiment", fmt.Sprintf("/ui/experiments/%d", stored.ExperimentID), "svg.tl", []check{
			{`document.querySelector('.counts').innerText`, "3 statements, 2.46 s"},
			{`document.querySelector('table.meas').innerText`, "UPDATE orders SET email"},
			{`document.querySelector('#plan-3 pre').innerText`, "Index Scan on orders using orders_pkey"},
			{`String(document.querySelectorAll('svg.tl .tl-stmt').length)`, "3"},
		}},
		{"experiment-measured", fmt.Sprintf("/ui/experiments/%d", measuredID), "svg.tl", []check{
			{`String(document.querySelectorAll('svg.tl .tl-bar').length >= 3)`, "true"},
			{`document.querySelector('figure.timeline').innerText.includes('did not record') ? 'approximate' : 'measured'`, "measured"},
			{`document.querySelector('table.meas').innerText`, "ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2)"},
			{`document.querySelector('.counts').innerText`, "rewritten orders"},
		}},
		{"benchmark", "/ui/benchmarks/run-7", "svg.chart", []check{
			{`String(document.querySelectorAll('svg.chart polyline').length)`, "2"},
			{`document.querySelector('#results-table').innerText`, "90,720"},
			{`document.querySelector('#artifacts-table').innerText`, "pgbench-head.log"},
			{`document.body.innerText.includes('hunter2') ? 'leaked' : 'redacted'`, "redacted"},
		}},
		{"conversation", "/ui/conversations/c-3", "ol.chat", []check{
			{`String(document.querySelectorAll('ol.chat > li.turn').length)`, "3"},
			{`document.querySelector('#m3 .cites a').href`, "https://www.postgresql.org/docs/current/sql-createindex.html"},
			{`document.querySelector('#m1').innerText`, `<script>alert("pwned")</script>`},
			{`String(document.querySelectorAll('script').length)`, "0"},
		}},
	}
	var weights strings.Builder
	cssBytes := weigh(t, srv.URL+"/ui/style.css")
	for _, p := range pages {
		var shot []byte
		results := make([]string, len(p.checks))
		actions := []chromedp.Action{chromedp.Navigate(srv.URL + p.path), chromedp.WaitVisible(p.wait, chromedp.ByQuery)}
		for i, c := range p.checks {
			actions = append(actions, chromedp.Evaluate(c.js, &results[i]))
		}
		actions = append(actions, chromedp.FullScreenshot(&shot, 100))
		if err := chromedp.Run(bctx, actions...); err != nil {
			t.Fatalf("%s page: %v", p.name, err)
		}
		for i, c := range p.checks {
			if !strings.Contains(results[i], c.want) {
				t.Errorf("%s page: %s = %q, want it to contain %q", p.name, c.js, clipText(results[i]), c.want)
			}
		}
		file := filepath.Join(out, p.name+".png")
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		n := weigh(t, srv.URL+p.path)
		fmt.Fprintf(&weights, "%-13s %7d bytes HTML + %d bytes CSS  %s  (%s)\n", p.name, n, cssBytes, p.path, file)
	}
	if err := os.WriteFile(filepath.Join(out, "weights.txt"), []byte(weights.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s; page weights:\n%s", out, weights.String())
}

func weigh(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return len(b)
}

func clipText(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// measuredExperiment runs a migration on a real clone (localpg) and
// stores what it measured, so that one experiment page shows real lock
// times.
func measuredExperiment(t *testing.T, store *archive.Store) int64 {
	t.Helper()
	src := pgtest.New(t)
	src.Exec(t, "CREATE TABLE orders (id bigint PRIMARY KEY, email text, total numeric); "+
		"INSERT INTO orders SELECT g, 'user' || g || '@example.com', g % 1000 FROM generate_series(1, 200000) g; ANALYZE orders")
	lp, err := localpg.New(localpg.Options{SourceDSN: src.URL, Prefix: "pgai_ui" + strings.TrimPrefix(src.Name, "pgtest_") + "_"})
	if err != nil {
		t.Fatal(err)
	}
	const path = "db/migrations/20261204120000_orders_email.sql"
	const sql = `BEGIN;
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX orders_email_idx ON orders (email);
UPDATE orders SET note = 'vip' WHERE total > 990;
ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2);
COMMIT;
`
	f := sqlparse.ParseFile(path, []byte(sql), sqlparse.Options{})
	runner := &dblab.Runner{Provider: lp, Request: dblab.CloneRequest{TTL: time.Hour}}
	res, err := runner.Run(t.Context(), []*sqlparse.File{f})
	if err != nil {
		t.Fatal(err)
	}
	id, err := store.SaveExperiment(t.Context(), &archive.Experiment{ProjectID: 11, ProjectPath: "acme/shop", Title: "orders: email index and a total type change",
		Source: archive.SourceCLI, Files: []archive.Migration{{Path: path, Text: sql}}, Measurements: res.Measurements, DurationMS: res.DurationMS})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
