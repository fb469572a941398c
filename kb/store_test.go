package kb

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/pgai/reviewer/internal/pgtest"
)

// newTestStore migrates a fresh database and returns a store on it.
func newTestStore(t *testing.T, opts StoreOptions) (*Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.New(t).Pool(t)
	if err := Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	return NewStore(pool, opts), pool
}

func testDocs(t *testing.T) []Document {
	t.Helper()
	docs, err := ParseDocsDir("testdata/docs", DocsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func ingest(t *testing.T, s *Store, docs []Document) IngestStats {
	t.Helper()
	st, err := s.Ingest(t.Context(), "docs:15", docs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	_, pool := newTestStore(t, StoreOptions{})
	if err := Migrate(t.Context(), pool); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM kb_schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := fs.Glob(migrationFS, "migrations/*.sql")
	if n != len(ms) || n == 0 {
		t.Errorf("%d versions recorded, want %d", n, len(ms))
	}
}

func TestIngestIncremental(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t, StoreOptions{})
	docs := testDocs(t)
	total := 0
	for _, d := range docs {
		total += len(d.Chunks)
	}
	type counts struct{ Added, Updated, Unchanged, Removed, Chunks int }
	c := func(st IngestStats) counts { return counts{st.Added, st.Updated, st.Unchanged, st.Removed, st.Chunks} }

	if diff := cmp.Diff(counts{Added: 4, Chunks: total}, c(ingest(t, s, docs))); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(counts{Unchanged: 4}, c(ingest(t, s, docs))); diff != "" {
		t.Errorf("unchanged run (-want +got):\n%s", diff)
	}

	// One page changed, one gone.
	changed := append([]Document{}, docs[:3]...)
	changed[0].Chunks = append([]Chunk{}, changed[0].Chunks...)
	changed[0].Chunks[0].Text += " Changed."
	if diff := cmp.Diff(counts{Updated: 1, Unchanged: 2, Removed: 1, Chunks: len(changed[0].Chunks)}, c(ingest(t, s, changed))); diff != "" {
		t.Errorf("changed run (-want +got):\n%s", diff)
	}
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM kb_chunks WHERE body LIKE '% Changed.'").Scan(&n); err != nil || n != 1 {
		t.Errorf("changed chunk stored %d times (%v)", n, err)
	}

	// A run that fails while replacing a page (PostgreSQL rejects the NUL
	// byte) keeps that page's previous chunks, and removes nothing.
	broken := append([]Document{}, changed[:2]...)
	broken[1].Chunks = append([]Chunk{}, broken[1].Chunks...)
	broken[1].Chunks[1].Text = "new text\x00"
	before := chunkTexts(t, pool, broken[1].Key)
	if _, err := s.Ingest(t.Context(), "docs:15", broken, nil); err == nil || !strings.Contains(err.Error(), broken[1].Key) {
		t.Fatalf("broken run: got %v, want an error naming %s", err, broken[1].Key)
	}
	if diff := cmp.Diff(before, chunkTexts(t, pool, broken[1].Key)); diff != "" {
		t.Errorf("failed replace changed the stored chunks (-before +after):\n%s", diff)
	}
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM kb_sources").Scan(&n); err != nil || n != 3 {
		t.Errorf("%d sources after the failed run, want 3 (%v)", n, err)
	}
	if rs, err := s.Search(t.Context(), "lock_timeout", SearchOptions{}); err != nil || len(rs) == 0 {
		t.Errorf("search after the failed run: %d results, %v", len(rs), err)
	}
}

func chunkTexts(t *testing.T, pool *pgxpool.Pool, key string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT c.body FROM kb_chunks c JOIN kb_sources s ON s.id = c.source_id
		WHERE s.key = $1 ORDER BY c.ord`, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestIngestRejectsBadDocuments(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	ok := Document{Key: "k", Kind: KindWeb, Title: "t", URL: "https://example.org", Chunks: []Chunk{{Text: "x"}}}
	tests := []struct {
		name string
		mut  func(d *Document)
		want string
	}{
		{"no key", func(d *Document) { d.Key = "" }, "without key"},
		{"no url", func(d *Document) { d.URL = "" }, "no URL"},
		{"bad kind", func(d *Document) { d.Kind = "blog" }, "unknown kind"},
		{"empty chunk", func(d *Document) { d.Chunks = []Chunk{{Text: " "}} }, "chunk 0 is empty"},
	}
	for _, tc := range tests {
		d := ok
		tc.mut(&d)
		_, err := s.Ingest(t.Context(), "web", []Document{d}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := s.Ingest(t.Context(), "web", []Document{ok, ok}, nil); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate: got %v", err)
	}
	// A run that fails after storing a document still makes it searchable
	// (the posting lists are rebuilt).
	stored := Document{Key: "stored", Kind: KindWeb, Title: "Freezing", URL: "https://example.org/freeze",
		Chunks: []Chunk{{Text: "wraparound needs an aggressive vacuum"}}}
	bad := ok
	bad.URL = ""
	if _, err := s.Ingest(t.Context(), "web", []Document{stored, bad}, nil); err == nil {
		t.Fatal("bad second document: want an error")
	}
	rs, err := s.Search(t.Context(), "wraparound", SearchOptions{})
	if err != nil || len(rs) != 1 || rs[0].URL != stored.URL {
		t.Errorf("search after a failed run: %+v, %v; want the document stored before the failure", rs, err)
	}
}

func TestSearchFullText(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	ingest(t, s, testDocs(t))
	tests := []struct {
		query   string
		opts    SearchOptions
		heading string // of the first result; "" = no results
		url     string
	}{
		{"why does SET NOT NULL scan the whole table", SearchOptions{},
			"SQL Commands > ALTER TABLE — change the definition of a table > Description > SET/DROP NOT NULL", "https://www.postgresql.org/docs/15/sql-altertable.html#id-1.9.3.35.5"},
		{"lock_timeout", SearchOptions{},
			"Server Configuration > Client Connection Defaults > Statement Behavior > lock_timeout (integer)", "https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-LOCK-TIMEOUT"},
		{"build an index concurrently without locking out writes", SearchOptions{},
			"SQL Commands > CREATE INDEX — define a new index > Parameters > Building Indexes Concurrently", "https://www.postgresql.org/docs/15/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY"},
		{"pg_locks view columns", SearchOptions{Version: "15", MinTrust: TrustHigh, Kinds: []Kind{KindDocs}},
			"System Views > pg_locks — The view pg_locks provides access to information about the locks held by active processes within the database server > pg_locks Columns", "https://www.postgresql.org/docs/15/view-pg-locks.html#id-1.10.5.16.6"},
		{"lock_timeout", SearchOptions{Kinds: []Kind{KindSource}}, "", ""},
		{"lock_timeout", SearchOptions{MinTrust: TrustHighest}, "", ""},
		{"lock_timeout", SearchOptions{Version: "14"}, "", ""},
	}
	for _, tc := range tests {
		rs, err := s.Search(t.Context(), tc.query, tc.opts)
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if tc.heading == "" {
			if len(rs) != 0 {
				t.Errorf("%q %+v: %d results, want none", tc.query, tc.opts, len(rs))
			}
			continue
		}
		if len(rs) == 0 {
			t.Errorf("%q: no results", tc.query)
			continue
		}
		r := rs[0]
		if r.Heading != tc.heading || r.URL != tc.url {
			t.Errorf("%q: first result %q %s, want %q %s", tc.query, r.Heading, r.URL, tc.heading, tc.url)
		}
		if r.Title == "" || r.Author != "The PostgreSQL Global Development Group" || r.Kind != KindDocs || r.Snippet == "" ||
			r.Score <= 0 || r.FullTextRank != 1 || r.VectorRank != 0 || r.Trust != "high" {
			t.Errorf("%q: incomplete result %+v", tc.query, r)
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].Score > rs[i-1].Score {
				t.Errorf("%q: results not sorted by score", tc.query)
			}
		}
	}
	for _, q := range []string{"", "   "} {
		if _, err := s.Search(t.Context(), q, SearchOptions{}); !errors.Is(err, ErrNoQuery) {
			t.Errorf("%q: got %v, want ErrNoQuery", q, err)
		}
	}
	// Stop words only, or words found nowhere: no results, no error.
	for _, q := range []string{"the and of", "xyzzyplugh", "frobnicate quux"} {
		if rs, err := s.Search(t.Context(), q, SearchOptions{}); err != nil || len(rs) != 0 {
			t.Errorf("%q: got %d results, %v; want none and no error", q, len(rs), err)
		}
	}
	if _, err := s.Search(t.Context(), "lock", SearchOptions{Mode: ModeHybrid}); err == nil {
		t.Error("hybrid without an embedder: want an error")
	}
	if _, err := s.Search(t.Context(), "lock", SearchOptions{Limit: 101}); err == nil {
		t.Error("limit 101: want an error")
	}
}

// flakyEmbedder fails on call number failOn (1-based), and records inputs.
type flakyEmbedder struct {
	HashEmbedder
	mu     sync.Mutex
	calls  int
	failOn int
	inputs []string
}

func (f *flakyEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == f.failOn {
		return nil, errors.New("embedding API down")
	}
	f.mu.Lock()
	f.inputs = append(f.inputs, texts...)
	f.mu.Unlock()
	return f.HashEmbedder.Embed(ctx, texts)
}

func TestEmbedResumesAndHybridSearch(t *testing.T) {
	t.Parallel()
	flaky := &flakyEmbedder{HashEmbedder: HashEmbedder{Dims: 64}, failOn: 3}
	s, pool := newTestStore(t, StoreOptions{Embedder: flaky, EmbedBatch: 10})
	ingest(t, s, testDocs(t))
	var total int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM kb_chunks").Scan(&total); err != nil {
		t.Fatal(err)
	}
	st, err := s.Embed(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "embedding API down") {
		t.Fatalf("first run: got %v, want the embedder's error", err)
	}
	if st.Embedded != 20 {
		t.Errorf("first run stored %d embeddings, want 20 (two batches)", st.Embedded)
	}
	flaky.inputs = nil
	st, err = s.Embed(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Embedded != total-20 || len(flaky.inputs) != total-20 || st.Pending != total-20 {
		t.Errorf("resumed run embedded %d (sent %d, pending %d), want %d", st.Embedded, len(flaky.inputs), st.Pending, total-20)
	}
	if st, err = s.Embed(t.Context(), nil); err != nil || st.Embedded != 0 {
		t.Errorf("third run: %d embedded, %v; want nothing to do", st.Embedded, err)
	}
	var idx string
	if err := pool.QueryRow(t.Context(), "SELECT indexdef FROM pg_indexes WHERE indexname = $1", modelIndexName("local-hash-ngram-64")).Scan(&idx); err != nil {
		t.Fatalf("HNSW index of the model: %v", err)
	}
	if !strings.Contains(idx, "USING hnsw") || !strings.Contains(idx, "vector(64)") || !strings.Contains(idx, "'local-hash-ngram-64'") {
		t.Errorf("index: %s", idx)
	}

	stats, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Mode != ModeHybrid || stats.Embedder != "local-hash-ngram-64" || len(stats.Models) != 1 || stats.Models[0].Embedded != total {
		t.Errorf("stats %+v", stats)
	}

	rs, err := s.Search(t.Context(), "why does SET NOT NULL scan the whole table", SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || rs[0].Heading != "SQL Commands > ALTER TABLE — change the definition of a table > Description > SET/DROP NOT NULL" {
		t.Fatalf("hybrid: first result %+v", rs)
	}
	vec := 0
	for _, r := range rs {
		if r.VectorRank > 0 {
			vec++
		}
	}
	if vec == 0 {
		t.Error("hybrid: no result came from the vector side")
	}
	// The fusion weight moves hybrid towards one side: a tiny vector
	// weight keeps the full-text order, a huge one the vector order.
	ids := func(rs []Result) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ChunkID)
		}
		return out
	}
	for _, tc := range []struct {
		weight float64
		side   Mode
	}{{1e-9, ModeFullText}, {1e9, ModeVector}} {
		want, err := s.Search(t.Context(), "table lock", SearchOptions{Mode: tc.side, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Search(t.Context(), "table lock", SearchOptions{Mode: ModeHybrid, Limit: 5, VectorWeight: tc.weight})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(ids(want), ids(got)); d != "" {
			t.Errorf("hybrid with vector weight %g is not the %s order (-%s +hybrid):\n%s", tc.weight, tc.side, tc.side, d)
		}
	}
	if _, err := s.Search(t.Context(), "table lock", SearchOptions{Mode: ModeHybrid, VectorWeight: -1}); err == nil {
		t.Error("negative vector weight: no error")
	}
	// Filters apply to the vector side too (iterative scan).
	rs, err = s.Search(t.Context(), "table lock", SearchOptions{Mode: ModeVector, Kinds: []Kind{KindSource}})
	if err != nil || len(rs) != 0 {
		t.Errorf("vector search filtered to an absent kind: %d results, %v", len(rs), err)
	}
	rs, err = s.Search(t.Context(), "table lock", SearchOptions{Mode: ModeVector, Limit: 5})
	if err != nil || len(rs) != 5 || rs[0].VectorRank != 1 || rs[0].FullTextRank != 0 {
		t.Errorf("vector search: %+v, %v", rs, err)
	}

	// Another dimension under the same model name is refused.
	other := NewStore(pool, StoreOptions{Embedder: renamed{HashEmbedder{Dims: 32}, "local-hash-ngram-64"}})
	if err := other.ensureModel(t.Context(), "local-hash-ngram-64", 32); err == nil || !strings.Contains(err.Error(), "64 dimensions") {
		t.Errorf("dimension change: got %v", err)
	}
}

type renamed struct {
	HashEmbedder
	name string
}

func (r renamed) Model() string { return r.name }

func TestStatsFullTextOnly(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	ingest(t, s, testDocs(t))
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != ModeFullText || st.Embedder != "" || len(st.Sources) != 1 || st.Sources[0].Sources != 4 || st.Chunks == 0 || st.Tokens == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	ingest(t, s, testDocs(t))
	cases := []EvalCase{
		{Question: "why does SET NOT NULL scan the whole table", Want: "sql-altertable.html"},
		{Question: "abort statements that wait too long for a lock", Want: "runtime-config-client.html#GUC-LOCK-TIMEOUT"},
		{Question: "vacuum freeze wraparound", Want: "routine-vacuuming.html"},
	}
	rep, err := s.Evaluate(t.Context(), cases, SearchOptions{Mode: ModeFullText})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Questions != 3 || rep.Hit1 != 2.0/3 || rep.Hit10 != 2.0/3 || rep.AnchorQuestions != 1 || rep.AnchorHit10 != 1 {
		t.Errorf("report %+v", rep)
	}
	if diff := cmp.Diff([]string{"vacuum freeze wraparound"}, rep.Misses); diff != "" {
		t.Errorf("misses (-want +got):\n%s", diff)
	}
}

// TestSearchModesWithoutEmbeddings: with an embedder whose model has no
// embeddings yet, auto mode searches full text only and the vector modes
// say why they cannot run.
func TestSearchModesWithoutEmbeddings(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{Embedder: HashEmbedder{Dims: 16}})
	ingest(t, s, testDocs(t))
	rs, err := s.Search(t.Context(), "lock_timeout", SearchOptions{})
	if err != nil || len(rs) == 0 || rs[0].FullTextRank != 1 || rs[0].VectorRank != 0 {
		t.Errorf("auto: %+v, %v; want full-text results", rs, err)
	}
	if rs, err := s.Search(t.Context(), "the and of", SearchOptions{}); err != nil || len(rs) != 0 {
		t.Errorf("auto, no searchable words: got %d results, %v; want none", len(rs), err)
	}
	for _, m := range []Mode{ModeHybrid, ModeVector} {
		if _, err := s.Search(t.Context(), "lock_timeout", SearchOptions{Mode: m}); err == nil || !strings.Contains(err.Error(), "no embeddings stored") {
			t.Errorf("%s: got %v, want the no-embeddings error", m, err)
		}
	}
	if _, err := s.Search(t.Context(), "lock_timeout", SearchOptions{Mode: "semantic"}); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Errorf("unknown mode: got %v", err)
	}
}
