package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/agent/agenttest"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/kb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	urlLockTimeout = "https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-LOCK-TIMEOUT"
	urlAlterTable  = "https://www.postgresql.org/docs/15/sql-altertable.html#SQL-ALTERTABLE-NOTES"
)

// testKB is a real knowledge base (PostgreSQL + pgvector) with two
// documentation pages.
func testKB(t *testing.T) (*kb.Store, *pgtest.Database) {
	t.Helper()
	db := pgtest.New(t)
	pool := db.Pool(t)
	if err := kb.Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	s := kb.NewStore(pool, kb.StoreOptions{})
	docs := []kb.Document{
		{Key: "docs/15/runtime-config-client.html", Kind: kb.KindDocs, Title: "19.11. Client Connection Defaults", Author: "The PostgreSQL Global Development Group",
			URL: "https://www.postgresql.org/docs/15/runtime-config-client.html", Trust: kb.TrustHigh, PGVersion: "15",
			Chunks: []kb.Chunk{{Heading: []string{"19.11. Client Connection Defaults", "lock_timeout (integer)"}, URL: urlLockTimeout,
				Text: "lock_timeout (integer): Abort any statement that waits longer than the specified amount of time while attempting to acquire a lock on a table, index, row, or other database object. The time limit applies separately to each lock acquisition attempt. If this value is specified without units, it is taken as milliseconds. A value of zero (the default) disables the timeout."}}},
		{Key: "docs/15/sql-altertable.html", Kind: kb.KindDocs, Title: "ALTER TABLE", Author: "The PostgreSQL Global Development Group",
			URL: "https://www.postgresql.org/docs/15/sql-altertable.html", Trust: kb.TrustHigh, PGVersion: "15",
			Chunks: []kb.Chunk{{Heading: []string{"ALTER TABLE", "Notes"}, URL: urlAlterTable,
				Text: "Adding a column with a volatile DEFAULT or changing the type of an existing column will require the entire table and its indexes to be rewritten. An ACCESS EXCLUSIVE lock is acquired unless explicitly noted."}}},
	}
	if _, err := s.Ingest(t.Context(), "test", docs, nil); err != nil {
		t.Fatal(err)
	}
	return s, db
}

func testModel(t *testing.T, f *agenttest.Server) Model {
	t.Helper()
	m, err := NewOpenAI(Config{BaseURL: f.BaseURL(), APIKey: "sk-test-secret-key", Model: "fake-model", RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// memAttach keeps attachments in memory and links them under a fixed URL.
type memAttach struct{ files map[string][]byte }

func (m *memAttach) Attach(_ context.Context, name string, data []byte) (string, error) {
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	m.files[name] = data
	return "![" + name + "](/uploads/0123abcd/" + name + ")", nil
}
