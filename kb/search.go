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
	"strconv"
	"strings"
	"unicode"

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
	// Match is the full-text relevance on a 0-1 scale: the share of the
	// query's term weight the result's section matches (BM25 with term
	// frequency saturation and length normalisation, heading, identifier
	// and phrase matches), 0 when only the vector side found it.
	Match float64 `json:"match"`
	// AlsoIn are other PostgreSQL versions whose docs or source hold the
	// same section (the result is the newest, or the best match).
	AlsoIn []string `json:"also_in,omitempty"`
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
	// efSearch is the HNSW candidate list size at query time.
	efSearch = 100
	// bm25K1 and bm25B: BM25's term-frequency saturation and length
	// normalisation (Robertson's usual values); a chunk's length is
	// compared with the mean length of its kind (code is longer than prose).
	bm25K1 = 1.2
	bm25B  = 0.75
	// minLength: the shortest length BM25 normalises to, as a share of
	// the kind's mean.
	minLength = 0.15
	// kindCandidates: chunks per kind that the term sums pass on to the
	// BM25 re-ranking, so one kind's long chunks cannot crowd out another.
	kindCandidates = 300
	// kindPrior weighs each kind's BM25 match before the kinds are merged
	// (chosen with the other weights by a grid on the eval set),
	// for plain-language questions: the docs answer them; rules (our own
	// wording, trust "reviewer") and source code come second. A query
	// naming a code identifier (LockAcquire, lock_timeout found in code)
	// weighs source like docs.
	kindPrior = map[Kind]float64{KindDocs: 1, KindArticle: 0.95, KindRules: 0.8, KindSource: 0.65, KindWeb: 0.7, KindMailingList: 0.7}
	// sectionEvidence: a section's score gains this share of the score of
	// its second-best chunk (repeats are collapsed into one result).
	sectionEvidence = 0.05
	// pageEvidence: a section's score gains this share of the best other
	// section of its page (a page about the topic as a whole).
	pageEvidence = 0.2
	// relatedProject weighs the docs and source of related projects
	// (PgBouncer, Patroni, pgvector: chunks without a PostgreSQL version)
	// against PostgreSQL's own, unless the query names the project.
	relatedProject = 0.8
	// codeWords mark a question about code; then source weighs
	// codeIntentSource and docs codeIntentDocs times their prior.
	codeWords = map[string]bool{
		"function": true, "functions": true, "struct": true, "structs": true, "source": true, "code": true,
		"implementation": true, "implemented": true, "implements": true, "defined": true, "definition": true,
		"macro": true, "macros": true, "typedef": true, "enum": true, "readme": true, "header": true,
	}
	// authorityWeight and authorityScale: a docs page gains up to
	// authorityWeight times its prior by how many other pages link to it,
	// on a log scale reaching the full gain at authorityScale pages.
	authorityWeight = 0.2
	authorityScale  = 100.0
	// samePage discounts the sections of one page after its best (see
	// bm25).
	samePage = 0.8
	// kindWords name a kind in a query ("which rule flags …"): then that
	// kind weighs like docs.
	kindWords        = map[string]Kind{"rule": KindRules, "rules": KindRules, "lint": KindRules, "linter": KindRules}
	codeIntentSource = 1.0
	codeIntentDocs   = 0.8
)

// ErrNoQuery is returned for a query with no searchable words.
var ErrNoQuery = errors.New("query has no searchable words")

// Searched tells what a search looked for.
type Searched struct {
	// Query is the query as searched: the one asked, with the corrections.
	Query string `json:"query"`
	// Corrections are misspelt words replaced by the knowledge base's
	// closest word ("cancle" → "cancel").
	Corrections []Suggestion `json:"corrections,omitempty"`
	// Unknown are words of the query found nowhere in the knowledge base
	// and not corrected.
	Unknown []string `json:"unknown,omitempty"`
	// Suggestions are close words for a query of unknown words alone,
	// which finds nothing: a "did you mean".
	Suggestions []Suggestion `json:"suggestions,omitempty"`
}

// Search finds the chunks that best answer a query: full-text top-k and
// (when an embedder is configured and its model has embeddings) HNSW vector
// top-k, fused by reciprocal rank fusion. Misspelt words are corrected as
// SearchExplained says.
func (s *Store) Search(ctx context.Context, query string, opts SearchOptions) ([]Result, error) {
	rs, _, err := s.SearchExplained(ctx, query, opts)
	return rs, err
}

// SearchExplained is Search, and tells what was searched. A word the
// knowledge base holds nowhere (a typo: "cancle", "querry") is replaced by
// its closest word there (see Suggest) when the query has other words the
// knowledge base does hold; a query of unknown words alone finds nothing,
// so that the caller can offer "did you mean" instead of guessing.
func (s *Store) SearchExplained(ctx context.Context, query string, opts SearchOptions) ([]Result, Searched, error) {
	query = strings.TrimSpace(query)
	searched := Searched{Query: query}
	if query == "" {
		return nil, searched, ErrNoQuery
	}
	rs, err := s.search(ctx, query, opts, &searched)
	return rs, searched, err
}

func (s *Store) search(ctx context.Context, query string, opts SearchOptions, searched *Searched) ([]Result, error) {
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
	var ftHits []ftHit
	var vecIDs []int64
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
			if terms, err = s.correct(gctx, query, terms, opts, searched); err != nil {
				return err
			}
			ftHits, err = s.fullText(gctx, terms, opts, cand)
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
		// Only stop words, or words found nowhere: no results (the CLI
		// suggests close words, see Suggest).
		return nil, nil
	}
	ftIDs := make([]int64, len(ftHits))
	hitOf := make(map[int64]ftHit, len(ftHits))
	for i, h := range ftHits {
		ftIDs[i] = h.id
		hitOf[h.id] = h
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
		r.Match = hitOf[f.id].match
		if !vectorRan {
			// Full text only: the score is the BM25 match weighed by
			// kind, which means something on its own (RRF scores do not).
			r.Score = hitOf[f.id].score
		}
		r.AlsoIn = hitOf[f.id].alsoIn
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
	// avgLen is the mean length (tokens) of the chunks of each kind.
	avgLen map[Kind]float64
	// lists are the posting lists read with the terms (one per filter
	// group that passes): headings and identifiers, and the body lists
	// of terms that are not common.
	lists map[listKey][]kindList
	// unknown are query words found nowhere in the knowledge base.
	unknown []string
	// lower is the query in lower case.
	lower string
	// codeIntent: the query asks for code (a function, a struct, where
	// something is defined or implemented).
	codeIntent bool
	// namedKind is a kind the query names ("which rule …").
	namedKind Kind
	// sqlstates are the identifiers that are SQLSTATE codes (lower case).
	sqlstates map[string]bool
}

// kindList is one packed posting list of a filter group, and its kind.
type kindList struct {
	kind Kind
	ids  []byte
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

// identifierRE finds identifiers in a query: snake_case
// (pg_stat_statements, lock_timeout), CamelCase (LockAcquire,
// heap_insert) and SQLSTATE codes (40P01, 57014), which the identifier
// field holds as one lexeme.
// sqlstatePattern is a five-character SQLSTATE code with a digit in its
// first three characters (40P01, 57014, HV000; not ERROR).
const sqlstatePattern = `(?:[0-9][0-9A-Z]{4}|[A-Z][0-9][0-9A-Z]{3}|[A-Z]{2}[0-9][0-9A-Z]{2})`

var (
	sqlstateRE   = regexp.MustCompile(`^` + sqlstatePattern + `$`)
	identifierRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+|\b[A-Z]?[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+\b|\b[A-Z]{2,}[a-z][A-Za-z0-9]*\b|\b` + sqlstatePattern + `\b`)
)

// safeLexeme keeps lexemes that need no escaping inside tsquery quotes.
var safeLexeme = regexp.MustCompile(`^[\p{L}\p{N}_.\-/]+$`)

func quoteLexeme(l string) string { return "'" + l + "'" }

// queryTerms splits the query into english stems (stop words removed) and
// identifiers, and weighs each by its rarity in the knowledge base (BM25's
// IDF), since PostgreSQL's own ranking functions have none. The same round
// trip reads the posting lists fullText will need (those whose filter
// group passes opts), except the body lists of common terms.
func (s *Store) queryTerms(ctx context.Context, query string, opts SearchOptions) (queryTerms, error) {
	q := queryTerms{lower: strings.ToLower(query)}
	for _, w := range strings.FieldsFunc(q.lower, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' && r != '.' }) {
		if codeWords[w] || strings.HasSuffix(w, ".c") || strings.HasSuffix(w, ".h") {
			q.codeIntent = true
		}
		if k, ok := kindWords[w]; ok {
			q.namedKind = k
		}
	}
	var ids []string
	seen := map[string]bool{}
	for _, m := range identifierRE.FindAllString(query, -1) {
		l := strings.ToLower(strings.ReplaceAll(m, "_", ""))
		if sqlstateRE.MatchString(m) {
			if q.sqlstates == nil {
				q.sqlstates = map[string]bool{}
			}
			q.sqlstates[l] = true
		}
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
		SELECT 'english', lexeme, positions, ndoc, NULL::int2, NULL::bytea, NULL::text FROM q
		UNION ALL
		SELECT 'simple', lexeme, NULL, ndoc, NULL, NULL, NULL FROM kb_lexemes WHERE config = 'simple' AND lexeme = ANY($2)
		UNION ALL
		SELECT 'total', '', NULL, total, NULL, NULL, NULL FROM n
		UNION ALL
		SELECT 'avglen', lexeme, NULL, ndoc, NULL, NULL, NULL FROM kb_lexemes WHERE config = 'avglen'
		UNION ALL
		SELECT 'list', c.lexeme, NULL, NULL, c.field, c.chunk_ids, c.kind
		FROM k JOIN kb_postings c ON c.field = k.field AND c.lexeme = k.lexeme
		WHERE true`+filter, args...)
	if err != nil {
		return q, fmt.Errorf("search: parse query: %w", err)
	}
	q.lists = map[listKey][]kindList{}
	q.avgLen = map[Kind]float64{}
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
		var kind *string
		if err := rows.Scan(&cfg, &l, &at, &n, &field, &list, &kind); err != nil {
			rows.Close()
			return q, fmt.Errorf("search: parse query: %w", err)
		}
		if cfg == "list" && field != nil && kind != nil {
			k := listKey{*field, l}
			q.lists[k] = append(q.lists[k], kindList{Kind(*kind), list})
			continue
		}
		if n == nil {
			continue
		}
		switch n := *n; cfg {
		case "total":
			total = n
		case "avglen":
			q.avgLen[Kind(l)] = n
		case "simple":
			df["simple:"+l] = n
		case "english":
			if n == 0 {
				q.unknown = append(q.unknown, l)
			}
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

// ftHit is a result of the full-text side: the best chunk of a section
// and its relevance on a 0-1 scale.
type ftHit struct {
	id    int64
	match float64
	score float64 // match times the kind's prior, plus section evidence: the ranking
	// alsoIn are the other versions holding the same section.
	alsoIn []string
}

// versionLess orders PostgreSQL major versions numerically ("9.6" < "15");
// "" (not version-specific) is lowest.
func versionLess(a, b string) bool {
	x, y := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(x) && i < len(y); i++ {
		m, errM := strconv.Atoi(x[i])
		n, errN := strconv.Atoi(y[i])
		if errM != nil || errN != nil {
			if x[i] != y[i] {
				return x[i] < y[i]
			}
			continue
		}
		if m != n {
			return m < n
		}
	}
	return len(x) < len(y)
}

// fullText ranks sections of the knowledge base for the query terms in
// three steps. (1) Candidates: per kind, the chunks with the highest sums
// of term weights (IDF in the body, more in the heading path, more for an
// identifier), from the posting lists queryTerms read, so one kind's long
// chunks cannot crowd out another kind. (2) BM25: the candidates are
// re-scored with each term's frequency (saturating, k1) against the
// chunk's length relative to its kind's mean (b), plus heading, identifier
// and phrase matches, as a share of the most the query can score. (3)
// Kinds are merged by that share times the kind's prior (docs first for
// plain questions, source alike for identifier queries), and the chunks
// of one page section collapse into one result. Terms found in over a
// quarter of all chunks are dropped from the body match in large
// knowledge bases (unless nothing else is left).
func (s *Store) fullText(ctx context.Context, q queryTerms, opts SearchOptions, limit int) ([]ftHit, error) {
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
			missing = append(missing, k)
		}
	}
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
	// An identifier query: an identifier of the query is in source code.
	codeQuery := false
	for _, t := range q.simple {
		if q.sqlstates[t.lexeme] {
			continue // error codes are in code too, but the docs explain them
		}
		for _, l := range byKey[listKey{fieldIdent, t.lexeme}] {
			if l.kind == KindSource {
				codeQuery = true
			}
		}
	}
	byKind := map[Kind][]weightedList{}
	var kinds []Kind
	for _, k := range order {
		for _, l := range byKey[k] {
			if _, ok := byKind[l.kind]; !ok {
				kinds = append(kinds, l.kind)
			}
			byKind[l.kind] = append(byKind[l.kind], weightedList{ids: l.ids, weight: weights[k]})
		}
	}
	slices.Sort(kinds)
	var cand []scoredID
	for _, k := range kinds {
		top, err := topScores(byKind[k], max(kindCandidates, limit))
		if err != nil {
			return nil, fmt.Errorf("search: full text: %w", err)
		}
		cand = append(cand, top...)
	}
	if len(cand) == 0 {
		return nil, nil
	}
	return s.bm25(ctx, q, en, cand, codeQuery, len(opts.Kinds) == 1, limit)
}

// bm25 re-scores candidate chunks (see fullText) and returns the best
// section of each page section, best first, at most limit.
func (s *Store) bm25(ctx context.Context, q queryTerms, en []queryTerm, cand []scoredID, codeQuery, oneKind bool, limit int) ([]ftHit, error) {
	ids := make([]int64, len(cand))
	for i, c := range cand {
		ids[i] = c.id
	}
	terms := make([]string, len(en))
	for i, t := range en {
		terms[i] = quoteLexeme(t.lexeme)
	}
	heads := make([]string, len(q.en))
	for i, t := range q.en {
		heads[i] = quoteLexeme(t.lexeme)
	}
	idents := make([]string, len(q.simple))
	for i, t := range q.simple {
		idents[i] = quoteLexeme(t.lexeme)
	}
	phrases := make([]string, len(q.phrases))
	for i, t := range q.phrases {
		phrases[i] = t.lexeme
	}
	// ts_rank of a one-lexeme query over an unweighted tsvector is
	// 0.1 * sum(1/j^2, j = 1..tf) / (pi^2/6): the term frequency is read
	// back from it (tsvectors keep at most 256 positions a lexeme), which
	// is several times cheaper than unnesting the tsvector.
	// A section is what a citation links to, in any version: a docs
	// page's anchor (the terms of a definition list share their
	// section's anchor), else the page or file and the heading (a long
	// function spans chunks with their own lines). The version in the URL
	// (/docs/15/, /blob/REL_15_18/) is left out, so that one section
	// found in the docs or source of several versions is one result.
	rows, err := s.pool.Query(ctx, `SELECT c.id, c.source_id,
			CASE WHEN c.kind = 'docs' AND strpos(c.url, '#') > 0 THEN v.u
			ELSE regexp_replace(v.u, '#L[0-9].*$', '') || E'\x01' || c.heading END,
			regexp_replace(v.u, '#.*$', '') || E'\x01' || c.heading,
			c.kind, c.tokens, c.pg_version,
			lower(split_part(s.title, ' ', 1)), s.inlinks,
			ARRAY(SELECT ts_rank(c.tsv_en, t) FROM unnest($2::tsquery[]) WITH ORDINALITY x (t, i) ORDER BY i),
			ARRAY(SELECT c.tsv_head @@ t FROM unnest($3::tsquery[]) WITH ORDINALITY x (t, i) ORDER BY i),
			ARRAY(SELECT c.tsv_simple @@ t FROM unnest($4::tsquery[]) WITH ORDINALITY x (t, i) ORDER BY i),
			ARRAY(SELECT to_tsvector('simple', translate(translate(c.heading, '_', ''), '/', ' ')) @@ t FROM unnest($4::tsquery[]) WITH ORDINALITY x (t, i) ORDER BY i),
			ARRAY(SELECT c.tsv_en @@ t FROM unnest($5::tsquery[]) WITH ORDINALITY x (t, i) ORDER BY i)
		FROM kb_chunks c JOIN kb_sources s ON s.id = c.source_id,
			LATERAL (SELECT regexp_replace(regexp_replace(c.url, '/blob/[^/#]+/', '/blob/'), '/docs/[0-9.]+/', '/docs/') AS u) v
		WHERE c.id = ANY($1)`, ids, terms, heads, idents, phrases)
	if err != nil {
		return nil, fmt.Errorf("search: bm25: %w", err)
	}
	defer rows.Close()
	// The most a chunk can score: every term saturated, in the heading,
	// every identifier and phrase.
	var best float64
	for _, t := range en {
		best += t.idf * (bm25K1 + 1)
	}
	for _, t := range q.en {
		best += t.idf * headingBoost
	}
	for _, t := range q.simple {
		best += t.idf * (identifierWeight + headingBoost)
	}
	for _, t := range q.phrases {
		best += t.idf * phraseWeight
	}
	// A word found nowhere is the rarest of all: no chunk matches it, so
	// the match of every chunk is lower by its weight.
	for range q.unknown {
		best += math.Log(1+(q.total+0.5)/0.5) * (bm25K1 + 1)
	}
	if best <= 0 {
		return nil, nil
	}
	// chunkBest is the best chunk of a section in one version.
	type chunkBest struct {
		id, sourceID int64
		score, match float64
	}
	type section struct {
		key         string
		id          int64
		score, next float64
		sourceID    int64
		kind        Kind
		bestByChunk float64
		version     string // of the best chunk
		// best is the best chunk in each version the section was found in.
		best map[string]chunkBest
		// alt is the page (without version) and heading of the best chunk:
		// a section whose anchor differs between versions (a generated
		// id-1.9.3.85.6 in one, a named anchor in the next) has the same.
		alt string
	}
	sections := map[string]*section{}
	for rows.Next() {
		var id, sourceID int64
		var secKey, altKey, kind, version, project string
		var tokens, inlinks int32
		var ranks []float32
		var inHead, inIdent, identHead, inPhrase []bool
		if err := rows.Scan(&id, &sourceID, &secKey, &altKey, &kind, &tokens, &version, &project, &inlinks, &ranks, &inHead, &inIdent, &identHead, &inPhrase); err != nil {
			return nil, fmt.Errorf("search: bm25: %w", err)
		}
		if len(ranks) != len(en) || len(inHead) != len(q.en) || len(inIdent) != len(q.simple) || len(identHead) != len(q.simple) || len(inPhrase) != len(q.phrases) {
			return nil, fmt.Errorf("search: bm25: %d/%d/%d/%d matches for %d/%d/%d/%d terms", len(ranks), len(inHead), len(inIdent), len(inPhrase), len(en), len(q.en), len(q.simple), len(q.phrases))
		}
		avg := q.avgLen[Kind(kind)]
		if avg <= 0 {
			avg = float64(tokens)
		}
		// A chunk shorter than minLength of its kind's mean counts as that
		// long: a one-line declaration (int ivfflat_probes;) that repeats
		// the query's words is not the best answer to it.
		norm := 1 - bm25B + bm25B*max(float64(tokens), minLength*avg, 1)/max(avg, 1)
		var score float64
		for i, r := range ranks {
			tf := termFrequency(float64(r))
			if tf > 0 {
				score += en[i].idf * tf * (bm25K1 + 1) / (tf + bm25K1*norm)
			}
		}
		for i, ok := range inHead {
			if ok {
				score += q.en[i].idf * headingBoost
			}
		}
		for i, ok := range inIdent {
			if ok {
				score += q.simple[i].idf * identifierWeight
			}
			if ok && identHead[i] {
				// Named by its heading: default_transaction_isolation's own
				// entry, not transaction_isolation's that mentions it.
				score += q.simple[i].idf * headingBoost
			}
		}
		for i, ok := range inPhrase {
			if ok {
				score += q.phrases[i].idf * phraseWeight
			}
		}
		match := score / best
		prior := kindPrior[Kind(kind)]
		if prior == 0 {
			prior = 0.7
		}
		if oneKind || codeQuery && Kind(kind) == KindSource {
			prior = 1
		}
		if q.namedKind != "" && Kind(kind) == q.namedKind {
			prior = 1
		}
		if !oneKind && q.codeIntent {
			// "which function…", "where is … defined": code first.
			switch Kind(kind) {
			case KindSource:
				prior = codeIntentSource
			case KindDocs:
				prior *= codeIntentDocs
			}
		}
		if version == "" && (Kind(kind) == KindDocs || Kind(kind) == KindSource) && !strings.Contains(q.lower, project) {
			prior *= relatedProject
		}
		if Kind(kind) == KindDocs && inlinks > 0 {
			// The reference page of a topic, that many pages link to.
			prior *= 1 + authorityWeight*min(1, math.Log1p(float64(inlinks))/math.Log1p(authorityScale))
		}
		adj := match * prior
		key := secKey
		sec := sections[key]
		switch {
		case sec == nil:
			sec = &section{key: key, alt: altKey, id: id, score: adj, sourceID: sourceID, kind: Kind(kind), bestByChunk: match, version: version,
				best: map[string]chunkBest{}}
			sections[key] = sec
		case adj > sec.score || adj == sec.score && id < sec.id:
			if sec.version == version {
				sec.next = max(sec.next, sec.score)
			}
			sec.id, sec.score, sec.bestByChunk, sec.sourceID, sec.version, sec.alt = id, adj, match, sourceID, version, altKey
		case sec.version == version:
			sec.next = max(sec.next, adj)
		}
		if b, ok := sec.best[version]; !ok || adj > b.score || adj == b.score && id < b.id {
			sec.best[version] = chunkBest{id, sourceID, adj, match}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: bm25: %w", err)
	}
	// One docs section under another anchor in another version is the
	// same section: the better one stays, with the versions of both.
	keys := slices.Sorted(maps.Keys(sections))
	byAlt := map[string]*section{}
	for _, k := range keys {
		sec := sections[k]
		if sec.kind != KindDocs || sec.version == "" {
			continue
		}
		other := byAlt[sec.alt]
		if other == nil || other.version == sec.version {
			byAlt[sec.alt] = sec
			continue
		}
		keep, drop := other, sec
		if sec.score > other.score {
			keep, drop = sec, other
		}
		for v, b := range drop.best {
			if kb, ok := keep.best[v]; !ok || b.score > kb.score {
				keep.best[v] = b
			}
		}
		keep.next = max(keep.next, drop.next)
		delete(sections, drop.key)
		byAlt[sec.alt] = keep
	}
	// A section found in several versions ranks by its best match in any
	// of them and cites the newest version's best chunk.
	for _, sec := range sections {
		newest := ""
		for v := range sec.best {
			if v != "" && (newest == "" || versionLess(newest, v)) {
				newest = v
			}
		}
		if b, ok := sec.best[newest]; ok && newest != sec.version {
			sec.id, sec.sourceID, sec.bestByChunk, sec.version = b.id, b.sourceID, b.match, newest
		}
	}
	type ranked struct {
		id, sourceID int64
		final, match float64
		alsoIn       []string
	}
	// The two best sections of each page, for page-level evidence.
	type pageBest struct{ first, second float64 }
	pages := map[int64]*pageBest{}
	for _, sec := range sections {
		p := pages[sec.sourceID]
		if p == nil {
			p = &pageBest{}
			pages[sec.sourceID] = p
		}
		switch {
		case sec.score > p.first:
			p.first, p.second = sec.score, p.first
		case sec.score > p.second:
			p.second = sec.score
		}
	}
	out := make([]ranked, 0, len(sections))
	for _, sec := range sections {
		p := pages[sec.sourceID]
		other := p.first
		if sec.score >= p.first {
			other = p.second
		}
		var also []string
		for v := range sec.best {
			if v != "" && v != sec.version {
				also = append(also, v)
			}
		}
		slices.SortFunc(also, func(a, b string) int {
			if versionLess(a, b) {
				return 1
			}
			return -1
		})
		out = append(out, ranked{sec.id, sec.sourceID, sec.score + sectionEvidence*sec.next + pageEvidence*other, min(1, sec.bestByChunk), also})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].final != out[j].final {
			return out[i].final > out[j].final
		}
		return out[i].id < out[j].id
	})
	// After a page's best section, the next counts samePage times its
	// score, the one after samePage², and so on: one page does not fill
	// the top of the list when other pages answer too.
	perPageSeen := map[int64]int{}
	for i := range out {
		out[i].final *= math.Pow(samePage, float64(perPageSeen[out[i].sourceID]))
		perPageSeen[out[i].sourceID]++
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].final > out[j].final })
	hits := make([]ftHit, 0, min(limit, len(out)))
	for _, r := range out[:min(limit, len(out))] {
		hits = append(hits, ftHit{r.id, r.match, r.final, r.alsoIn})
	}
	return hits, nil
}

// rankSums[k] is sum(1/j^2, j = 1..k): ts_rank's per-occurrence series.
var rankSums = func() []float64 {
	out := make([]float64, 257)
	for k := 1; k < len(out); k++ {
		out[k] = out[k-1] + 1/float64(k*k)
	}
	return out
}()

// termFrequency inverts ts_rank for a one-lexeme query on an unweighted
// tsvector (weight D = 0.1): rank = 0.1 * sum(1/j^2, j <= tf) / (pi^2/6).
func termFrequency(rank float64) float64 {
	if rank <= 0 {
		return 0
	}
	sum := rank / 0.1 * 1.64493406685
	k, _ := slices.BinarySearch(rankSums, sum-1e-4)
	return float64(max(1, min(k, len(rankSums)-1)))
}

// postings reads the posting lists of keys whose filter group passes opts
// and adds them to a copy of lists.
func (s *Store) postings(ctx context.Context, keys []listKey, opts SearchOptions, lists map[listKey][]kindList) (map[listKey][]kindList, error) {
	fields := make([]int16, len(keys))
	lexemes := make([]string, len(keys))
	for i, k := range keys {
		fields[i], lexemes[i] = k.field, k.lexeme
	}
	filter, args := filterSQL(opts, []any{fields, lexemes})
	rows, err := s.pool.Query(ctx, `SELECT c.field, c.lexeme, c.kind, c.chunk_ids
		FROM unnest($1::int2[], $2::text[]) q (field, lexeme)
		JOIN kb_postings c ON c.field = q.field AND c.lexeme = q.lexeme
		WHERE true`+filter, args...)
	if err != nil {
		return nil, fmt.Errorf("search: posting lists: %w", err)
	}
	out := maps.Clone(lists)
	for rows.Next() {
		var k listKey
		var kind string
		var ids []byte
		if err := rows.Scan(&k.field, &k.lexeme, &kind, &ids); err != nil {
			rows.Close()
			return nil, fmt.Errorf("search: posting lists: %w", err)
		}
		out[k] = append(out[k], kindList{Kind(kind), ids})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: posting lists: %w", err)
	}
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

// rankingParams are the ranking parameters SetRankingParam may change.
var rankingParams = map[string]*float64{
	"headingBoost": &headingBoost, "identifierWeight": &identifierWeight, "phraseWeight": &phraseWeight,
	"commonTermDF": &commonTermDF, "bm25K1": &bm25K1, "bm25B": &bm25B, "minLength": &minLength,
	"sectionEvidence": &sectionEvidence, "pageEvidence": &pageEvidence, "relatedProject": &relatedProject,
	"codeIntentSource": &codeIntentSource, "codeIntentDocs": &codeIntentDocs,
	"authorityWeight": &authorityWeight, "authorityScale": &authorityScale, "samePage": &samePage,
}

// SetRankingParam sets a ranking parameter ("pageEvidence", or a kind's
// prior as "prior.source") for the whole process: `kb eval --param`
// measures a change before it is made the default. Not safe while
// searches run.
func SetRankingParam(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("ranking parameter %s: %v is not a finite number, 0 or more", name, v)
	}
	if k, ok := strings.CutPrefix(name, "prior."); ok {
		if _, err := ParseKind(k); err != nil {
			return fmt.Errorf("ranking parameter %s: %w", name, err)
		}
		kindPrior[Kind(k)] = v
		return nil
	}
	p, ok := rankingParams[name]
	if !ok {
		names := slices.Sorted(maps.Keys(rankingParams))
		return fmt.Errorf("unknown ranking parameter %q (known: %s, prior.<kind>)", name, strings.Join(names, ", "))
	}
	*p = v
	return nil
}
