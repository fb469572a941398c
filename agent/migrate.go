package agent

import (
	"context"
	"embed"
	"fmt"
	"gitlab.com/pgai/reviewer/internal/pgmigrate"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the advisory lock key held while migrating.
const migrationLock = 7_262_011_011

// Migrate creates or upgrades the agent's tables. It is idempotent:
// applied versions are recorded in agent_schema_migrations and each
// migration runs in its own transaction.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("agent migrations: %w", err)
	}
	return pgmigrate.Apply(ctx, pool, pgmigrate.Set{Name: "agent", FS: sub, Table: "agent_schema_migrations", Lock: migrationLock})
}
