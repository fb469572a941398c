package agent

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

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
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("agent migrate: %w", err)
	}
	type mig struct {
		v    int
		name string
	}
	var ms []mig
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("agent migration %s: name must start with a number and an underscore", e.Name())
		}
		ms = append(ms, mig{v, e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].v < ms[j].v })
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("agent migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return fmt.Errorf("agent migrate: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS agent_schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("agent migrate: create version table: %w", err)
	}
	for _, m := range ms {
		var done bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM agent_schema_migrations WHERE version = $1)", m.v).Scan(&done); err != nil {
			return fmt.Errorf("agent migrate: read versions: %w", err)
		}
		if done {
			continue
		}
		sql, err := migrationFS.ReadFile("migrations/" + m.name)
		if err != nil {
			return fmt.Errorf("agent migrate %s: %w", m.name, err)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("agent migrate %s: begin: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("agent migrate %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO agent_schema_migrations (version, name) VALUES ($1, $2)", m.v, m.name); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("agent migrate %s: record version: %w", m.name, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("agent migrate %s: commit: %w", m.name, err)
		}
	}
	return nil
}
