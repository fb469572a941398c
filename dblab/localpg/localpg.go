// Package localpg makes clones of a database on a PostgreSQL server the
// user names by DSN, with CREATE DATABASE … TEMPLATE. A clone is a full
// copy: cheap for small and medium databases, not thin like DBLab's.
//
// Each clone database is named <prefix><id> and carries its expiry in its
// COMMENT ("pgai-clone expires=<RFC 3339> source=<db>"), so the janitor
// (Sweep) finds the clones a crashed run left behind.
package localpg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gitlab.com/pgai/reviewer/dblab"
)

// DefaultPrefix starts the name of every clone database.
const DefaultPrefix = "pgai_clone_"

// commentMarker starts the COMMENT of every clone database.
const commentMarker = "pgai-clone"

// ErrTemplateInUse means the source database has other sessions, which
// CREATE DATABASE … TEMPLATE does not allow.
var ErrTemplateInUse = errors.New("source database is in use by other sessions")

// Options configure a Provider.
type Options struct {
	// SourceDSN names the database to clone. Its server receives the
	// clones; its role needs CREATEDB (and must own the clones to drop
	// them).
	SourceDSN string
	// AdminDatabase is the database the provider connects to for CREATE
	// and DROP DATABASE ("postgres" when empty): a connection to the
	// source itself would make it busy.
	AdminDatabase string
	// Prefix starts clone database names (DefaultPrefix when empty).
	Prefix string
	// Strategy is CREATE DATABASE's STRATEGY (PostgreSQL 15+): "WAL_LOG"
	// or "FILE_COPY"; empty leaves the server's default.
	Strategy string
	Logger   *slog.Logger
	// Now is the clock (time.Now when nil); tests move it to expire clones.
	Now func() time.Time
}

// Provider clones a database with CREATE DATABASE … TEMPLATE.
type Provider struct {
	opts     Options
	source   string // source database name
	adminDSN string
}

var (
	_ dblab.Provider = (*Provider)(nil)
	_ dblab.Sweeper  = (*Provider)(nil)
)

// New checks the options and returns a Provider. It does not connect.
func New(opts Options) (*Provider, error) {
	if opts.SourceDSN == "" {
		return nil, errors.New("local clones: no source DSN (--source-dsn or PGAI_SOURCE_DSN)")
	}
	cfg, err := pgx.ParseConfig(opts.SourceDSN)
	if err != nil {
		return nil, fmt.Errorf("local clones: parse source DSN: %w", err)
	}
	if cfg.Database == "" {
		return nil, errors.New("local clones: the source DSN names no database")
	}
	if opts.AdminDatabase == "" {
		opts.AdminDatabase = "postgres"
	}
	if cfg.Database == opts.AdminDatabase {
		return nil, fmt.Errorf("local clones: the source database %q is the maintenance database; name the application database", cfg.Database)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if strings.ToLower(opts.Prefix) != opts.Prefix || strings.ContainsAny(opts.Prefix, `"' `) {
		return nil, fmt.Errorf("local clones: prefix %q must be lower case without quotes or spaces", opts.Prefix)
	}
	switch strings.ToUpper(opts.Strategy) {
	case "", "WAL_LOG", "FILE_COPY":
		opts.Strategy = strings.ToUpper(opts.Strategy)
	default:
		return nil, fmt.Errorf("local clones: unknown strategy %q (want WAL_LOG or FILE_COPY)", opts.Strategy)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{opts: opts, source: cfg.Database, adminDSN: WithDatabase(opts.SourceDSN, opts.AdminDatabase)}, nil
}

// Source is the name of the database being cloned.
func (p *Provider) Source() string { return p.source }

// Clone creates a database from the source database as template.
func (p *Provider) Clone(ctx context.Context, req dblab.CloneRequest) (*dblab.Clone, error) {
	id := dblab.NewCloneID(req)
	name := p.opts.Prefix + strings.ReplaceAll(strings.TrimPrefix(id, "pgai-"), "-", "_")
	if len(name) > 63 {
		name = name[:63]
	}
	conn, err := pgx.Connect(ctx, p.adminDSN)
	if err != nil {
		return nil, fmt.Errorf("clone %s: connect to %s: %w", p.source, p.opts.AdminDatabase, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	q := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{p.source}.Sanitize()
	if p.opts.Strategy != "" {
		q += " STRATEGY " + p.opts.Strategy
	}
	start := p.opts.Now()
	if _, err := conn.Exec(ctx, q); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55006" {
			return nil, fmt.Errorf("clone %s: %w: %s (CREATE DATABASE … TEMPLATE needs the source to have no other connections; stop them, or clone from a copy nobody connects to)", p.source, ErrTemplateInUse, pe.Message)
		}
		return nil, fmt.Errorf("clone %s into %s: %w", p.source, name, err)
	}
	expires := start.Add(req.TTLOrDefault())
	drop := func(ctx context.Context) error { return dropDatabase(ctx, p.adminDSN, name) }
	comment := fmt.Sprintf("%s expires=%s source=%s", commentMarker, expires.UTC().Format(time.RFC3339), p.source)
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS "+quoteLiteral(comment)); err != nil {
		return nil, errors.Join(fmt.Errorf("clone %s: mark expiry: %w", name, err), drop(context.WithoutCancel(ctx)))
	}
	p.opts.Logger.DebugContext(ctx, "local clone created", slog.String("clone_id", name),
		slog.Float64("duration_ms", float64(p.opts.Now().Sub(start).Microseconds())/1000))
	c := dblab.NewClone(name, WithDatabase(p.opts.SourceDSN, name), drop)
	c.CreatedAt, c.ExpiresAt = start, expires
	return c, nil
}

// Sweep drops the clone databases (name with the prefix and the clone
// marker in the comment) whose expiry has passed, and returns their names.
func (p *Provider) Sweep(ctx context.Context) ([]string, error) {
	conn, err := pgx.Connect(ctx, p.adminDSN)
	if err != nil {
		return nil, fmt.Errorf("sweep clones: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT d.datname, coalesce(shobj_description(d.oid, 'pg_database'), '')
		FROM pg_database d WHERE starts_with(d.datname, $1) ORDER BY 1`, p.opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("sweep clones: list: %w", err)
	}
	type db struct{ name, comment string }
	dbs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (db, error) {
		var d db
		return d, r.Scan(&d.name, &d.comment)
	})
	if err != nil {
		return nil, fmt.Errorf("sweep clones: list: %w", err)
	}
	now := p.opts.Now()
	var dropped []string
	var errs []error
	for _, d := range dbs {
		exp, ok := parseExpiry(d.comment)
		if !ok || now.Before(exp) {
			continue
		}
		if err := dropDatabase(ctx, p.adminDSN, d.name); err != nil {
			errs = append(errs, err)
			continue
		}
		p.opts.Logger.InfoContext(ctx, "expired clone dropped", slog.String("clone_id", d.name))
		dropped = append(dropped, d.name)
	}
	return dropped, errors.Join(errs...)
}

// parseExpiry reads the expiry from a clone database's comment.
func parseExpiry(comment string) (time.Time, bool) {
	f := strings.Fields(comment)
	if len(f) < 2 || f[0] != commentMarker {
		return time.Time{}, false
	}
	for _, kv := range f[1:] {
		if v, ok := strings.CutPrefix(kv, "expires="); ok {
			t, err := time.Parse(time.RFC3339, v)
			return t, err == nil
		}
	}
	return time.Time{}, false
}

func dropDatabase(ctx context.Context, adminDSN, name string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("drop clone %s: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop clone %s: %w", name, err)
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// WithDatabase returns dsn (URL or keyword/value form) connecting to the
// database db instead.
func WithDatabase(dsn, db string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path = "/" + db
			u.RawPath = ""
			return u.String()
		}
	}
	return strings.TrimSpace(dsn) + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(db) + "'"
}
