package kb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// EmbedStats summarizes an embedding run.
type EmbedStats struct {
	Model    string
	Embedded int // chunks embedded in this run
	Pending  int // chunks without an embedding for the model before the run
	Duration time.Duration
}

// Embed sends every chunk that has no embedding for the embedder's model
// yet, in batches, and stores the vectors. It resumes where a failed or
// interrupted run stopped: stored batches stay stored.
func (s *Store) Embed(ctx context.Context, progress Progress) (EmbedStats, error) {
	start := time.Now()
	if s.embedder == nil {
		return EmbedStats{}, errors.New("embed: no embedder configured (set an API key)")
	}
	model := s.embedder.Model()
	st := EmbedStats{Model: model}
	if err := validModelName(model); err != nil {
		return st, err
	}
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM kb_chunks c WHERE NOT EXISTS (
		SELECT 1 FROM kb_embeddings e WHERE e.chunk_id = c.id AND e.model = $1)`, model).Scan(&st.Pending)
	if err != nil {
		return st, fmt.Errorf("embed: count pending chunks: %w", err)
	}
	var last int64
	for {
		rows, err := s.pool.Query(ctx, `SELECT c.id, c.heading, c.body FROM kb_chunks c
			WHERE c.id > $2 AND NOT EXISTS (SELECT 1 FROM kb_embeddings e WHERE e.chunk_id = c.id AND e.model = $1)
			ORDER BY c.id LIMIT $3`, model, last, s.embedBatch)
		if err != nil {
			return st, fmt.Errorf("embed: read chunks: %w", err)
		}
		var ids []int64
		var texts []string
		for rows.Next() {
			var id int64
			var heading, body string
			if err := rows.Scan(&id, &heading, &body); err != nil {
				rows.Close()
				return st, fmt.Errorf("embed: read chunks: %w", err)
			}
			ids = append(ids, id)
			texts = append(texts, EmbeddingText(heading, body))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return st, fmt.Errorf("embed: read chunks: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		vecs, err := s.embedder.Embed(ctx, texts)
		if err != nil {
			return st, fmt.Errorf("embed: %w", err)
		}
		if len(vecs) != len(ids) {
			return st, fmt.Errorf("embed: embedder returned %d vectors for %d texts", len(vecs), len(ids))
		}
		if err := s.ensureModel(ctx, model, len(vecs[0])); err != nil {
			return st, err
		}
		if err := s.storeEmbeddings(ctx, model, ids, vecs); err != nil {
			return st, err
		}
		st.Embedded += len(ids)
		last = ids[len(ids)-1]
		if progress != nil {
			progress(st.Embedded, st.Pending, strconv.FormatInt(last, 10))
		}
	}
	if err := s.ensureModelIndex(ctx, model); err != nil {
		return st, err
	}
	st.Duration = time.Since(start)
	s.logger.InfoContext(ctx, "kb embed", "model", model, "embedded", st.Embedded, "duration_ms", st.Duration.Milliseconds())
	return st, nil
}

// EmbeddingText is what gets embedded for a chunk: its heading path gives
// the text its context (the page and section it comes from).
func EmbeddingText(heading, body string) string {
	return heading + "\n\n" + body
}

func (s *Store) storeEmbeddings(ctx context.Context, model string, ids []int64, vecs [][]float32) error {
	lits := make([]string, len(vecs))
	for i, v := range vecs {
		if len(v) != len(vecs[0]) {
			return fmt.Errorf("embed: vectors of %d and %d dimensions in one batch", len(vecs[0]), len(v))
		}
		lits[i] = vectorLiteral(v)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO kb_embeddings (chunk_id, model, embedding)
		SELECT id, $1, v::vector FROM unnest($2::bigint[], $3::text[]) AS t(id, v)
		ON CONFLICT (chunk_id, model) DO UPDATE SET embedding = EXCLUDED.embedding`, model, ids, lits)
	if err != nil {
		return fmt.Errorf("embed: store %d vectors: %w", len(ids), err)
	}
	return nil
}

// vectorLiteral formats a vector in pgvector's text form.
func vectorLiteral(v []float32) string {
	var b strings.Builder
	b.Grow(len(v) * 10)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteByte(']')
	return b.String()
}

func validModelName(m string) error {
	if m == "" || len(m) > 200 {
		return fmt.Errorf("bad embedding model name %q", m)
	}
	for _, r := range m {
		if !unicode.IsPrint(r) || r == '\\' {
			return fmt.Errorf("bad embedding model name %q", m)
		}
	}
	return nil
}

// modelLiteral quotes a validated model name as an SQL string literal. The
// model appears as a literal (not a parameter) in queries so the planner
// matches the model's partial index.
func modelLiteral(m string) string { return "'" + strings.ReplaceAll(m, "'", "''") + "'" }

func modelIndexName(m string) string {
	h := sha256.Sum256([]byte(m))
	return "kb_embeddings_hnsw_" + hex.EncodeToString(h[:6])
}

// ensureModel registers a model with its dimension. Its HNSW index is
// built by ensureModelIndex once the vectors are stored (building after
// loading is much faster than inserting into the graph one by one; until
// then searches scan exactly, which is fine at that size).
func (s *Store) ensureModel(ctx context.Context, model string, dims int) error {
	if dims < 1 || dims > 2000 {
		return fmt.Errorf("embed: model %s gives %d dimensions; an HNSW index on vector takes 1..2000 (ask for fewer dimensions)", model, dims)
	}
	var have int
	err := s.pool.QueryRow(ctx, "SELECT dimensions FROM kb_models WHERE model = $1", model).Scan(&have)
	switch {
	case err == nil && have == dims:
		return nil
	case err == nil:
		return fmt.Errorf("embed: model %s is stored with %d dimensions but now gives %d; use another model name or dimension setting", model, have, dims)
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("embed: look up model %s: %w", model, err)
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO kb_models (model, dimensions, index_name) VALUES ($1, $2, $3) ON CONFLICT (model) DO NOTHING",
		model, dims, modelIndexName(model)); err != nil {
		return fmt.Errorf("embed: register model %s: %w", model, err)
	}
	return nil
}

// ensureModelIndex creates the model's partial HNSW index (cosine
// distance, pgvector defaults m=16, ef_construction=64) if it is missing.
func (s *Store) ensureModelIndex(ctx context.Context, model string) error {
	dims, err := s.modelDims(ctx, model)
	if err != nil || dims == 0 {
		return err
	}
	q := fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON kb_embeddings USING hnsw ((embedding::vector(%d)) vector_cosine_ops) WHERE model = %s",
		pgx.Identifier{modelIndexName(model)}.Sanitize(), dims, modelLiteral(model))
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The build is much faster when the graph fits in memory.
		if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, q)
		return err
	})
	if err != nil {
		return fmt.Errorf("embed: create HNSW index for model %s: %w", model, err)
	}
	return nil
}

// modelDims returns the stored dimension of a model, 0 if it has no
// embeddings.
func (s *Store) modelDims(ctx context.Context, model string) (int, error) {
	var d int
	err := s.pool.QueryRow(ctx, "SELECT dimensions FROM kb_models WHERE model = $1", model).Scan(&d)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("look up model %s: %w", model, err)
	}
	return d, nil
}
