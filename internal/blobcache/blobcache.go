// Package blobcache keeps repository file contents by git blob id in the
// reviewer's PostgreSQL database (table pgai_blob, created by the queue's
// migrations), so that a merge-request review fetches each file of a
// project's migration history from GitLab once.
package blobcache

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the cache.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a cache on the reviewer's database.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Blobs returns the cached contents of those ids the cache has.
func (s *Store) Blobs(ctx context.Context, ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, content FROM pgai_blob WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read cached blobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, fmt.Errorf("read cached blobs: %w", err)
		}
		out[id] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cached blobs: %w", err)
	}
	return out, nil
}

// PutBlobs stores contents by id (ids already there are kept).
func (s *Store) PutBlobs(ctx context.Context, blobs map[string][]byte) error {
	var batch pgx.Batch
	for id, b := range blobs {
		batch.Queue(`INSERT INTO pgai_blob (id, content) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, b)
	}
	if err := s.pool.SendBatch(ctx, &batch).Close(); err != nil {
		return fmt.Errorf("store blobs: %w", err)
	}
	return nil
}
