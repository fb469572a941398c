package kb

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"explian", "explain", 1}, // a swap is one edit
		{"cancle", "cancel", 1},
		{"freze", "freeze", 1},
		{"vacum", "vacuum", 1},
		{"transcations", "transactions", 1},
		{"statment", "statement", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
		{"same", "same", 0},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestIdentifiersInQueries(t *testing.T) {
	got := identifierRE.FindAllString("SQLSTATE 40P01 or 57014 and HV000, ERROR in SELECT of lock_timeout by LockAcquire at port 5432", -1)
	want := []string{"40P01", "57014", "HV000", "lock_timeout", "LockAcquire"}
	if !slices.Equal(got, want) {
		t.Errorf("identifiers %q, want %q", got, want)
	}
}

func TestSearchCorrectsMisspeltWords(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	ingest(t, s, testDocs(t))
	ctx := t.Context()

	// Parts of identifiers too.
	rs, searched, err := s.SearchExplained(ctx, "lock_timout", SearchOptions{})
	if err != nil || searched.Query != "lock_timeout" || len(rs) == 0 ||
		rs[0].URL != "https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-LOCK-TIMEOUT" {
		t.Errorf("lock_timout: searched %+v, %d results, %v; want lock_timeout's entry first", searched, len(rs), err)
	}

	rs, searched, err = s.SearchExplained(ctx, "abort a statment that takes too long, statment timout", SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantCorr := []Suggestion{{"statment", "statement"}, {"timout", "timeout"}}
	if !slices.Equal(searched.Corrections, wantCorr) || searched.Query != "abort a statement that takes too long, statement timeout" {
		t.Errorf("searched %+v, want the corrections %v", searched, wantCorr)
	}
	if len(rs) == 0 || rs[0].URL != "https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-STATEMENT-TIMEOUT" {
		t.Errorf("first result %+v, want statement_timeout", rs)
	}

	// Unknown words alone: nothing is guessed, the caller offers "did you
	// mean".
	rs, searched, err = s.SearchExplained(ctx, "statment timout", SearchOptions{})
	if err != nil || len(rs) != 0 || len(searched.Corrections) != 0 {
		t.Errorf("unknown words only: %d results, %+v, %v; want none", len(rs), searched, err)
	}
	sg, err := s.Suggest(ctx, "statment timout")
	if err != nil || !slices.Equal(sg, wantCorr) {
		t.Errorf("suggest: %v, %v; want %v", sg, err, wantCorr)
	}

	// A word with no close word stays unknown, is reported, and lowers
	// the match: the results answer only part of the question.
	base, _, err := s.SearchExplained(ctx, "statement timeout", SearchOptions{})
	if err != nil || len(base) == 0 {
		t.Fatalf("statement timeout: %d results, %v", len(base), err)
	}
	rs, searched, err = s.SearchExplained(ctx, "statement timeout qqxqzv", SearchOptions{})
	if err != nil || len(rs) == 0 {
		t.Fatalf("with an unknown word: %d results, %v", len(rs), err)
	}
	if !slices.Equal(searched.Unknown, []string{"qqxqzv"}) || len(searched.Corrections) != 0 {
		t.Errorf("searched %+v, want qqxqzv unknown and no corrections", searched)
	}
	if rs[0].URL != base[0].URL || !(rs[0].Match < base[0].Match) {
		t.Errorf("with an unknown word: first %s match %.3f; without: %s match %.3f; want the same result with a lower match",
			rs[0].URL, rs[0].Match, base[0].URL, base[0].Match)
	}
}

func TestDocsInlinks(t *testing.T) {
	dir := t.TempDir()
	page := func(name, nav, body string) {
		html := `<html><head><title>` + name + `</title></head><body>` + nav +
			`<div class="sect1" id="` + name + `"><h2>` + name + `</h2><p>` + body + `</p></div></body></html>`
		if err := os.WriteFile(filepath.Join(dir, name+".html"), []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// b is linked from the text of a and c (and of itself); a only from
	// navigation and tables of contents, which do not count.
	page("a", "", `See <a href="b.html#X">b</a> and <a href="b.html">b again</a>.`)
	page("b", `<div class="navheader"><a href="a.html">Prev</a></div>`, `Itself: <a href="b.html">b</a>.`)
	page("c", `<div class="toc"><a href="a.html">a</a></div>`, `Also <a href="b.html">b</a>.`)
	docs, err := ParseDocsDir(dir, DocsOptions{Version: "15"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, d := range docs {
		got[d.Title] = d.Inlinks
	}
	if want := map[string]int{"a": 0, "b": 2, "c": 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("inlinks %v, want %v", got, want)
	}
}

func TestSearchSpreadsOverPages(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	var docs []Document
	for i := range 4 {
		d := Document{Key: fmt.Sprintf("web:%d", i), Kind: KindWeb, Title: fmt.Sprintf("page %d", i), URL: fmt.Sprintf("https://example.org/%d", i)}
		n := 1
		if i == 0 {
			n = 5 // one page with five equally good sections
		}
		for c := range n {
			d.Chunks = append(d.Chunks, Chunk{Heading: []string{d.Title, fmt.Sprint("part ", c)}, Text: "vacuum freeze wraparound horizon"})
		}
		docs = append(docs, d)
	}
	if _, err := s.Ingest(t.Context(), "web", docs, nil); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Search(t.Context(), "vacuum freeze wraparound", SearchOptions{Limit: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 8 {
		t.Fatalf("%d results, want 8 (all sections)", len(rs))
	}
	pages := map[string]bool{}
	for _, r := range rs[:4] {
		pages[r.URL] = true
	}
	if len(pages) != 4 {
		t.Errorf("the first four results come from %d pages, want 4: %v", len(pages), rs[:4])
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"9.6", "15", true}, {"15", "9.6", false}, {"15", "17", true}, {"17", "15", false},
		{"", "15", true}, {"15", "", false}, {"15", "15", false}, {"10", "9.6", false},
	} {
		if got := versionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestParseDocsPageReference(t *testing.T) {
	var rows strings.Builder
	for i := range 60 {
		fmt.Fprintf(&rows, `<tr><td><code class="literal">4%04d</code></td><td><code class="symbol">condition_number_%d</code></td></tr>`, i, i)
	}
	page := `<html><head><title>LOCK</title></head><body>
<div class="navheader"><a accesskey="u" href="sql-commands.html" title="SQL Commands">Up</a></div>
<div class="refentry" id="SQL-LOCK"><div class="titlepage"></div>
<div class="refnamediv"><h2><span class="refentrytitle">LOCK</span></h2><p>LOCK — lock a <span class="emphasis">table</span></p></div>
<div class="refsect1" id="id-1"><h2>Description<a href="#id-1" class="id_link">#</a></h2><p>LOCK TABLE obtains a table-level lock.</p></div>
<div class="refsect1" id="id-2"><h2>Codes</h2><div class="table" id="CODES"><p class="title"><strong>Table 1.1. Some Codes</strong></p>
<div class="table-contents"><table><thead><tr><th>Code</th><th>Name</th></tr></thead><tbody>` + rows.String() + `</tbody></table></div></div></div>
<div class="refsect1" id="id-3"><h2>See Also</h2><p><a href="sql-begin.html">BEGIN</a>, <a href="sql-set.html">SET</a></p></div>
</div></body></html>`
	d, err := ParseDocsPage("sql-lock.html", []byte(page), DocsOptions{Version: "17", BaseURL: "https://www.postgresql.org/docs/17/"})
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	tableChunks := 0
	for _, c := range d.Chunks {
		h := strings.Join(c.Heading, HeadingSep)
		if !slices.Contains(headings, h) {
			headings = append(headings, h)
		}
		if strings.HasSuffix(h, "> Some Codes") {
			tableChunks++
			if n := len(strings.Fields(c.Text)); n > maxTableChunkWords {
				t.Errorf("table chunk of %d words, want at most %d", n, maxTableChunkWords)
			}
		}
	}
	// The purpose heads every section; PostgreSQL 17's "#" self-links are
	// not text; "See Also" (names of other pages) is left out.
	want := []string{
		"SQL Commands > LOCK — lock a table",
		"SQL Commands > LOCK — lock a table > Description",
		"SQL Commands > LOCK — lock a table > Codes > Some Codes",
	}
	if !slices.Equal(headings, want) {
		t.Errorf("headings %q, want %q", headings, want)
	}
	if tableChunks < 3 {
		t.Errorf("a 60-row table in %d chunks, want it cut into chunks of a few rows", tableChunks)
	}
}

func TestSplitTextRSTAndRepeatedAnchors(t *testing.T) {
	rst := "REST API\n========\n\nIntro.\n\nMetrics\n-------\n\n.. code-block:: text\n\n\t# HELP patroni_is_paused Value is 1\n\t# TYPE patroni_is_paused gauge\n\nSwitchover and failover endpoints\n---------------------------------\n\n.. _switchover_api:\n\nPOST /switchover.\n\nEmpty\n-----\n\n.. _empty_target:\n\n\npatronictl\n----------\n\nSynopsis\n\"\"\"\"\"\"\"\"\n\nUsage text.\n"
	var got []string
	for _, c := range splitText([]string{"docs/rest_api.rst"}, "https://x/docs/rest_api.rst", rst, styleRST) {
		got = append(got, strings.Join(c.Heading, HeadingSep)+" "+c.URL)
	}
	want := []string{
		"docs/rest_api.rst > REST API https://x/docs/rest_api.rst#rest-api",
		"docs/rest_api.rst > REST API > Metrics https://x/docs/rest_api.rst#metrics",
		"docs/rest_api.rst > REST API > Switchover and failover endpoints https://x/docs/rest_api.rst#switchover-and-failover-endpoints",
		"docs/rest_api.rst > REST API > patronictl > Synopsis https://x/docs/rest_api.rst#synopsis",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rst sections:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	md := "# pgvector\n\n## HNSW\n\n### Query Options\n\nef_search.\n\n## IVFFlat\n\n### Query Options\n\nprobes.\n\n```\n# not a heading\n```\n\n    # indented code\n"
	got = nil
	for _, c := range splitText([]string{"README.md"}, "https://x/README.md", md, styleMarkdown) {
		got = append(got, strings.Join(c.Heading, HeadingSep)+" "+c.URL)
	}
	want = []string{
		"README.md > pgvector > HNSW > Query Options https://x/README.md#query-options",
		"README.md > pgvector > IVFFlat > Query Options https://x/README.md#query-options-1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("markdown sections:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// One section in the docs of two versions is one result citing the
// newest, also when its anchor differs between them (a generated id in
// one, a named anchor in the next).
func TestSearchOneResultAcrossVersions(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	page := func(v, anchor string) Document {
		base := "https://www.postgresql.org/docs/" + v + "/sql-createtable.html"
		return Document{Key: "docs:" + v + ":sql-createtable.html", Kind: KindDocs, Title: "CREATE TABLE", URL: base,
			Trust: TrustHigh, PGVersion: v, Author: "The PostgreSQL Global Development Group", Chunks: []Chunk{
				{Heading: []string{"SQL Commands", "CREATE TABLE", "Parameters", "SET DEFAULT"}, URL: base + "#" + anchor,
					Text: "Set the referencing column to its default value when the referenced row is deleted."},
				{Heading: []string{"SQL Commands", "CREATE TABLE", "Parameters", "CASCADE"}, URL: base + "#CASCADE",
					Text: "Delete any rows referencing the deleted row, or update the values of the referencing column."},
			}}
	}
	for _, d := range []Document{page("15", "id-1.9.3.85.6"), page("17", "SQL-CREATETABLE-SET-DEFAULT")} {
		if _, err := s.Ingest(t.Context(), "docs:"+d.PGVersion, []Document{d}, nil); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := s.Search(t.Context(), "referencing column default value deleted row", SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s %s %v", r.URL, r.PGVersion, r.AlsoIn))
	}
	want := []string{
		"https://www.postgresql.org/docs/17/sql-createtable.html#SQL-CREATETABLE-SET-DEFAULT 17 [15]",
		"https://www.postgresql.org/docs/17/sql-createtable.html#CASCADE 17 [15]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// With a version, that version's page.
	rs, err = s.Search(t.Context(), "referencing column default value deleted row", SearchOptions{Version: "15"})
	if err != nil || len(rs) != 2 || rs[0].URL != "https://www.postgresql.org/docs/15/sql-createtable.html#id-1.9.3.85.6" || len(rs[0].AlsoIn) != 0 {
		t.Errorf("--version 15: %+v, %v", rs, err)
	}
}

func TestAtURL(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	ingest(t, s, testDocs(t))
	ctx := t.Context()
	for _, tc := range []struct{ link, query, want string }{
		// The anchor, in the version held (the link says "current").
		{"https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT", "anything",
			"https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-LOCK-TIMEOUT"},
		// An anchor the version does not have: the page's best match.
		{"https://www.postgresql.org/docs/17/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-NOT-NULL", "SET NOT NULL scanning the entire table",
			"https://www.postgresql.org/docs/15/sql-altertable.html#id-1.9.3.35.5"},
	} {
		r, ok, err := s.AtURL(ctx, tc.link, tc.query, SearchOptions{})
		if err != nil || !ok || r.URL != tc.want || r.Title == "" || r.Author == "" {
			t.Errorf("AtURL(%s): %+v, %v, %v; want %s", tc.link, r.URL, ok, err, tc.want)
		}
	}
	for _, link := range []string{"https://www.postgresql.org/docs/current/sql-vacuum.html", "https://example.org/x.html", "not a url"} {
		if _, ok, err := s.AtURL(ctx, link, "vacuum", SearchOptions{}); ok || err != nil {
			t.Errorf("AtURL(%s): found %v, %v; want not found", link, ok, err)
		}
	}
	if _, ok, _ := s.AtURL(ctx, "https://www.postgresql.org/docs/current/runtime-config-client.html", "x", SearchOptions{Version: "14"}); ok {
		t.Error("version 14: want not found")
	}
}

// The newest version is cited even when an older one's text matches the
// question a little better; the section still ranks by its best match.
func TestSearchCitesNewestVersion(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	for _, v := range []string{"15", "17"} {
		text := "The view pg_stat_activity has one row per server process."
		if v == "15" {
			text += " Its wait_event column names the event the process waits for."
		}
		base := "https://www.postgresql.org/docs/" + v + "/monitoring-stats.html"
		d := Document{Key: "docs:" + v + ":monitoring-stats.html", Kind: KindDocs, Title: "Monitoring", URL: base, Trust: TrustHigh, PGVersion: v,
			Chunks: []Chunk{{Heading: []string{"Monitoring", "pg_stat_activity"}, URL: base + "#PG-STAT-ACTIVITY-VIEW", Text: text}}}
		if _, err := s.Ingest(t.Context(), "docs:"+v, []Document{d}, nil); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := s.Search(t.Context(), "pg_stat_activity wait_event column", SearchOptions{})
	if err != nil || len(rs) != 1 || rs[0].PGVersion != "17" || !slices.Equal(rs[0].AlsoIn, []string{"15"}) {
		t.Fatalf("results %+v, %v; want one, citing 17, also in 15", rs, err)
	}
}
