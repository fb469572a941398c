package dblabtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/localpg"
)

// LocalBackend backs a FakeDLE with local clones of a real database, so
// that the DBLab provider can be tested end to end: each fake clone is a
// localpg clone, and its user a superuser role (as DBLab's unrestricted
// clone users are).
type LocalBackend struct {
	Provider *localpg.Provider
	AdminDSN string

	mu     sync.Mutex
	clones map[string]*dblab.Clone
	roles  map[string]int
}

var _ Backend = (*LocalBackend)(nil)

// Create clones the source database and makes the user.
func (b *LocalBackend) Create(ctx context.Context, id, user, password string) (string, string, string, error) {
	cfg, err := pgx.ParseConfig(b.AdminDSN)
	if err != nil {
		return "", "", "", fmt.Errorf("backend: %w", err)
	}
	c, err := b.Provider.Clone(ctx, dblab.CloneRequest{TTL: time.Hour})
	if err != nil {
		return "", "", "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.clones == nil {
		b.clones, b.roles = map[string]*dblab.Clone{}, map[string]int{}
	}
	if b.roles[user] == 0 {
		if err := b.exec(ctx, "CREATE ROLE "+pgx.Identifier{user}.Sanitize()+" LOGIN SUPERUSER PASSWORD '"+strings.ReplaceAll(password, "'", "''")+"'"); err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42710" {
				return "", "", "", errors.Join(err, c.Release(ctx))
			}
		}
	}
	b.roles[user]++
	b.clones[id] = c
	ccfg, _ := pgx.ParseConfig(c.DSN)
	return cfg.Host, strconv.Itoa(int(cfg.Port)), ccfg.Database, nil
}

// Destroy drops the clone database.
func (b *LocalBackend) Destroy(ctx context.Context, id string) error {
	b.mu.Lock()
	c := b.clones[id]
	delete(b.clones, id)
	b.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Release(ctx)
}

func (b *LocalBackend) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, b.AdminDSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
