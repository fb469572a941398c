package mrreview_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"gitlab.com/pgai/reviewer/internal/config"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
)

// memCache is a BlobCache in memory (the service's is blobcache.Store, on
// PostgreSQL, tested in its package).
type memCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *memCache) Blobs(_ context.Context, ids []string) (map[string][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]byte{}
	for _, id := range ids {
		if b, ok := c.m[id]; ok {
			out[id] = b
		}
	}
	return out, nil
}

func (c *memCache) PutBlobs(_ context.Context, blobs map[string][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, b := range blobs {
		c.m[id] = b
	}
	return nil
}

// BenchmarkReviewHistory2000 reviews one added migration against a
// 2,000-file history read through the fake GitLab API: cold (every file
// fetched) and warm (contents from the blob cache, only the tree listed).
// It reports the blob requests per review.
func BenchmarkReviewHistory2000(b *testing.B) {
	s := gitlabtest.NewServer()
	defer s.Close()
	s.AddUser(token, gitlabtest.User{ID: botID, Username: "pgai-bot"})
	const n = 2000
	for i := range n {
		s.SetFile(pid, sha1, fmt.Sprintf("db/migrations/%05d_m.sql", i),
			fmt.Sprintf("CREATE TABLE t%d (id bigint PRIMARY KEY, name varchar(100));\nCREATE INDEX t%d_name ON t%d (name);\n", i, i, i))
	}
	s.SetFile(pid, sha1, "db/migrations/99999_widen.sql", "SET lock_timeout = '2s';\nALTER TABLE t7 ALTER COLUMN name TYPE varchar(200);\n")
	api, err := gitlab.New(gitlab.Options{BaseURL: s.URL, Token: token})
	if err != nil {
		b.Fatal(err)
	}
	cfg, _ := config.Load("")
	tree := func(cache mrreview.BlobCache) mrreview.Tree {
		return mrreview.Tree{Source: mrreview.GitLabTree{API: api, ProjectID: pid, SHA: sha1, Cache: cache}, Config: cfg,
			Changed: []string{"db/migrations/99999_widen.sql"}, Added: []string{"db/migrations/99999_widen.sql"}, Commit: sha1}
	}
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		b.Run(name, func(b *testing.B) {
			cache := &memCache{m: map[string][]byte{}}
			if warm {
				if _, err := mrreview.ReviewTree(context.Background(), tree(cache)); err != nil {
					b.Fatal(err)
				}
			}
			before := s.CountCalls(gitlabtest.RouteRawBlob)
			for b.Loop() {
				if !warm {
					cache = &memCache{m: map[string][]byte{}}
				}
				rep, err := mrreview.ReviewTree(context.Background(), tree(cache))
				if err != nil {
					b.Fatal(err)
				}
				if rep.Summary.Blocking != 0 || rep.Summary.Context != n {
					b.Fatalf("blocking %d, context %d", rep.Summary.Blocking, rep.Summary.Context)
				}
			}
			b.ReportMetric(float64(s.CountCalls(gitlabtest.RouteRawBlob)-before)/float64(b.N), "blob-reads/op")
		})
	}
}
