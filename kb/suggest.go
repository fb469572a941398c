package kb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Suggestion is a close word of the knowledge base for a query word it
// does not hold.
type Suggestion struct {
	Word    string `json:"word"`
	Instead string `json:"instead"`
}

// Suggest finds, for each word of the query that the knowledge base does
// not hold, the closest word it does hold, for a "did you mean": among the
// words most alike by trigram similarity (pg_trgm), the nearest by edit
// distance (a swap of two letters counts one edit, as in "explian"), then
// by suggestWeight. Words are compared in lower case, identifiers by their
// parts (lock_timout: "timout"). Only words starting with the same
// letter are compared: that keeps the scan to a slice of the vocabulary,
// and typos rarely hit the first letter.
func (s *Store) Suggest(ctx context.Context, query string) ([]Suggestion, error) {
	rows, err := s.pool.Query(ctx, `
		WITH w AS (
			SELECT DISTINCT t.lexeme AS word
			FROM unnest(to_tsvector('simple', translate($1, '_', ' '))) t
			WHERE length(t.lexeme) >= 3 AND t.lexeme ~ '^[a-z]+$'
				AND NOT EXISTS (SELECT 1 FROM kb_lexemes l WHERE l.config = 'simple' AND l.lexeme = t.lexeme)
				AND NOT EXISTS (SELECT 1 FROM kb_lexemes l WHERE l.config = 'english' AND l.lexeme = ANY(tsvector_to_array(to_tsvector('english', t.lexeme))))
				AND to_tsvector('english', t.lexeme) <> ''::tsvector)
		SELECT w.word, s.lexeme, s.ndoc, s.sim
		FROM w CROSS JOIN LATERAL (
			SELECT l.lexeme, l.ndoc, similarity(l.lexeme, w.word) AS sim FROM kb_lexemes l
			WHERE l.config = 'simple' AND l.lexeme >= left(w.word, 1) AND l.lexeme < chr(ascii(w.word) + 1)
				AND l.ndoc >= 2 AND similarity(l.lexeme, w.word) >= 0.2
			ORDER BY similarity(l.lexeme, w.word) DESC, l.ndoc DESC, l.lexeme
			LIMIT 20) s
		ORDER BY position(w.word IN lower($1))`, query)
	if err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	defer rows.Close()
	type cand struct {
		word string
		ndoc float64
		sim  float32
		dist int
	}
	best := map[string]cand{}
	var order []string
	for rows.Next() {
		var word string
		var c cand
		if err := rows.Scan(&word, &c.word, &c.ndoc, &c.sim); err != nil {
			return nil, fmt.Errorf("suggest: %w", err)
		}
		c.dist = editDistance(word, c.word)
		if c.dist > maxEdits(word) {
			continue // alike in letters, not a typo of it ("downtime" is not "do")
		}
		b, ok := best[word]
		if !ok {
			order = append(order, word)
		}
		if !ok || c.dist < b.dist || c.dist == b.dist && suggestWeight(c.sim, c.ndoc) > suggestWeight(b.sim, b.ndoc) {
			best[word] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	out := make([]Suggestion, 0, len(order))
	for _, w := range order {
		out = append(out, Suggestion{Word: w, Instead: best[w].word})
	}
	return out, nil
}

// maxEdits is how far a typo of word may be from it: one edit in a short
// word, two in a longer one.
func maxEdits(word string) int {
	if len([]rune(word)) <= 4 {
		return 1
	}
	return 2
}

// suggestWeight ranks candidates at the same edit distance: the more alike
// (trigram similarity), and the more common in the knowledge base
// ("transactions" over "translations" for "transcations", "freeze" over
// "free" for "freze").
func suggestWeight(sim float32, ndoc float64) float64 {
	return float64(sim) + 0.1*math.Log10(ndoc+1)
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of two adjacent letters
// each count one.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}

// Versions lists the PostgreSQL major versions the knowledge base holds
// docs or source of, oldest first.
func (s *Store) Versions(ctx context.Context) ([]string, error) {
	vk, err := s.VersionKinds(ctx)
	if err != nil {
		return nil, err
	}
	return slices.SortedFunc(maps.Keys(vk), func(a, b string) int {
		if versionLess(a, b) {
			return -1
		}
		if versionLess(b, a) {
			return 1
		}
		return 0
	}), nil
}

// VersionKinds tells which kinds of sources (docs, source) the knowledge
// base holds for each PostgreSQL major version.
func (s *Store) VersionKinds(ctx context.Context) (map[string][]Kind, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT pg_version, kind FROM kb_sources WHERE pg_version <> '' ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("version kinds: %w", err)
	}
	defer rows.Close()
	out := map[string][]Kind{}
	for rows.Next() {
		var v, k string
		if err := rows.Scan(&v, &k); err != nil {
			return nil, fmt.Errorf("version kinds: %w", err)
		}
		out[v] = append(out[v], Kind(k))
	}
	return out, rows.Err()
}

// SuggestionText renders suggestions as `"vacum" → "vacuum"`.
func SuggestionText(sg []Suggestion) string {
	parts := make([]string, len(sg))
	for i, s := range sg {
		parts[i] = fmt.Sprintf("%q → %q", s.Word, s.Instead)
	}
	return strings.Join(parts, ", ")
}

// correct replaces the words of query that the knowledge base does not
// hold by their closest words (Suggest) when the query also has words it
// does hold, and reads the terms of the corrected query. The words left
// unknown are recorded in searched.
func (s *Store) correct(ctx context.Context, query string, q queryTerms, opts SearchOptions, searched *Searched) (queryTerms, error) {
	if len(q.unknown) == 0 {
		return q, nil
	}
	sg, err := s.Suggest(ctx, query)
	if err != nil {
		return q, err
	}
	if len(q.en) == 0 && len(q.simple) == 0 {
		// Nothing known: no results, and a "did you mean" rather than a guess.
		searched.Suggestions = sg
		return q, nil
	}
	if len(sg) == 0 {
		searched.Unknown, err = s.unknownWords(ctx, query, q.unknown)
		return q, err
	}
	fixed := query
	for _, c := range sg {
		// Words are also the parts of identifiers: lock_timout.
		re, err := regexp.Compile(`(?i)(^|[^\pL\pN])` + regexp.QuoteMeta(c.Word) + `([^\pL\pN]|$)`)
		if err != nil {
			continue
		}
		fixed = re.ReplaceAllString(fixed, "${1}"+strings.ReplaceAll(c.Instead, "$", "$$")+"${2}")
	}
	if fixed == query {
		return q, nil
	}
	fq, err := s.queryTerms(ctx, fixed, opts)
	if err != nil {
		return q, err
	}
	searched.Query, searched.Corrections = fixed, sg
	if len(fq.unknown) > 0 {
		if searched.Unknown, err = s.unknownWords(ctx, fixed, fq.unknown); err != nil {
			return fq, err
		}
	}
	return fq, nil
}

// unknownWords maps english stems back to the words of the query.
func (s *Store) unknownWords(ctx context.Context, query string, stems []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (lower(token)) lower(token) FROM ts_debug('english', $1)
		WHERE lexemes && $2::text[] ORDER BY lower(token)`, query, stems)
	if err != nil {
		return nil, fmt.Errorf("search: unknown words: %w", err)
	}
	words, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("search: unknown words: %w", err)
	}
	return words, nil
}

// docsPageURL splits a PostgreSQL docs URL of any version
// (https://www.postgresql.org/docs/current/sql-altertable.html#X) into its
// page and anchor.
var docsPageURL = regexp.MustCompile(`/docs/[^/]+/([A-Za-z0-9_.-]+\.html)(?:#(.*))?$`)

// AtURL returns the section of the knowledge base that a docs link points
// at, in whichever PostgreSQL version the knowledge base holds (opts.Version
// when set, else the newest): the chunk under that anchor, or, when the
// version's page has no such anchor (generated ids differ between
// versions), the chunk of that page that matches query best. A rule's
// "read more" link is how an explanation knows which page to cite first.
// ok is false when the knowledge base does not hold the page.
func (s *Store) AtURL(ctx context.Context, link, query string, opts SearchOptions) (r Result, ok bool, err error) {
	m := docsPageURL.FindStringSubmatch(link)
	if m == nil {
		return Result{}, false, nil
	}
	page, anchor := m[1], m[2]
	args := []any{"/" + page, anchor, query}
	versionCond := ""
	if opts.Version != "" {
		args = append(args, opts.Version)
		versionCond = fmt.Sprintf(" AND s.pg_version = $%d", len(args))
	}
	var id int64
	err = s.pool.QueryRow(ctx, `SELECT c.id FROM kb_sources s JOIN kb_chunks c ON c.source_id = s.id
		WHERE s.kind = 'docs' AND right(s.url, length($1)) = $1`+versionCond+`
		ORDER BY string_to_array(nullif(s.pg_version, ''), '.')::int[] DESC NULLS LAST,
			($2 <> '' AND right(c.url, length($2) + 1) = '#' || $2) DESC,
			ts_rank(c.tsv_en, plainto_tsquery('english', $3)) DESC, c.ord
		LIMIT 1`, args...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("kb: section at %s: %w", link, err)
	}
	details, err := s.details(ctx, []int64{id}, "")
	if err != nil {
		return Result{}, false, err
	}
	r, ok = details[id]
	return r, ok, nil
}
