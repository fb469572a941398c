package kb

import (
	"context"
	"embed"
	"fmt"
	"gitlab.com/pgai/reviewer/internal/pgmigrate"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the advisory lock key held while migrating, so two
// reviewers starting at once do not apply the same migration twice.
const migrationLock = 7_262_011_001

// migrationHooks run Go code in a migration's transaction, after its SQL:
// 0004 replaces the posting lists with packed ones, which only the Go code
// can write; 0005 changes trust levels and the indexed heading words.
var migrationHooks = map[int]func(context.Context, pgx.Tx) error{
	4: refreshPostings,
	5: refreshPostings,
}

// Migrate creates or upgrades the knowledge-base schema (and the vector
// extension). It is idempotent: applied versions are recorded in
// kb_schema_migrations and each migration runs in its own transaction.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("kb migrations: %w", err)
	}
	return pgmigrate.Apply(ctx, pool, pgmigrate.Set{Name: "kb", FS: sub, Table: "kb_schema_migrations", Lock: migrationLock, Hooks: migrationHooks})
}
