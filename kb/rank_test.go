package kb

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

	rs, searched, err := s.SearchExplained(ctx, "abort a statment that takes too long, statment timout", SearchOptions{})
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
