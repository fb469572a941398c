package blobcache_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/pgai/reviewer/internal/blobcache"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/internal/queue"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A project's migration history is fetched from GitLab once: a second
// snapshot at a later commit reads only the file that is new there.
func TestSnapshotFetchesEachBlobOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	pool, err := pgxpool.New(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := queue.Migrate(t.Context(), pool, nil); err != nil {
		t.Fatal(err)
	}
	s := gitlabtest.New(t)
	s.AddUser("tok", gitlabtest.User{ID: 1, Username: "bot"})
	const n = 200
	for _, sha := range []string{"c1", "c2"} {
		for i := range n {
			s.SetFile(7, sha, fmt.Sprintf("db/migrate/%04d_m.sql", i), fmt.Sprintf("CREATE TABLE t%d (id bigint);\n", i))
		}
		s.SetFile(7, sha, "README.md", "not a migration\n")
	}
	s.SetFile(7, "c2", "db/migrate/9999_new.sql", "CREATE TABLE new (id bigint);\n")
	api, err := gitlab.New(gitlab.Options{BaseURL: s.URL, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	cache := blobcache.New(pool)
	snap := func(sha string) fs.FS {
		t.Helper()
		tree := mrreview.GitLabTree{API: api, ProjectID: 7, SHA: sha, Cache: cache, Concurrency: 4}
		fsys, err := tree.Snapshot(t.Context(), []string{"db"}, nil, func(p string) bool { return strings.HasSuffix(p, ".sql") })
		if err != nil {
			t.Fatal(err)
		}
		return fsys
	}
	first := snap("c1")
	if got := s.CountCalls(gitlabtest.RouteRawBlob); got != n {
		t.Errorf("first snapshot: %d raw reads, want %d", got, n)
	}
	second := snap("c2")
	if got := s.CountCalls(gitlabtest.RouteRawBlob); got != n+1 {
		t.Errorf("second snapshot: %d raw reads in all, want %d (only the new file)", got, n+1)
	}
	for _, fsys := range []fs.FS{first, second} {
		b, err := fs.ReadFile(fsys, "db/migrate/0042_m.sql")
		if err != nil || string(b) != "CREATE TABLE t42 (id bigint);\n" {
			t.Errorf("cached file: %q, %v", b, err)
		}
	}
	if _, err := fs.ReadFile(second, "db/migrate/9999_new.sql"); err != nil {
		t.Error(err)
	}
	if _, err := fs.Stat(first, "README.md"); err == nil {
		t.Error("snapshot holds a file the filter rejected")
	}
	var rows int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pgai_blob`).Scan(&rows); err != nil || rows != n+1 {
		t.Errorf("%d cached blobs (%v), want %d", rows, err, n+1)
	}
}
