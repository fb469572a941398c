package kb

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPackIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ids  []int64
		want []byte
	}{
		{"empty", nil, []byte{}},
		{"one", []int64{5}, []byte{5}},
		{"small gaps", []int64{1, 2, 130}, []byte{1, 1, 128, 1}},
		{"large id", []int64{1 << 40}, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x20}},
	}
	for _, tc := range tests {
		got, err := packIDs(tc.ids)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: packed (-want +got):\n%s", tc.name, diff)
		}
		back, err := appendIDs(nil, got)
		if err != nil {
			t.Errorf("%s: unpack: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.ids, back, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, bad := range [][]int64{{3, 2}, {4, 4}, {-1}} {
		if _, err := packIDs(bad); err == nil {
			t.Errorf("packIDs(%v): want an error (not ascending)", bad)
		}
	}
}

func TestUnpackIDsCorrupt(t *testing.T) {
	t.Parallel()
	for _, b := range [][]byte{
		{0x80}, // truncated varint
		{3, 0}, // zero gap after the first id: a duplicate
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // over 2^62
	} {
		_, err := appendIDs(nil, b)
		if !errors.Is(err, errBadPostings) {
			t.Errorf("appendIDs(%x): got %v, want errBadPostings", b, err)
		}
		if _, err := topScores([]weightedList{{ids: b, weight: 1}}, 10); !errors.Is(err, errBadPostings) {
			t.Errorf("topScores(%x): got %v, want errBadPostings", b, err)
		}
	}
}

// naiveTop is the reference: a map of sums, fully sorted.
func naiveTop(lists [][]int64, weights []float64, n int) []scoredID {
	sums := map[int64]float64{}
	for i, l := range lists {
		for _, id := range l {
			sums[id] += weights[i]
		}
	}
	var all []scoredID
	for id, s := range sums {
		all = append(all, scoredID{id, s})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].better(all[j]) })
	return all[:min(n, len(all))]
}

func TestTopScores(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	randomList := func(base, span int64, p float64) []int64 {
		var ids []int64
		for id := base; id < base+span; id++ {
			if rng.Float64() < p {
				ids = append(ids, id)
			}
		}
		return ids
	}
	tests := []struct {
		name    string
		lists   [][]int64
		weights []float64
		n       int
	}{
		{"none", nil, nil, 10},
		{"empty lists", [][]int64{{}, {}}, []float64{1, 2}, 10},
		{"ties by id", [][]int64{{7, 3, 9}, {1}}, []float64{1, 1}, 3},
		{"weights add", [][]int64{{1, 2, 3}, {2, 3}, {3}}, []float64{0.5, 1, 2}, 10},
		{"dense", [][]int64{randomList(1000, 5000, 0.3), randomList(1000, 5000, 0.1), randomList(3000, 100, 0.9)}, []float64{0.7, 2.1, 1.3}, 50},
		// Ids far apart: scored in a map, not a flat array.
		{"sparse", [][]int64{{1, 1 << 40, 1 << 41}, {1 << 40, 5}, {1 << 41}}, []float64{1, 1, 3}, 2},
	}
	for _, tc := range tests {
		var lists []weightedList
		for i, l := range tc.lists {
			if !slices.IsSorted(l) {
				slices.Sort(l)
			}
			b, err := packIDs(l)
			if err != nil {
				t.Fatal(err)
			}
			lists = append(lists, weightedList{ids: b, weight: tc.weights[i]})
		}
		got, err := topScores(lists, tc.n)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		want := naiveTop(tc.lists, tc.weights, tc.n)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(scoredID{})); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestFilteredSearchDoesNotStarve: a filter that keeps a few chunks
// among many better-scoring ones still returns all of them, in full text,
// vector and hybrid search.
func TestFilteredSearchDoesNotStarve(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{Embedder: HashEmbedder{Dims: 32}})
	var docs []Document
	for i := range 60 {
		d := Document{Key: fmt.Sprintf("web:%d", i), Kind: KindWeb, Title: "vacuum freeze", URL: fmt.Sprintf("https://example.org/%d", i)}
		if i%20 == 0 {
			d.Kind, d.Trust, d.PGVersion = KindDocs, TrustHigh, "15"
		}
		for c := range 5 {
			text := "vacuum freeze wraparound autovacuum"
			if d.Kind == KindDocs {
				text = "vacuum details"
			}
			d.Chunks = append(d.Chunks, Chunk{Heading: []string{d.Title, fmt.Sprint("part ", c)}, Text: fmt.Sprintf("%s %d %d", text, i, c)})
		}
		docs = append(docs, d)
	}
	if _, err := s.Ingest(t.Context(), "mixed", docs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Embed(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{ModeFullText, ModeVector, ModeHybrid} {
		for _, opts := range []SearchOptions{
			{Kinds: []Kind{KindDocs}},
			{MinTrust: TrustHigh},
			{Version: "15", Kinds: []Kind{KindDocs, KindSource}},
		} {
			opts.Mode, opts.Limit = mode, 20
			rs, err := s.Search(t.Context(), "vacuum freeze wraparound", opts)
			if err != nil {
				t.Fatalf("%s %+v: %v", mode, opts, err)
			}
			// 3 docs sources of 5 chunks pass the filter, out of 300 chunks.
			if len(rs) != 15 {
				t.Errorf("%s %+v: %d results, want the 15 chunks that pass", mode, opts, len(rs))
			}
			for _, r := range rs {
				if r.Kind != KindDocs || r.PGVersion != "15" {
					t.Errorf("%s %+v: result %s of kind %s, version %q", mode, opts, r.URL, r.Kind, r.PGVersion)
				}
			}
		}
	}
}

// TestMigrationFillsPostings: a knowledge base ingested before migration
// 0004 (posting lists of the old shape) is searchable right after Migrate,
// without a new ingest.
func TestMigrationFillsPostings(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t, StoreOptions{})
	ingest(t, s, testDocs(t))
	// Back to the schema of version 3, with the chunks still there.
	for _, q := range []string{
		"DROP TABLE kb_postings",
		"CREATE TABLE kb_postings (lexeme text PRIMARY KEY, chunk_ids bigint[] NOT NULL)",
		"CREATE TABLE kb_postings_simple (lexeme text PRIMARY KEY, chunk_ids bigint[] NOT NULL)",
		"DELETE FROM kb_lexemes",
		"DELETE FROM kb_schema_migrations WHERE version = 4",
	} {
		if _, err := pool.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Search(t.Context(), "lock_timeout", SearchOptions{Kinds: []Kind{KindDocs}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || rs[0].URL != "https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-LOCK-TIMEOUT" {
		t.Errorf("after the migration: %+v", rs)
	}
}

// TestCommonTermsOnly: in a knowledge base over commonTermMinChunks chunks,
// a query whose terms are all common still finds chunks (its two rarest
// terms' body lists are read in a second query), filters included.
func TestCommonTermsOnly(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, StoreOptions{})
	var docs []Document
	for i := range commonTermMinChunks / 100 {
		d := Document{Key: fmt.Sprintf("doc:%d", i), Kind: KindWeb, Title: fmt.Sprintf("page %d", i), URL: fmt.Sprintf("https://example.org/%d", i)}
		if i == 7 {
			d.Kind, d.Trust = KindDocs, TrustHigh
		}
		for c := range 100 {
			text := "vacuum freeze tuples"
			if c%2 == 0 {
				text = "vacuum freeze"
			}
			d.Chunks = append(d.Chunks, Chunk{Heading: []string{d.Title, fmt.Sprint("part ", c)}, Text: fmt.Sprintf("%s %d", text, c)})
		}
		docs = append(docs, d)
	}
	if _, err := s.Ingest(t.Context(), "common", docs, nil); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []SearchOptions{{}, {Kinds: []Kind{KindDocs}}} {
		opts.Limit = 5
		rs, err := s.Search(t.Context(), "vacuum freeze tuples", opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		if len(rs) != 5 {
			t.Fatalf("%+v: %d results, want 5", opts, len(rs))
		}
		for _, r := range rs {
			if !strings.Contains(r.Text, "tuples") || len(opts.Kinds) > 0 && r.Kind != KindDocs {
				t.Errorf("%+v: result %q (%s) should hold all three terms", opts, r.Text, r.Kind)
			}
		}
	}
}
