// Package pgmigrate applies a package's embedded SQL migrations to the
// reviewer's database: files named NNNN_name.sql, in version order, each
// in its own transaction, recorded in a version table of the package's
// own, under an advisory lock so that several replicas starting at once
// apply each migration exactly once.
package pgmigrate

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Set describes one package's migrations.
type Set struct {
	// Name prefixes errors ("kb", "agent", …).
	Name string
	// FS holds the .sql files at its root (fs.Sub of an embed.FS).
	FS fs.FS
	// Table records the applied versions (created when missing).
	Table string
	// Lock is the advisory lock key held while migrating.
	Lock int64
	// Hooks run Go code in a migration's transaction, after its SQL.
	Hooks map[int]func(context.Context, pgx.Tx) error
	// Applied, when set, is told each migration applied.
	Applied func(ctx context.Context, name string)
}

type migration struct {
	version int
	name    string
}

// Apply runs the migrations of s not yet recorded in s.Table.
func Apply(ctx context.Context, pool *pgxpool.Pool, s Set) error {
	entries, err := fs.ReadDir(s.FS, ".")
	if err != nil {
		return fmt.Errorf("%s migrations: %w", s.Name, err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("%s migration %s: name must start with a number and an underscore", s.Name, e.Name())
		}
		ms = append(ms, migration{v, e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("%s migrate: acquire connection: %w", s.Name, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", s.Lock); err != nil {
		return fmt.Errorf("%s migrate: lock: %w", s.Name, err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", s.Lock)
	}()
	table := pgx.Identifier{s.Table}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("%s migrate: create version table: %w", s.Name, err)
	}
	for _, m := range ms {
		sql, err := fs.ReadFile(s.FS, m.name)
		if err != nil {
			return fmt.Errorf("%s migration %s: %w", s.Name, m.name, err)
		}
		applied := false
		err = pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `INSERT INTO `+table+` (version, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, m.version, m.name)
			if err != nil || tag.RowsAffected() == 0 {
				return err // already applied
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			if hook := s.Hooks[m.version]; hook != nil {
				if err := hook(ctx, tx); err != nil {
					return err
				}
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s migrate %s: %w", s.Name, m.name, err)
		}
		if applied && s.Applied != nil {
			s.Applied(ctx, m.name)
		}
	}
	return nil
}
