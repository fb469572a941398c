package kb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Kind is what a source is.
type Kind string

// The kinds of sources.
const (
	KindDocs        Kind = "docs"
	KindSource      Kind = "source"
	KindArticle     Kind = "article"
	KindMailingList Kind = "mailing_list"
	KindWeb         Kind = "web"
	KindRules       Kind = "rules"
)

// ParseKind checks a kind name.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindDocs, KindSource, KindArticle, KindMailingList, KindWeb, KindRules:
		return k, nil
	}
	return "", fmt.Errorf("unknown kind %q (want docs, source, article, mailing_list, web or rules)", s)
}

// Trust is how far a source can be relied on.
type Trust int

// Trust levels, ordered: filters keep sources at or above a level.
const (
	TrustUnknown  Trust = 0 // anything not vetted
	TrustReviewer Trust = 1 // the reviewer's own rule docs: ours, below the official docs
	TrustHigh     Trust = 2 // official docs (PostgreSQL, PgBouncer, Patroni, pgvector), verified articles
	TrustHighest  Trust = 3 // source code
)

func (t Trust) String() string {
	switch t {
	case TrustHighest:
		return "highest"
	case TrustHigh:
		return "high"
	case TrustReviewer:
		return "reviewer"
	}
	return "unknown"
}

// ParseTrust reads "unknown", "reviewer", "high" or "highest".
func ParseTrust(s string) (Trust, error) {
	switch s {
	case "unknown":
		return TrustUnknown, nil
	case "reviewer":
		return TrustReviewer, nil
	case "high":
		return TrustHigh, nil
	case "highest":
		return TrustHighest, nil
	}
	return 0, fmt.Errorf("unknown trust level %q (want unknown, reviewer, high or highest)", s)
}

// Document is one source to store: a docs page, a source file, an article
// or a rule. Key identifies it across ingest runs.
type Document struct {
	Key        string
	Kind       Kind
	Title      string
	URL        string
	Author     string
	Trust      Trust
	PGVersion  string
	Permission string
	// Inlinks is how many other pages of the same docs link to this one
	// (navigation and tables of contents not counted): a ranking prior.
	Inlinks int
	Chunks  []Chunk
}

// Chunk is a piece of a document small enough to embed and cite.
type Chunk struct {
	// Heading is the path of headings above the text, page title first.
	Heading []string
	// URL points at the chunk (page URL with the section anchor).
	URL  string
	Text string
}

// chunkerVersion is part of every content hash: bump it when chunking
// changes so the next ingest replaces the old chunks.
const chunkerVersion = "kb-chunker-5"

// hash covers everything stored for the document.
func (d *Document) hash() string {
	h := sha256.New()
	w := func(s string) { io.WriteString(h, s); h.Write([]byte{0}) }
	w(chunkerVersion)
	w(string(d.Kind))
	w(d.Title)
	w(d.URL)
	w(d.Author)
	w(d.Trust.String())
	w(d.PGVersion)
	w(d.Permission)
	w(strconv.Itoa(d.Inlinks))
	for _, c := range d.Chunks {
		w(strings.Join(c.Heading, "\x01"))
		w(c.URL)
		w(c.Text)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HeadingSep joins heading paths in storage and output.
const HeadingSep = " > "

// estimateTokens approximates the tokenizer count of OpenAI models (about
// four characters a token for English technical text).
func estimateTokens(s string) int { return (len(s) + 3) / 4 }

// Store is the knowledge base in PostgreSQL. Call Migrate first.
type Store struct {
	pool         *pgxpool.Pool
	logger       *slog.Logger
	embedder     Embedder
	embedBatch   int
	deferRefresh bool
}

// StoreOptions are the Store's dependencies.
type StoreOptions struct {
	Logger *slog.Logger
	// Embedder embeds queries for hybrid search and chunks for Embed. Nil:
	// full-text-only mode.
	Embedder Embedder
	// EmbedBatch is the number of chunks Embed reads, embeds and stores at
	// a time (default 256); a failed run keeps the batches already stored.
	EmbedBatch int
	// DeferRefresh: a successful Ingest does not rebuild the posting lists;
	// the caller ingests several collections and calls RefreshLexemes once
	// (full text does not see the new chunks until then).
	DeferRefresh bool
}

// NewStore returns a Store on a pool whose database has been migrated.
func NewStore(pool *pgxpool.Pool, opts StoreOptions) *Store {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.EmbedBatch <= 0 {
		opts.EmbedBatch = 256
	}
	return &Store{pool: pool, logger: opts.Logger, embedder: opts.Embedder, embedBatch: opts.EmbedBatch, deferRefresh: opts.DeferRefresh}
}

// Embedder returns the store's embedder, nil in full-text-only mode.
func (s *Store) Embedder() Embedder { return s.embedder }

// Progress receives ingest or embedding progress: done of total items, and
// the item just handled.
type Progress func(done, total int, item string)

// IngestStats summarizes an ingest run.
type IngestStats struct {
	Documents int // documents offered
	Added     int // new sources
	Updated   int // changed sources, replaced
	Unchanged int // skipped by hash
	Removed   int // sources of the collection no longer offered
	Chunks    int // chunks written
	Duration  time.Duration
}

func (s IngestStats) String() string {
	return fmt.Sprintf("%d documents: %d added, %d updated, %d unchanged, %d removed; %d chunks written in %s",
		s.Documents, s.Added, s.Updated, s.Unchanged, s.Removed, s.Chunks, s.Duration.Round(time.Millisecond))
}

// Ingest stores the documents of one collection (a name for everything one
// kind of run owns, such as "docs:15"). Unchanged documents are skipped by
// content hash; a changed one is replaced in a single transaction, so
// readers see either its old or its new chunks. Sources of the collection
// that are not among docs are removed, but only once every document was
// stored: a failed run leaves the previous state usable. The posting
// lists are rebuilt after a run that changed anything, also after a run
// that failed once some documents were replaced, so full text finds what
// was stored.
func (s *Store) Ingest(ctx context.Context, collection string, docs []Document, progress Progress) (IngestStats, error) {
	st, refreshed, err := s.ingest(ctx, collection, docs, progress)
	if err != nil && !refreshed && st.Added+st.Updated > 0 {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if rerr := s.RefreshLexemes(rctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return st, err
}

// ingest is Ingest but for the rebuild after a failure. refreshed reports
// that no further rebuild is needed: the lists were rebuilt (or their
// rebuild failed), or the run ended before changing anything.
func (s *Store) ingest(ctx context.Context, collection string, docs []Document, progress Progress) (st IngestStats, refreshed bool, err error) {
	start := time.Now()
	st = IngestStats{Documents: len(docs)}
	if collection == "" {
		return st, false, errors.New("ingest: empty collection name")
	}
	existing := map[string]string{}
	rows, err := s.pool.Query(ctx, "SELECT key, content_hash FROM kb_sources WHERE collection = $1", collection)
	if err != nil {
		return st, false, fmt.Errorf("ingest %s: read sources: %w", collection, err)
	}
	for rows.Next() {
		var k, h string
		if err := rows.Scan(&k, &h); err != nil {
			rows.Close()
			return st, false, fmt.Errorf("ingest %s: read sources: %w", collection, err)
		}
		existing[k] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, false, fmt.Errorf("ingest %s: read sources: %w", collection, err)
	}
	seen := make(map[string]bool, len(docs))
	for i := range docs {
		d := &docs[i]
		if err := d.validate(); err != nil {
			return st, false, fmt.Errorf("ingest %s: %w", collection, err)
		}
		if seen[d.Key] {
			return st, false, fmt.Errorf("ingest %s: document %s given twice", collection, d.Key)
		}
		seen[d.Key] = true
		h := d.hash()
		old, ok := existing[d.Key]
		switch {
		case ok && old == h:
			st.Unchanged++
		default:
			n, err := s.replace(ctx, collection, d, h)
			if err != nil {
				return st, false, fmt.Errorf("ingest %s: %s: %w", collection, d.Key, err)
			}
			st.Chunks += n
			if ok {
				st.Updated++
			} else {
				st.Added++
			}
		}
		if progress != nil {
			progress(i+1, len(docs), d.Key)
		}
	}
	var gone []string
	for k := range existing {
		if !seen[k] {
			gone = append(gone, k)
		}
	}
	if len(gone) > 0 {
		tag, err := s.pool.Exec(ctx, "DELETE FROM kb_sources WHERE collection = $1 AND key = ANY($2)", collection, gone)
		if err != nil {
			return st, false, fmt.Errorf("ingest %s: remove %d vanished sources: %w", collection, len(gone), err)
		}
		st.Removed = int(tag.RowsAffected())
	}
	if st.Added+st.Updated+st.Removed > 0 && !s.deferRefresh {
		if err := s.RefreshLexemes(ctx); err != nil {
			return st, true, err
		}
	}
	st.Duration = time.Since(start)
	s.logger.InfoContext(ctx, "kb ingest", "collection", collection, "added", st.Added, "updated", st.Updated,
		"unchanged", st.Unchanged, "removed", st.Removed, "chunks", st.Chunks, "duration_ms", st.Duration.Milliseconds())
	return st, true, nil
}

func (d *Document) validate() error {
	switch {
	case d.Key == "":
		return errors.New("document without key")
	case d.Title == "":
		return fmt.Errorf("document %s has no title", d.Key)
	case d.URL == "":
		return fmt.Errorf("document %s has no URL", d.Key)
	}
	if _, err := ParseKind(string(d.Kind)); err != nil {
		return fmt.Errorf("document %s: %w", d.Key, err)
	}
	if d.Trust < TrustUnknown || d.Trust > TrustHighest {
		return fmt.Errorf("document %s: bad trust level %d", d.Key, d.Trust)
	}
	for i, c := range d.Chunks {
		if strings.TrimSpace(c.Text) == "" {
			return fmt.Errorf("document %s: chunk %d is empty", d.Key, i)
		}
	}
	return nil
}

// replace writes one document and its chunks in one transaction.
func (s *Store) replace(ctx context.Context, collection string, d *Document, hash string) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// The knowledge base is rebuilt from its sources by re-running the
	// ingest: a document's commit need not wait for the WAL flush (a
	// crash loses at most the last few documents, which the next run
	// writes again). Thousands of source files ingest much faster.
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
		return 0, fmt.Errorf("synchronous_commit: %w", err)
	}
	var id int64
	err = tx.QueryRow(ctx, `
		INSERT INTO kb_sources (key, collection, kind, title, url, author, trust, pg_version, permission, content_hash, inlinks, fetched_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
		ON CONFLICT (key) DO UPDATE SET collection = EXCLUDED.collection, kind = EXCLUDED.kind,
			title = EXCLUDED.title, url = EXCLUDED.url, author = EXCLUDED.author, trust = EXCLUDED.trust,
			pg_version = EXCLUDED.pg_version, permission = EXCLUDED.permission,
			content_hash = EXCLUDED.content_hash, inlinks = EXCLUDED.inlinks, fetched_at = now()
		RETURNING id`,
		d.Key, collection, string(d.Kind), d.Title, d.URL, d.Author, int16(d.Trust), d.PGVersion, d.Permission, hash, d.Inlinks).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("upsert source: %w", err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM kb_chunks WHERE source_id = $1", id); err != nil {
		return 0, fmt.Errorf("delete old chunks: %w", err)
	}
	rows := make([][]any, len(d.Chunks))
	for i, c := range d.Chunks {
		url := c.URL
		if url == "" {
			url = d.URL
		}
		rows[i] = []any{id, int32(i), strings.Join(c.Heading, HeadingSep), url, c.Text,
			int32(estimateTokens(c.Text)), string(d.Kind), int16(d.Trust), d.PGVersion}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"kb_chunks"},
		[]string{"source_id", "ord", "heading", "url", "body", "tokens", "kind", "trust", "pg_version"},
		pgx.CopyFromRows(rows)); err != nil {
		return 0, fmt.Errorf("copy chunks: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return len(d.Chunks), nil
}

// Remove deletes the sources with these keys, whatever their collection,
// and rebuilds the posting lists when one was removed (unless the store
// defers the rebuild). It returns how many were removed.
func (s *Store) Remove(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM kb_sources WHERE key = ANY($1)", keys)
	if err != nil {
		return 0, fmt.Errorf("remove sources: %w", err)
	}
	n := int(tag.RowsAffected())
	if n > 0 && !s.deferRefresh {
		if err := s.RefreshLexemes(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// RefreshLexemes rebuilds the posting lists of the full-text fields and
// the document frequencies used to weigh query terms, in one transaction.
// Ingest calls it after any change.
func (s *Store) RefreshLexemes(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("refresh lexemes: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := refreshPostings(ctx, tx); err != nil {
		return fmt.Errorf("refresh lexemes: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("refresh lexemes: commit: %w", err)
	}
	return nil
}
