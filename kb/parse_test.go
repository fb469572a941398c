package kb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDocsDir(t *testing.T) {
	t.Parallel()
	docs, err := ParseDocsDir("testdata/docs", DocsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, d := range docs {
		keys = append(keys, d.Key)
	}
	want := []string{"docs:15:runtime-config-client.html", "docs:15:sql-altertable.html", "docs:15:sql-createindex.html", "docs:15:view-pg-locks.html"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Fatalf("documents (-want +got):\n%s", diff)
	}
	find := func(heading string) Chunk {
		t.Helper()
		for _, d := range docs {
			for _, c := range d.Chunks {
				if strings.Join(c.Heading, HeadingSep) == heading {
					return c
				}
			}
		}
		t.Fatalf("no chunk with heading %q", heading)
		return Chunk{}
	}
	tests := []struct {
		heading  string
		url      string
		contains string
	}{
		{"SQL Commands > ALTER TABLE — change the definition of a table > Description > SET/DROP NOT NULL", "https://www.postgresql.org/docs/15/sql-altertable.html#id-1.9.3.35.5", "scanning the entire table"},
		{"Server Configuration > Client Connection Defaults > Statement Behavior > lock_timeout (integer)", "https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-LOCK-TIMEOUT", "Abort any statement that waits longer"},
		{"SQL Commands > CREATE INDEX — define a new index > Parameters > CONCURRENTLY", "https://www.postgresql.org/docs/15/sql-createindex.html#id-1.9.3.69.6", "without taking any locks that prevent concurrent inserts"},
		{"SQL Commands > ALTER TABLE — change the definition of a table", "https://www.postgresql.org/docs/15/sql-altertable.html", "change the definition of a table"},
	}
	for _, tc := range tests {
		c := find(tc.heading)
		if c.URL != tc.url {
			t.Errorf("%s: URL %s, want %s", tc.heading, c.URL, tc.url)
		}
		if !strings.Contains(strings.Join(strings.Fields(c.Text), " "), tc.contains) {
			t.Errorf("%s: text lacks %q:\n%s", tc.heading, tc.contains, c.Text)
		}
	}
	for _, d := range docs {
		for _, c := range d.Chunks {
			for _, nav := range []string{"Prev", "Next", "Up Home"} {
				if strings.HasPrefix(c.Text, nav+" ") {
					t.Errorf("%s: navigation left in chunk: %.60q", d.Key, c.Text)
				}
			}
			if n := len(strings.Fields(c.Text)); n > maxChunkWords {
				t.Errorf("%s: chunk of %d words", d.Key, n)
			}
		}
	}
}

func TestParseDocsDirErrors(t *testing.T) {
	t.Parallel()
	if _, err := ParseDocsDir(t.TempDir(), DocsOptions{Version: "15"}); err == nil || !strings.Contains(err.Error(), "no .html files") {
		t.Errorf("empty folder: got %v", err)
	}
	if _, err := ParseDocsDir(t.TempDir(), DocsOptions{}); err == nil || !strings.Contains(err.Error(), "detect docs version") {
		t.Errorf("no index.html: got %v", err)
	}
}

func TestParseSourceTree(t *testing.T) {
	t.Parallel()
	notes := map[string]string{}
	docs, err := ParseSourceTree("testdata/srctree", SourceOptions{
		BaseURL: "https://github.com/postgres/postgres/blob/{tag}", Tag: "REL_15_10", Name: "postgres",
		Notes: func(path, reason string) { notes[path] = reason },
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Heading, URL, First string }
	var got []row
	for _, d := range docs {
		if d.Kind != KindSource || d.Trust != TrustHighest {
			t.Errorf("%s: kind %s trust %s", d.Key, d.Kind, d.Trust)
		}
		for _, c := range d.Chunks {
			first, _, _ := strings.Cut(c.Text, "\n")
			got = append(got, row{strings.Join(c.Heading, HeadingSep), c.URL, first})
		}
	}
	base := "https://github.com/postgres/postgres/blob/REL_15_10/"
	want := []row{
		{"README > Lock manager", base + "README#L1", "This directory holds a fixture for the knowledge base tests."},
		{"README > Lock manager > Deadlock detection", base + "README#L6", "When a backend waits longer than deadlock_timeout it runs the deadlock"},
		{"src/backend/latin1.c > old_function()", base + "src/backend/latin1.c#L1-L6", "/* Latin-1 comment by Jürgen Müller. */"},
		{"src/backend/locks.c", base + "src/backend/locks.c#L1-L7", "/*-------------------------------------------------------------------------"},
		{"src/backend/locks.c > #include", base + "src/backend/locks.c#L8-L8", `#include "postgres.h"`},
		{"src/backend/locks.c > LOCK_NAME", base + "src/backend/locks.c#L10-L11", `#define LOCK_NAME(m) \`},
		{"src/backend/locks.c > lock_mode_names", base + "src/backend/locks.c#L13-L17", "static const char *const lock_mode_names[] = {"},
		{"src/backend/locks.c > lock_conflicts()", base + "src/backend/locks.c#L19-L30", "/*"},
		{"src/backend/locks.c > lock_mode_name()", base + "src/backend/locks.c#L32-L40", `/* Name of a lock mode, for messages like "waiting for {lock}". */`},
		{"src/include/locks.h", base + "src/include/locks.h#L1-L4", "/*"},
		{"src/include/locks.h > LOCKS_H", base + "src/include/locks.h#L5-L6", "#ifndef LOCKS_H"},
		{"src/include/locks.h > #include", base + "src/include/locks.h#L8-L8", `#include "c.h"`},
		{"src/include/locks.h > LOCKMASK", base + "src/include/locks.h#L10-L11", "/* A bit per lock mode. */"},
		{"src/include/locks.h > LockModeKind", base + "src/include/locks.h#L13-L20", "/*"},
		{"src/include/locks.h > LOCKBIT_ON, LOCKBIT_OFF", base + "src/include/locks.h#L22-L24", "/* Conversions between modes and bits. */"},
		{"src/include/locks.h > struct LockHolder", base + "src/include/locks.h#L26-L30", "struct LockHolder"},
		{"src/include/locks.h > lock_conflicts(), lock_mode_name()", base + "src/include/locks.h#L32-L36", "extern bool lock_conflicts(int held, int requested);"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	wantNotes := map[string]string{
		"README.euc_jp":                  "not UTF-8 (24 non-ASCII bytes of 51: another encoding), skipped",
		"src/backend/latin1.c":           "not UTF-8, converted from Latin-1",
		"src/backend/parser/gram.c":      "generated (listed in .gitignore, not in the upstream repository), skipped",
		"src/backend/parser/bootparse.c": "generated (its header says so), skipped",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if _, err := ParseSourceTree("testdata/srctree", SourceOptions{}); err == nil {
		t.Error("no base URL: want an error")
	}
	for _, bad := range []string{"github.com/postgres/postgres/blob/{tag}", "https://github.com/postgres/postgres/blob/{version}", "https://x/{tag}"} {
		if _, err := ParseSourceTree("testdata/srctree", SourceOptions{BaseURL: bad, Tag: "REL_15_10"}); err == nil && bad != "https://x/{tag}" {
			t.Errorf("base URL %q: want an error", bad)
		}
	}
	if _, err := ParseSourceTree("testdata/srctree", SourceOptions{BaseURL: "https://github.com/postgres/postgres/blob/{tag}"}); err == nil {
		t.Error("{tag} without a tag: want an error")
	}
}

// TestDetectSource: trees fetched by scripts/kb-fetch (.pgai-kb.json),
// unpacked by apt-get source (debian/changelog) or named like their
// tarball cite the exact upstream tag and credit upstream's copyright
// holder; an unknown tree is not guessed.
func TestDetectSource(t *testing.T) {
	t.Parallel()
	write := func(dir, name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	pg := filepath.Join(root, "postgresql-15.18")
	write(pg, ".pgai-kb.json", `{"package": "postgresql-15", "version": "15.18", "debian_version": "15.18-0+deb12u1"}`)
	write(pg, "COPYRIGHT", "PostgreSQL Database Management System\n\nPortions Copyright (c) 1996-2025, PostgreSQL Global Development Group\n")
	bouncer := filepath.Join(root, "src-of-bouncer")
	write(bouncer, "debian/changelog", "pgbouncer (1.24.1-1+deb13u2) trixie; urgency=medium\n")
	write(bouncer, "COPYRIGHT", "PgBouncer\n\nCopyright (c) 2007-2009  Marko Kreen, Skype Technologies OÜ\n")
	patroni := filepath.Join(root, "patroni-4.0.7")
	write(patroni, "LICENSE", "The MIT License (MIT)\n\nCopyright (c) 2025 Compose, Zalando SE, Patroni Contributors\n")
	write(patroni, "docs/conf.py", "author = 'Patroni Contributors'\n")
	other := filepath.Join(root, "myproject")
	write(other, "README", "hello\n")

	type got struct {
		URL, Name, Title, PGVersion, Author, DocsAuthor string
		DocsOnly                                        bool
	}
	for _, tc := range []struct {
		dir  string
		want got
	}{
		{pg, got{"https://github.com/postgres/postgres/blob/REL_15_18", "postgresql-15", "PostgreSQL 15.18", "15", "The PostgreSQL Global Development Group", "", false}},
		{bouncer, got{"https://github.com/pgbouncer/pgbouncer/blob/pgbouncer_1_24_1", "pgbouncer", "PgBouncer 1.24.1", "", "Marko Kreen, Skype Technologies OÜ", "", false}},
		{patroni, got{"https://github.com/patroni/patroni/blob/v4.0.7", "patroni", "Patroni 4.0.7", "", "Compose, Zalando SE, Patroni Contributors", "Patroni Contributors", true}},
	} {
		opts, _, ok, err := DetectSource(tc.dir)
		if err != nil || !ok {
			t.Errorf("%s: %v, %v", tc.dir, ok, err)
			continue
		}
		g := got{strings.ReplaceAll(opts.BaseURL, "{tag}", opts.Tag), opts.Name, opts.Title, opts.PGVersion, opts.Author, opts.DocsAuthor, opts.DocsOnly}
		if diff := cmp.Diff(tc.want, g); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.dir, diff)
		}
	}
	if _, _, ok, err := DetectSource(other); ok || err != nil {
		t.Errorf("unknown tree: ok %v, err %v", ok, err)
	}
	// A project's docs are docs (trust high, page title in the heading),
	// its code is source.
	write(patroni, "docs/rest_api.rst", "REST API\n========\n\nPatroni has a rich REST API.\n\nHealth check endpoints\n----------------------\n\nGET /primary returns 200 on the leader.\n")
	write(patroni, "patroni/api.py", "print('not ingested')\n")
	opts, _, _, _ := DetectSource(patroni)
	docs, err := ParseSourceTree(patroni, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Kind != KindDocs || docs[0].Trust != TrustHigh || docs[0].Author != "Patroni Contributors" ||
		docs[0].Title != "Patroni 4.0.7 docs: REST API" || docs[0].Key != "docs:patroni:docs/rest_api.rst" {
		t.Fatalf("patroni docs: %+v", docs)
	}
	c := docs[0].Chunks[len(docs[0].Chunks)-1]
	if h := strings.Join(c.Heading, HeadingSep); h != "Patroni 4.0.7 > docs/rest_api.rst > REST API > Health check endpoints" ||
		c.URL != "https://github.com/patroni/patroni/blob/v4.0.7/docs/rest_api.rst#health-check-endpoints" {
		t.Errorf("last chunk %q %s", h, c.URL)
	}
}

func TestParseArticles(t *testing.T) {
	t.Parallel()
	docs, skipped, err := ParseArticles("testdata/articles/manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A post we may not use"}, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	type row struct {
		Title, Author, Permission string
		Trust                     Trust
		Headings                  []string
	}
	var got []row
	for _, d := range docs {
		r := row{d.Title, d.Author, d.Permission, d.Trust, nil}
		for _, c := range d.Chunks {
			r.Headings = append(r.Headings, strings.Join(c.Heading, HeadingSep))
			if strings.Contains(c.Text, "never be ingested") || strings.Contains(c.Text, "noise") || strings.Contains(c.Text, "Home | Blog") {
				t.Errorf("%s: unwanted text in chunk: %q", d.Title, c.Text)
			}
		}
		got = append(got, r)
	}
	want := []row{
		{"Zero-downtime schema changes", "Jane Doe", "granted: email of 2026-03-02", TrustHigh, []string{
			"Zero-downtime schema changes > Zero-downtime schema changes",
			"Zero-downtime schema changes > Zero-downtime schema changes > Adding NOT NULL",
		}},
		{"The lock queue", "Ann Poe", "granted", TrustUnknown, []string{
			"The lock queue > The lock queue",
			"The lock queue > The lock queue > Mitigation",
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("articles (-want +got):\n%s", diff)
	}
}

func TestRuleDocuments(t *testing.T) {
	t.Parallel()
	rules := []RuleDoc{{
		ID: "index-create-nonconcurrent", Summary: "CREATE INDEX without CONCURRENTLY.",
		Why: "It takes a SHARE lock: writes wait.", Fix: "CREATE INDEX CONCURRENTLY ...",
		DocsURL:  "https://www.postgresql.org/docs/current/sql-createindex.html",
		Examples: []RuleExample{{Name: "index-create-nonconcurrent", Bad: "CREATE INDEX i ON t (a);\n", Good: "CREATE INDEX CONCURRENTLY i ON t (a);\n"}},
	}, {ID: "ban-drop-column", Summary: "DROP COLUMN breaks running code."}}
	docs, err := RuleDocuments(rules, DefaultRulesURL, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || len(docs[0].Chunks) != 1 {
		t.Fatalf("got %+v", docs)
	}
	d := docs[0]
	if d.URL != "https://gitlab.com/pgai/reviewer/-/blob/main/docs/rules/index-create-nonconcurrent.md" || d.Kind != KindRules || d.Author != "pgai reviewer" || d.Trust != TrustReviewer {
		t.Errorf("document %+v", d)
	}
	if docs[1].URL == d.URL || docs[1].Chunks[0].URL != docs[1].URL {
		t.Errorf("rules share a URL: %s, %s", d.URL, docs[1].URL)
	}
	for _, want := range []string{"Why: It takes a SHARE lock", "Fix: CREATE INDEX CONCURRENTLY", "Flagged example:\nCREATE INDEX i ON t (a);"} {
		if !strings.Contains(d.Chunks[0].Text, want) {
			t.Errorf("chunk lacks %q: %s", want, d.Chunks[0].Text)
		}
	}
	for _, bad := range []string{
		"https://gitlab.com/pgai/reviewer/-/blob/main/README.md#rules", // no {id}: one URL for all
		"docs/rules/{id}.md",                 // not absolute
		"https://example.com/{rule}.md#{id}", // unknown placeholder
	} {
		if _, err := RuleDocuments(rules, bad, ""); err == nil {
			t.Errorf("template %q: want an error", bad)
		}
	}
}

func TestEvalSet(t *testing.T) {
	t.Parallel()
	cases, err := DefaultEvalSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 200 {
		t.Errorf("eval set has %d questions, want at least 200", len(cases))
	}
	seen := map[string]bool{}
	slices := map[string]int{}
	for _, c := range cases {
		if seen[c.Question] {
			t.Errorf("duplicate question %q", c.Question)
		}
		seen[c.Question] = true
		slices[c.Slice]++
		page, _, _ := strings.Cut(c.Want, "#")
		if !strings.HasSuffix(page, ".html") && !strings.Contains(page, "/") {
			t.Errorf("%q: want %q is neither a docs page nor a path", c.Question, c.Want)
		}
	}
	for _, s := range []string{"migration", "config", "command", "errcode", "catalog"} {
		if slices[s] < 8 {
			t.Errorf("slice %s has %d questions", s, slices[s])
		}
	}
	if _, err := ReadEvalSet(strings.NewReader(`{"question": "x"}`)); err == nil {
		t.Error("case without want: want an error")
	}
	// The held-out set asks other questions.
	holdout, err := HoldoutEvalSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(holdout) < 100 {
		t.Errorf("held-out set has %d questions, want 100", len(holdout))
	}
	for _, c := range holdout {
		if seen[c.Question] {
			t.Errorf("held-out question %q is in the default set too", c.Question)
		}
		seen[c.Question] = true
		if page, _, _ := strings.Cut(c.Want, "#"); !strings.HasSuffix(page, ".html") && !strings.Contains(page, "/") {
			t.Errorf("%q: want %q is neither a docs page nor a path", c.Question, c.Want)
		}
	}
}

func TestPackText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 25)
	tests := []struct {
		name   string
		blocks []string
		max    int
		want   []int // words per chunk
	}{
		{"fits", []string{"a b", "c"}, 10, []int{3}},
		{"splits at blocks", []string{"a b c", "d e f", "g"}, 6, []int{6, 1}},
		{"long block split by words", []string{long}, 10, []int{10, 10, 5}},
		{"empty", nil, 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []int
			for _, c := range packText(tc.blocks, tc.max) {
				got = append(got, len(strings.Fields(c)))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHashEmbedder(t *testing.T) {
	t.Parallel()
	e := HashEmbedder{Dims: 64}
	vs, err := e.Embed(t.Context(), []string{"lock timeout", "lock timeout", "vacuum freeze", ""})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(vs[0], vs[1]); diff != "" {
		t.Errorf("not deterministic: %s", diff)
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	if n := dot(vs[0], vs[0]); n < 0.999 || n > 1.001 {
		t.Errorf("not normalized: %v", n)
	}
	if dot(vs[0], vs[2]) >= dot(vs[0], vs[1]) {
		t.Error("unrelated texts as close as identical ones")
	}
	if len(vs[3]) != 64 {
		t.Errorf("empty text: %d dims", len(vs[3]))
	}
	if e.Model() != "local-hash-ngram-64" {
		t.Errorf("model %s", e.Model())
	}
}
