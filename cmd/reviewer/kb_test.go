package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/kb"
)

func TestMain(m *testing.M) {
	if os.Getenv("PGAI_TEST_RUN_MAIN") == "1" {
		// The test binary plays the reviewer binary (signal tests).
		os.Args = append([]string{"reviewer"}, strings.Fields(os.Getenv("PGAI_TEST_ARGS"))...)
		main()
	}
	pgtest.Main(m)
}

// runKBTest runs "reviewer kb ..." and returns exit code, stdout, stderr.
func runKBTest(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), append([]string{"kb"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// No t.Parallel: the test sets environment variables.
func TestKBCommand(t *testing.T) {
	db := pgtest.New(t)
	t.Setenv("PGAI_DATABASE_URL", db.URL)
	t.Setenv("PGAI_OPENAI_API_KEY", "")
	t.Setenv("OPENAI_API_KEY", "")
	docs := filepath.Join("..", "..", "kb", "testdata", "docs")

	code, out, errOut := runKBTest(t, "ingest", "--docs", docs, "--rules")
	if code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"docs:15: 4 documents: 4 added", "rules: ", "embeddings: none (no API key"} {
		if !strings.Contains(out, want) {
			t.Errorf("ingest output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "100%") {
		t.Errorf("no progress on stderr:\n%s", errOut)
	}

	code, out, errOut = runKBTest(t, "search", "why does SET NOT NULL scan the whole table", "--json", "--limit", "3", "--kind", "docs")
	if code != 0 {
		t.Fatalf("search: exit %d\n%s", code, errOut)
	}
	var res struct {
		Query   string           `json:"query"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Query != "why does SET NOT NULL scan the whole table" {
		t.Fatalf("search --json: %v\n%s", err, out)
	}
	for _, k := range []string{`"searched_for": "why`, `"corrections": []`, `"not_found": []`, `"suggestions": []`, `"note": ""`} {
		if !strings.Contains(out, k) {
			t.Errorf("search --json lacks %s: the object has every key in every case\n%s", k, out)
		}
	}
	rs := res.Results
	if len(rs) == 0 || rs[0]["url"] != "https://www.postgresql.org/docs/15/sql-altertable.html#id-1.9.3.35.5" {
		t.Fatalf("search: first result %v", rs)
	}
	for _, k := range []string{"title", "url", "author", "kind", "snippet", "score"} {
		if v, ok := rs[0][k]; !ok || v == "" {
			t.Errorf("result field %s missing: %v", k, rs[0])
		}
	}

	code, out, _ = runKBTest(t, "search", "--kind", "rules", "CREATE INDEX without CONCURRENTLY")
	if code != 0 || !strings.Contains(out, "rules") || strings.Contains(out, "docs ·") {
		t.Errorf("search --kind rules: exit %d\n%s", code, out)
	}

	// Unknown or misspelt words: "no results", exit 0, with a "did you
	// mean" when a close word exists.
	code, out, errOut = runKBTest(t, "search", "xqzzyv")
	if code != 0 || strings.TrimSpace(out) != "no results" {
		t.Errorf("search of an unknown word: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runKBTest(t, "search", "statment timout")
	if code != 0 || !strings.Contains(out, "no results") || !strings.Contains(out, `did you mean "statment" → "statement", "timout" → "timeout"?`) {
		t.Errorf("search with typos: exit %d\n%s%s", code, out, errOut)
	}
	// The JSON output says the same, always as one object.
	code, out, _ = runKBTest(t, "search", "--json", "statement timout qqxqzv")
	var typo struct {
		SearchedFor string          `json:"searched_for"`
		Corrections []kb.Suggestion `json:"corrections"`
		NotFound    []string        `json:"not_found"`
		Results     []kb.Result     `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &typo); code != 0 || err != nil || typo.SearchedFor != "statement timeout qqxqzv" ||
		len(typo.Corrections) != 1 || len(typo.NotFound) != 1 || typo.NotFound[0] != "qqxqzv" || len(typo.Results) == 0 {
		t.Errorf("search --json with a typo and an unknown word: exit %d, %v\n%s", code, err, out)
	}
	code, out, _ = runKBTest(t, "search", "--json", "--version", "16", "lock_timeout")
	if !strings.Contains(out, `"results": []`) || !strings.Contains(out, `"note": "no results: the knowledge base has no PostgreSQL 16`) {
		t.Errorf("search --json --version 16: exit %d\n%s", code, out)
	}
	// A version held in part says which part is missing.
	code, out, _ = runKBTest(t, "search", "--version", "15", "lock_timeout", "--limit", "1")
	if code != 0 || !strings.Contains(out, "note: the knowledge base has no PostgreSQL 15 source (only docs)") || !strings.Contains(out, "#GUC-LOCK-TIMEOUT") {
		t.Errorf("search --version 15 with docs only: exit %d\n%s", code, out)
	}
	code, out, _ = runKBTest(t, "search", "--version", "16", "lock_timeout")
	if code != 0 || !strings.Contains(out, "no PostgreSQL 16 docs or source (it has: 15)") {
		t.Errorf("search --version 16: exit %d\n%s", code, out)
	}
	code, out, _ = runKBTest(t, "search", "lock_timeout", "--limit", "1")
	if code != 0 || !strings.Contains(out, "docs · trust high · PostgreSQL 15 · The PostgreSQL Global Development Group · score ") || !strings.Contains(out, " (text match 0.") {
		t.Errorf("search result line: exit %d\n%s", code, out)
	}
	// Each rule cites its own page.
	code, out, _ = runKBTest(t, "search", "--kind", "rules", "--json", "--limit", "20", "index")
	var ruleRes struct {
		Results []map[string]any `json:"results"`
	}
	err := json.Unmarshal([]byte(out), &ruleRes)
	rules := ruleRes.Results
	if code != 0 || err != nil || len(rules) < 2 {
		t.Fatalf("search --kind rules: exit %d, %v\n%s", code, err, out)
	}
	urls := map[any]bool{}
	for _, r := range rules {
		if urls[r["url"]] || !strings.HasPrefix(r["url"].(string), "https://gitlab.com/pgai/reviewer/-/blob/main/docs/rules/") || r["trust"] != "reviewer" {
			t.Errorf("rule result %v: want its own docs/rules page and trust reviewer", r["url"])
		}
		urls[r["url"]] = true
	}

	// Revoking the last permitted article removes it, also when the
	// manifest was ingested under another path.
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "..", "kb", "testdata", "articles", "zero-downtime.md"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.md"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := func(permission bool) string {
		return fmt.Sprintf("articles:\n  - path: a.md\n    title: Zero-downtime schema changes\n    url: https://example.org/blog/zero-downtime\n    author: Jane Doe\n    permission: %v\n", permission)
	}
	if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(manifest(true)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runKBTest(t, "ingest", "--articles", filepath.Join(dir, "m.yaml")); code != 0 {
		t.Fatalf("ingest articles: exit %d\n%s%s", code, out, errOut)
	}
	if _, out, _ := runKBTest(t, "search", "--kind", "article", "zero downtime schema changes"); !strings.Contains(out, "example.org/blog/zero-downtime") {
		t.Fatalf("article not found after ingest:\n%s", out)
	}
	for _, name := range []string{"m.yaml", "other.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(manifest(false)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errOut := runKBTest(t, "ingest", "--articles", filepath.Join(dir, "other.yaml")); code != 0 || !strings.Contains(out, "1 removed (permission revoked)") {
		t.Fatalf("ingest of the revoking manifest: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runKBTest(t, "search", "--kind", "article", "zero downtime schema changes"); code != 0 || strings.TrimSpace(out) != "no results" {
		t.Errorf("revoked article still found: exit %d\n%s", code, out)
	}
	if code, out, errOut := runKBTest(t, "ingest", "--articles", filepath.Join(dir, "m.yaml")); code != 0 {
		t.Errorf("ingest of a manifest with nothing permitted: exit %d\n%s%s", code, out, errOut)
	}

	code, out, _ = runKBTest(t, "stats")
	if code != 0 || !strings.Contains(out, "mode: full-text only (no embedding API key") || !strings.Contains(out, "docs ") {
		t.Errorf("stats: exit %d\n%s", code, out)
	}

	set := filepath.Join(t.TempDir(), "set.jsonl")
	if err := os.WriteFile(set, []byte(`{"question":"abort statements waiting too long for a lock","want":"runtime-config-client.html#GUC-LOCK-TIMEOUT","slice":"config"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runKBTest(t, "eval", "--set", set)
	if code != 0 || !strings.Contains(out, "fulltext  -      1.000") || !strings.Contains(out, "hybrid: not run (no embedding API key") {
		t.Errorf("eval: exit %d\n%s", code, out)
	}

	code, out, errOut = runKBTest(t, "ingest", "--docs", docs, "--local-hash-embedder")
	if code != 0 || !strings.Contains(out, "4 unchanged") || !strings.Contains(out, "chunks embedded with local-hash-ngram-256") {
		t.Errorf("ingest with local embedder: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runKBTest(t, "eval", "--set", set, "--local-hash-embedder", "--json")
	var ev struct {
		Reports []struct {
			Mode  string  `json:"mode"`
			Hit10 float64 `json:"hit_at_10"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &ev); code != 0 || err != nil || len(ev.Reports) != 3 || ev.Reports[2].Mode != "hybrid" {
		t.Errorf("eval --json with local embedder: exit %d, %v\n%s", code, err, out)
	}
}

func TestKBCommandErrors(t *testing.T) {
	t.Setenv("PGAI_DATABASE_URL", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"search", "x"}, "no database"},
		{[]string{"ingest", "--database-url", "postgres://127.0.0.1:1/x"}, "nothing to ingest"},
		{[]string{"ingest", "--source", "x"}, "--source x: not a directory"},
		{[]string{"ingest", "--source", filepath.Join("..", "..", "kb", "testdata", "srctree")}, "give --source-url"},
		{[]string{"ingest", "--source", filepath.Join("..", "..", "kb", "testdata", "srctree"), "--source-url", "github.com/x/{tag}", "--source-tag", "v1"}, "want an absolute http(s) URL"},
		{[]string{"ingest", "--rules", "--rules-url", "https://gitlab.com/pgai/reviewer/-/blob/main/README.md#rules"}, "has no {id}"},
		{[]string{"ingest", "--rules", "--rules-url", "https://example.com/{rule}.md"}, "unknown placeholder"},
		{[]string{"search", "--database-url", "postgres://127.0.0.1:1/x"}, "no query"},
		{[]string{"search", "--limit", "0", "x"}, "--limit 0"},
		{[]string{"search", "--kind", "blog", "x"}, "unknown kind"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, tc := range tests {
		code, out, errOut := runKBTest(t, tc.args...)
		if code != exitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q (stdout %q), want %q", tc.args, code, errOut, out, tc.want)
		}
	}
}
