package kb

import (
	"context"
	"fmt"
	"time"
)

// Stats describes what the knowledge base holds.
type Stats struct {
	Sources []KindStats  `json:"sources"`
	Chunks  int          `json:"chunks"`
	Tokens  int          `json:"tokens"`
	Models  []ModelStats `json:"models"`
	// Embedder is the configured model, empty in full-text-only mode.
	Embedder string `json:"embedder"`
	// Mode is what Search does by default: hybrid or fulltext.
	Mode Mode `json:"mode"`
}

// KindStats counts sources of one kind.
type KindStats struct {
	Kind        Kind      `json:"kind"`
	Sources     int       `json:"sources"`
	Chunks      int       `json:"chunks"`
	LastFetched time.Time `json:"last_fetched"`
}

// ModelStats counts stored embeddings of one model.
type ModelStats struct {
	Model      string `json:"model"`
	Dimensions int    `json:"dimensions"`
	Embedded   int    `json:"embedded"`
}

// Stats reads counts per kind and per embedding model.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	rows, err := s.pool.Query(ctx, `SELECT s.kind, count(DISTINCT s.id), count(c.id), max(s.fetched_at)
		FROM kb_sources s LEFT JOIN kb_chunks c ON c.source_id = s.id GROUP BY s.kind ORDER BY s.kind`)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	for rows.Next() {
		var k KindStats
		var kind string
		if err := rows.Scan(&kind, &k.Sources, &k.Chunks, &k.LastFetched); err != nil {
			rows.Close()
			return st, fmt.Errorf("stats: %w", err)
		}
		k.Kind = Kind(kind)
		st.Sources = append(st.Sources, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT count(*), coalesce(sum(tokens), 0) FROM kb_chunks").Scan(&st.Chunks, &st.Tokens); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT m.model, m.dimensions, count(e.chunk_id)
		FROM kb_models m LEFT JOIN kb_embeddings e ON e.model = m.model GROUP BY m.model, m.dimensions ORDER BY m.model`)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	for rows.Next() {
		var m ModelStats
		if err := rows.Scan(&m.Model, &m.Dimensions, &m.Embedded); err != nil {
			rows.Close()
			return st, fmt.Errorf("stats: %w", err)
		}
		st.Models = append(st.Models, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	st.Mode = ModeFullText
	if s.embedder != nil {
		st.Embedder = s.embedder.Model()
		for _, m := range st.Models {
			if m.Model == st.Embedder && m.Embedded > 0 {
				st.Mode = ModeHybrid
			}
		}
	}
	return st, nil
}
