package kb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// Mode selects the retrievers a search uses.
type Mode string

// Search modes.
const (
	// ModeAuto is hybrid when the store has an embedder whose model has
	// stored embeddings, full-text otherwise.
	ModeAuto     Mode = ""
	ModeHybrid   Mode = "hybrid"
	ModeFullText Mode = "fulltext"
	ModeVector   Mode = "vector"
)

// SearchOptions narrow and size a search.
type SearchOptions struct {
	// Limit is the number of results, default 10, at most 100.
	Limit int
	// Kinds keeps only these kinds of sources (any when empty).
	Kinds []Kind
	// MinTrust keeps sources at or above this trust level.
	MinTrust Trust
	// Version keeps chunks of this PostgreSQL major version and chunks that
	// are not version-specific (any when empty).
	Version string
	Mode    Mode
	// VectorWeight weighs the vector ranks against the full-text ranks in
	// the reciprocal rank fusion of a hybrid search: 1 (the default, also
	// for 0) counts both alike; below 1 a weak embedding model can add its
	// paraphrase matches without pushing down the full-text hits. `kb
	// eval --vector-weights` measures the effect for a model.
	VectorWeight float64
}

// Result is one chunk found, with what a citation needs.
type Result struct {
	ChunkID   int64   `json:"chunk_id"`
	Title     string  `json:"title"`
	Heading   string  `json:"heading"`
	URL       string  `json:"url"`
	Author    string  `json:"author"`
	Kind      Kind    `json:"kind"`
	Trust     string  `json:"trust"`
	PGVersion string  `json:"pg_version,omitempty"`
	Snippet   string  `json:"snippet"`
	Text      string  `json:"text"`
	Score     float64 `json:"score"`
	// Ranks in each retriever, 0 when the retriever did not return it.
	FullTextRank int `json:"fulltext_rank,omitempty"`
	VectorRank   int `json:"vector_rank,omitempty"`
}

// Ranking parameters, tuned on the eval set (kb/testdata/eval.jsonl) by a
// grid over headingBoost, phraseWeight and commonTermDF; variables so that
// such a grid can set them.
var (
	rrfK = 60.0 // reciprocal rank fusion constant (Cormack et al. 2009)
	// headingBoost is the extra weight, as a multiple of a term's IDF, of a
	// query term found in the chunk's heading path (page title, sections,
	// entry term); 1 counts a heading match twice.
	headingBoost = 1.0
	// identifierWeight weighs exact identifier matches (simple config,
	// underscores removed: lock_timeout -> locktimeout).
	identifierWeight = 2.0
	// phraseWeight weighs a pair of query words found as a phrase.
	phraseWeight = 1.0
	// commonTermDF: terms in a larger fraction of chunks are ignored.
	commonTermDF = 0.25
	// commonTermMinChunks: below this many chunks no term is dropped (the
	// cost does not matter there).
	commonTermMinChunks = 5000
	// phraseCandidates: in unfiltered searches, phrase matches re-rank
	// this many best chunks by term score.
	phraseCandidates = 200
	// efSearch is the HNSW candidate list size at query time.
	efSearch = 100
)

// ErrNoQuery is returned for a query with no searchable words.
var ErrNoQuery = errors.New("query has no searchable words")

// Search finds the chunks that best answer a query: full-text top-k and
// (when an embedder is configured and its model has embeddings) HNSW vector
// top-k, fused by reciprocal rank fusion.
func (s *Store) Search(ctx context.Context, query string, opts SearchOptions) ([]Result, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, ErrNoQuery
	}
	if opts.Limit <= 0 {
		opts.Limit = 10
	}
	if opts.Limit > 100 {
		return nil, fmt.Errorf("search: limit %d is over 100", opts.Limit)
	}
	if opts.VectorWeight < 0 || math.IsNaN(opts.VectorWeight) || math.IsInf(opts.VectorWeight, 0) {
		return nil, fmt.Errorf("search: vector weight %v: want a finite number, 0 or more", opts.VectorWeight)
	}
	vecWeight := opts.VectorWeight
	if vecWeight == 0 {
		vecWeight = 1
	}
	fullText, vector, err := s.retrievers(opts.Mode)
	if err != nil {
		return nil, err
	}
	cand := max(50, 3*opts.Limit)
	var ftIDs, vecIDs []int64
	var terms queryTerms
	// The full-text side does not wait for the vector side's model
	// lookup: they run concurrently from the start.
	vectorRan := false
	g, gctx := errgroup.WithContext(ctx)
	if fullText {
		g.Go(func() error {
			var err error
			if terms, err = s.queryTerms(gctx, query, opts); err != nil {
				return err
			}
			ftIDs, err = s.fullText(gctx, terms, opts, cand)
			return err
		})
	}
	if vector {
		g.Go(func() error {
			model := s.embedder.Model()
			dims, err := s.modelDims(gctx, model)
			if err != nil {
				return fmt.Errorf("search: %w", err)
			}
			if dims == 0 {
				if opts.Mode == ModeAuto {
					return nil // full text only until embeddings are stored
				}
				return fmt.Errorf("search: no embeddings stored for model %s (run kb ingest with an API key)", model)
			}
			vectorRan = true
			vecs, err := s.embedder.Embed(gctx, []string{query})
			if err != nil {
				return fmt.Errorf("search: embed query: %w", err)
			}
			if len(vecs) != 1 || len(vecs[0]) != dims {
				return fmt.Errorf("search: query embedding does not have the %d dimensions of stored %s embeddings", dims, model)
			}
			vecIDs, err = s.vectorSearch(gctx, model, dims, vecs[0], opts, cand)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !vectorRan && len(terms.en) == 0 && len(terms.simple) == 0 {
		return nil, ErrNoQuery
	}
	type fused struct {
		id        int64
		score     float64
		ftR, vecR int
	}
	byID := map[int64]*fused{}
	add := func(ids []int64, vec bool) {
		w := 1.0
		if vec {
			w = vecWeight
		}
		for i, id := range ids {
			f := byID[id]
			if f == nil {
				f = &fused{id: id}
				byID[id] = f
			}
			f.score += w / (rrfK + float64(i+1))
			if vec {
				f.vecR = i + 1
			} else {
				f.ftR = i + 1
			}
		}
	}
	add(ftIDs, false)
	add(vecIDs, true)
	all := make([]*fused, 0, len(byID))
	for _, f := range byID {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		// Ties (one retriever each at the same rank): full text first.
		if all[i].ftR != all[j].ftR {
			return all[i].ftR != 0 && (all[j].ftR == 0 || all[i].ftR < all[j].ftR)
		}
		return all[i].id < all[j].id
	})
	if len(all) > opts.Limit {
		all = all[:opts.Limit]
	}
	ids := make([]int64, len(all))
	for i, f := range all {
		ids[i] = f.id
	}
	details, err := s.details(ctx, ids, terms.orQuery())
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(all))
	for _, f := range all {
		r, ok := details[f.id]
		if !ok {
			continue // deleted between the two queries
		}
		r.Score = f.score
		r.FullTextRank = f.ftR
		r.VectorRank = f.vecR
		out = append(out, r)
	}
	return out, nil
}

// retrievers tells which retrievers a mode runs, and checks that vector
// modes have an embedder. ModeAuto runs the vector side when there is an
// embedder; that side skips itself when its model has no embeddings.
func (s *Store) retrievers(m Mode) (fullText, vector bool, err error) {
	switch m {
	case ModeFullText:
		return true, false, nil
	case ModeAuto:
		return true, s.embedder != nil, nil
	case ModeHybrid, ModeVector:
		if s.embedder == nil {
			return false, false, fmt.Errorf("search: %s mode needs an embedder (no API key configured)", m)
		}
		return m == ModeHybrid, true, nil
	}
	return false, false, fmt.Errorf("search: unknown mode %q", m)
}

// queryTerm is one lexeme of the query with its inverse document frequency.
type queryTerm struct {
	lexeme string
	idf    float64
	df     float64 // fraction of chunks containing it
}

type queryTerms struct {
	en      []queryTerm // english stems
	simple  []queryTerm // identifiers, underscores removed
	phrases []queryTerm // adjacent english stems as a phrase query ('set' <2> 'null')
	total   float64     // chunks in the knowledge base
	// lists are the posting lists read with the terms (one per filter
	// group that passes): headings and identifiers, and the body lists
	// of terms that are not common.
	lists map[listKey][][]byte
}

// listKey names the posting lists of one lexeme in one field.
type listKey struct {
	field  int16
	lexeme string
}

// orQuery is the tsquery text matching any english term.
func (q queryTerms) orQuery() string {
	parts := make([]string, len(q.en))
	for i, t := range q.en {
		parts[i] = quoteLexeme(t.lexeme)
	}
	return strings.Join(parts, " | ")
}

var identifierRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+`)

// safeLexeme keeps lexemes that need no escaping inside tsquery quotes.
var safeLexeme = regexp.MustCompile(`^[\p{L}\p{N}_.\-/]+$`)

func quoteLexeme(l string) string { return "'" + l + "'" }

// queryTerms splits the query into english stems (stop words removed) and
// identifiers, and weighs each by its rarity in the knowledge base (BM25's
// IDF), since PostgreSQL's own ranking functions have none. The same round
// trip reads the posting lists fullText will need (those whose filter
// group passes opts), except the body lists of common terms.
func (s *Store) queryTerms(ctx context.Context, query string, opts SearchOptions) (queryTerms, error) {
	var q queryTerms
	var ids []string
	seen := map[string]bool{}
	for _, m := range identifierRE.FindAllString(query, -1) {
		l := strings.ToLower(strings.ReplaceAll(m, "_", ""))
		if !seen[l] && safeLexeme.MatchString(l) {
			seen[l] = true
			ids = append(ids, l)
		}
	}
	filter, args := filterSQL(opts, []any{query, ids, commonTermDF, commonTermMinChunks})
	rows, err := s.pool.Query(ctx, `
		WITH q AS MATERIALIZED (
			SELECT t.lexeme, t.positions, coalesce(l.ndoc, 0) AS ndoc
			FROM unnest(to_tsvector('english', $1)) t
			LEFT JOIN kb_lexemes l ON l.config = 'english' AND l.lexeme = t.lexeme),
		n AS MATERIALIZED (
			SELECT coalesce(max(ndoc), 0) AS total FROM kb_lexemes WHERE config = 'total' AND lexeme = ''),
		k AS (
			SELECT 1::int2 AS field, lexeme FROM q WHERE ndoc > 0
			UNION ALL
			SELECT 0::int2, lexeme FROM q, n WHERE ndoc > 0 AND (ndoc <= $3::float8 * total + 1 OR total < $4::int)
			UNION ALL
			SELECT 2::int2, lexeme FROM unnest($2::text[]) lexeme)
		SELECT 'english', lexeme, positions, ndoc, NULL::int2, NULL::bytea FROM q
		UNION ALL
		SELECT 'simple', lexeme, NULL, ndoc, NULL, NULL FROM kb_lexemes WHERE config = 'simple' AND lexeme = ANY($2)
		UNION ALL
		SELECT 'total', '', NULL, total, NULL, NULL FROM n
		UNION ALL
		SELECT 'list', c.lexeme, NULL, NULL, c.field, c.chunk_ids
		FROM k JOIN kb_postings c ON c.field = k.field AND c.lexeme = k.lexeme
		WHERE true`+filter, args...)
	if err != nil {
		return q, fmt.Errorf("search: parse query: %w", err)
	}
	q.lists = map[listKey][][]byte{}
	type pos struct {
		lexeme string
		at     int
	}
	var seq []pos
	df := map[string]float64{}
	var total float64
	for rows.Next() {
		var cfg, l string
		var at []int16
		var n *float64
		var field *int16
		var list []byte
		if err := rows.Scan(&cfg, &l, &at, &n, &field, &list); err != nil {
			rows.Close()
			return q, fmt.Errorf("search: parse query: %w", err)
		}
		if cfg == "list" && field != nil {
			k := listKey{*field, l}
			q.lists[k] = append(q.lists[k], list)
			continue
		}
		if n == nil {
			continue
		}
		switch n := *n; cfg {
		case "total":
			total = n
		case "simple":
			df["simple:"+l] = n
		case "english":
			if !safeLexeme.MatchString(l) || n == 0 {
				continue
			}
			df["english:"+l] = n
			for _, a := range at {
				seq = append(seq, pos{l, int(a)})
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return q, fmt.Errorf("search: parse query: %w", err)
	}
	q.total = total
	idf := func(n float64) float64 { return math.Log(1 + (total-n+0.5)/(n+0.5)) }
	sort.Slice(seq, func(i, j int) bool { return seq[i].at < seq[j].at })
	added := map[string]bool{}
	for _, p := range seq {
		if !added[p.lexeme] {
			added[p.lexeme] = true
			q.en = append(q.en, queryTerm{lexeme: p.lexeme, idf: idf(df["english:"+p.lexeme]), df: df["english:"+p.lexeme] / max(total, 1)})
		}
	}
	for _, l := range ids {
		if n, ok := df["simple:"+l]; ok {
			q.simple = append(q.simple, queryTerm{lexeme: l, idf: idf(n), df: n / max(total, 1)})
		}
	}
	// Phrases: consecutive query words (stop words may sit between them,
	// as in SET NOT NULL) found in the same order and distance.
	for i := 1; i < len(seq); i++ {
		a, b := seq[i-1], seq[i]
		if d := b.at - a.at; d > 0 && d <= 3 {
			q.phrases = append(q.phrases, queryTerm{
				lexeme: fmt.Sprintf("%s <%d> %s", quoteLexeme(a.lexeme), d, quoteLexeme(b.lexeme)),
				idf:    (idf(df["english:"+a.lexeme]) + idf(df["english:"+b.lexeme])) / 2,
			})
		}
	}
	return q, nil
}

// filterSQL appends the WHERE conditions of opts on alias c.
func filterSQL(opts SearchOptions, args []any) (string, []any) {
	var conds []string
	if len(opts.Kinds) > 0 {
		ks := make([]string, len(opts.Kinds))
		for i, k := range opts.Kinds {
			ks[i] = string(k)
		}
		args = append(args, ks)
		conds = append(conds, fmt.Sprintf("c.kind = ANY($%d)", len(args)))
	}
	if opts.MinTrust > TrustUnknown {
		args = append(args, int16(opts.MinTrust))
		conds = append(conds, fmt.Sprintf("c.trust >= $%d", len(args)))
	}
	if opts.Version != "" {
		args = append(args, opts.Version)
		conds = append(conds, fmt.Sprintf("(c.pg_version = $%d OR c.pg_version = '')", len(args)))
	}
	if len(conds) == 0 {
		return "", args
	}
	return " AND " + strings.Join(conds, " AND "), args
}

// fullText ranks chunks by the summed IDF of the query terms they
// contain, a term counting more in the heading path and a pair of query
// words more when found as a phrase. The posting lists of the terms (read
// by queryTerms, only the filter groups that pass) are summed in Go, and
// the best phraseCandidates chunks are re-ranked with their phrase matches
// in one more query. Terms found in over a quarter of all chunks are
// dropped from the body match in large knowledge bases (unless nothing
// else is left): they barely weigh and would make every query read most of
// the chunk ids.
func (s *Store) fullText(ctx context.Context, q queryTerms, opts SearchOptions, limit int) ([]int64, error) {
	en := q.en
	var rare []queryTerm
	for _, t := range en {
		if t.df <= commonTermDF || q.total < float64(commonTermMinChunks) {
			rare = append(rare, t)
		}
	}
	if len(rare) > 0 || len(q.simple) > 0 {
		en = rare
	} else if len(en) > 2 {
		en = slices.Clone(en)
		sort.Slice(en, func(i, j int) bool { return en[i].idf > en[j].idf })
		en = en[:2]
	}
	if len(en) == 0 && len(q.simple) == 0 {
		return nil, nil
	}
	// Every list of the query, with its weight; the order fixes the order
	// of the sums.
	weights := map[listKey]float64{}
	var order []listKey
	add := func(field int16, lexeme string, w float64) {
		k := listKey{field, lexeme}
		if _, ok := weights[k]; !ok {
			order = append(order, k)
		}
		weights[k] += w
	}
	var missing []listKey
	for _, t := range en {
		add(fieldBody, t.lexeme, t.idf)
		k := listKey{fieldBody, t.lexeme}
		if _, ok := q.lists[k]; !ok && t.df > commonTermDF && q.total >= float64(commonTermMinChunks) {
			// A common term kept because no other is left: queryTerms
			// did not read its body list.
			missing = append(missing, k)
		}
	}
	// Headings are short: their lists stay small for common terms too.
	for _, t := range q.en {
		add(fieldHeading, t.lexeme, t.idf*headingBoost)
	}
	for _, t := range q.simple {
		add(fieldIdent, t.lexeme, t.idf*identifierWeight)
	}
	byKey := q.lists
	if len(missing) > 0 {
		var err error
		if byKey, err = s.postings(ctx, missing, opts, q.lists); err != nil {
			return nil, err
		}
	}
	var lists []weightedList
	for _, k := range order {
		for _, ids := range byKey[k] {
			lists = append(lists, weightedList{ids: ids, weight: weights[k]})
		}
	}
	n := limit
	if len(q.phrases) > 0 {
		n = max(phraseCandidates, limit)
	}
	top, err := topScores(lists, n)
	if err != nil {
		return nil, fmt.Errorf("search: full text: %w", err)
	}
	if len(q.phrases) > 0 && len(top) > 0 {
		if top, err = s.phraseRerank(ctx, q.phrases, top); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, 0, min(limit, len(top)))
	for _, t := range top[:min(limit, len(top))] {
		ids = append(ids, t.id)
	}
	return ids, nil
}

// postings reads the posting lists of keys whose filter group passes opts
// and adds them to a copy of lists.
func (s *Store) postings(ctx context.Context, keys []listKey, opts SearchOptions, lists map[listKey][][]byte) (map[listKey][][]byte, error) {
	fields := make([]int16, len(keys))
	lexemes := make([]string, len(keys))
	for i, k := range keys {
		fields[i], lexemes[i] = k.field, k.lexeme
	}
	filter, args := filterSQL(opts, []any{fields, lexemes})
	rows, err := s.pool.Query(ctx, `SELECT c.field, c.lexeme, c.chunk_ids
		FROM unnest($1::int2[], $2::text[]) q (field, lexeme)
		JOIN kb_postings c ON c.field = q.field AND c.lexeme = q.lexeme
		WHERE true`+filter, args...)
	if err != nil {
		return nil, fmt.Errorf("search: posting lists: %w", err)
	}
	out := maps.Clone(lists)
	for rows.Next() {
		var k listKey
		var ids []byte
		if err := rows.Scan(&k.field, &k.lexeme, &ids); err != nil {
			rows.Close()
			return nil, fmt.Errorf("search: posting lists: %w", err)
		}
		out[k] = append(out[k], ids)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: posting lists: %w", err)
	}
	return out, nil
}

// phraseRerank adds to each candidate's score the weight of the query
// phrases its text holds (positions are only in the chunk row) and sorts
// them again. Candidates whose chunk is gone are dropped.
func (s *Store) phraseRerank(ctx context.Context, phrases []queryTerm, top []scoredID) ([]scoredID, error) {
	ids := make([]int64, len(top))
	for i, t := range top {
		ids[i] = t.id
	}
	qs := make([]string, len(phrases))
	for i, t := range phrases {
		qs[i] = t.lexeme
	}
	// One SQL text for every query (weights are added here), so the
	// prepared statement is reused.
	rows, err := s.pool.Query(ctx, `SELECT c.id, ARRAY(SELECT c.tsv_en @@ p.q FROM unnest($2::tsquery[]) WITH ORDINALITY p (q, i) ORDER BY p.i)
		FROM kb_chunks c WHERE c.id = ANY($1)`, ids, qs)
	if err != nil {
		return nil, fmt.Errorf("search: phrases: %w", err)
	}
	matches := make(map[int64][]bool, len(top))
	for rows.Next() {
		var id int64
		var found []bool
		if err := rows.Scan(&id, &found); err != nil {
			rows.Close()
			return nil, fmt.Errorf("search: phrases: %w", err)
		}
		if len(found) != len(phrases) {
			rows.Close()
			return nil, fmt.Errorf("search: phrases: %d matches for %d phrases", len(found), len(phrases))
		}
		matches[id] = found
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: phrases: %w", err)
	}
	out := top[:0:0]
	for _, t := range top {
		found, ok := matches[t.id]
		if !ok {
			continue
		}
		for i, f := range found {
			if f {
				t.score += phrases[i].idf * phraseWeight
			}
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].better(out[j]) })
	return out, nil
}

// vectorSearch returns the nearest chunks by cosine distance through the
// model's HNSW index. Iterative scans keep filtered searches from running
// out of candidates.
func (s *Store) vectorSearch(ctx context.Context, model string, dims int, v []float32, opts SearchOptions, limit int) ([]int64, error) {
	args := []any{vectorLiteral(v)}
	filter, args := filterSQL(opts, args)
	args = append(args, limit)
	sql := fmt.Sprintf(`WITH v AS MATERIALIZED (
			SELECT c.id, e.embedding::vector(%[1]d) <=> $1::vector(%[1]d) AS d
			FROM kb_embeddings e JOIN kb_chunks c ON c.id = e.chunk_id
			WHERE e.model = %[2]s%[3]s
			ORDER BY e.embedding::vector(%[1]d) <=> $1::vector(%[1]d)
			LIMIT $%[4]d)
		SELECT id FROM v ORDER BY d, id`, dims, modelLiteral(model), filter, len(args))
	ids, err := s.ids(ctx, []string{
		fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", max(efSearch, limit)),
		"SET LOCAL hnsw.iterative_scan = relaxed_order",
	}, sql, args)
	if err != nil {
		return nil, fmt.Errorf("search: vector: %w", err)
	}
	return ids, nil
}

// ids runs a query returning ids, with settings local to its transaction,
// in one round trip.
func (s *Store) ids(ctx context.Context, settings []string, sql string, args []any) ([]int64, error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, set := range settings {
		b.Queue(set)
	}
	var out []int64
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	b.Queue("COMMIT")
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return out, nil
}

// details loads what a citation needs, with a snippet around the query
// terms when there are any.
func (s *Store) details(ctx context.Context, ids []int64, orQuery string) (map[int64]Result, error) {
	out := map[int64]Result{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT c.id, s.title, c.heading, c.url, s.author, c.kind, c.trust, c.pg_version, c.body,
			CASE WHEN $2 = '' THEN left(c.body, 300)
			ELSE ts_headline('english', c.body, $2::tsquery,
				'MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=" … ", StartSel="", StopSel=""') END
		FROM kb_chunks c JOIN kb_sources s ON s.id = c.source_id
		WHERE c.id = ANY($1)`, ids, orQuery)
	if err != nil {
		return nil, fmt.Errorf("search: load results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Result
		var kind string
		var trust int16
		if err := rows.Scan(&r.ChunkID, &r.Title, &r.Heading, &r.URL, &r.Author, &kind, &trust, &r.PGVersion, &r.Text, &r.Snippet); err != nil {
			return nil, fmt.Errorf("search: load results: %w", err)
		}
		r.Kind = Kind(kind)
		r.Trust = Trust(trust).String()
		out[r.ChunkID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: load results: %w", err)
	}
	return out, nil
}
