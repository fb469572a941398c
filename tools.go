//go:build tools

// This file pins the modules that the design chose (see README, "Dependencies")
// so that `go mod tidy` keeps them while the packages that use them grow.
package reviewer

import (
	_ "github.com/goccy/go-yaml"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/pganalyze/pg_query_go/v6"
	_ "github.com/pgvector/pgvector-go"
	_ "github.com/riverqueue/river"
	_ "github.com/riverqueue/river/riverdriver/riverpgxv5"
	_ "github.com/sashabaranov/go-openai"
	_ "gitlab.com/gitlab-org/api/client-go/v2"
	_ "go.uber.org/goleak"
	_ "golang.org/x/sync/errgroup"
)
