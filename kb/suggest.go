package kb

import (
	"context"
	"fmt"
	"strings"
)

// Suggestion is a close word of the knowledge base for a query word it
// does not hold.
type Suggestion struct {
	Word    string `json:"word"`
	Instead string `json:"instead"`
}

// Suggest finds, for each word of the query that the knowledge base does
// not hold, the closest word it does hold by trigram similarity (pg_trgm),
// for a "did you mean". Words are compared as the identifier field stores
// them (lower case, underscores removed). Only words starting with the
// same letter are compared: that keeps the scan to a slice of the
// vocabulary, and typos rarely hit the first letter.
func (s *Store) Suggest(ctx context.Context, query string) ([]Suggestion, error) {
	rows, err := s.pool.Query(ctx, `
		WITH w AS (
			SELECT DISTINCT t.lexeme AS word
			FROM unnest(to_tsvector('simple', translate($1, '_', ''))) t
			WHERE length(t.lexeme) >= 3 AND t.lexeme ~ '^[a-z]+$'
				AND NOT EXISTS (SELECT 1 FROM kb_lexemes l WHERE l.config = 'simple' AND l.lexeme = t.lexeme)
				AND NOT EXISTS (SELECT 1 FROM kb_lexemes l WHERE l.config = 'english' AND l.lexeme = ANY(tsvector_to_array(to_tsvector('english', t.lexeme))))
				AND to_tsvector('english', t.lexeme) <> ''::tsvector)
		SELECT w.word, s.lexeme
		FROM w CROSS JOIN LATERAL (
			SELECT l.lexeme FROM kb_lexemes l
			WHERE l.config = 'simple' AND l.lexeme >= left(w.word, 1) AND l.lexeme < chr(ascii(w.word) + 1)
				AND l.ndoc >= 2 AND l.lexeme % w.word
			ORDER BY similarity(l.lexeme, w.word) DESC, l.ndoc DESC, l.lexeme
			LIMIT 1) s
		ORDER BY position(w.word IN lower(translate($1, '_', '')))`, query)
	if err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	defer rows.Close()
	var out []Suggestion
	for rows.Next() {
		var sg Suggestion
		if err := rows.Scan(&sg.Word, &sg.Instead); err != nil {
			return nil, fmt.Errorf("suggest: %w", err)
		}
		out = append(out, sg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	return out, nil
}

// Versions lists the PostgreSQL major versions the knowledge base holds
// docs or source of, in ascending order.
func (s *Store) Versions(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT v FROM (SELECT DISTINCT pg_version AS v FROM kb_sources WHERE pg_version <> '') s
		ORDER BY length(v), v`)
	if err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("versions: %w", err)
		}
		out = append(out, v)
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
