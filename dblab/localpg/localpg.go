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
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"gitlab.com/pgai/reviewer/dblab"
)

// The clone methods.
const (
	MethodTemplate = "template"
	MethodDump     = "dump"
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
	// Method is how a clone is made: MethodTemplate (CREATE DATABASE …
	// TEMPLATE, the default; the source must have no other sessions) or
	// MethodDump (pg_dump | pg_restore into a new database; works while
	// others are connected, slower).
	Method string
	// Strategy is CREATE DATABASE's STRATEGY (PostgreSQL 15+): "WAL_LOG"
	// or "FILE_COPY"; empty means FILE_COPY where the server has it.
	Strategy string
	// BinDir is where pg_dump and pg_restore are (the dump method); empty
	// searches PATH, then /usr/lib/postgresql/<server major>/bin.
	BinDir string
	Logger *slog.Logger
	// Now is the clock (time.Now when nil); tests move it to expire clones.
	Now func() time.Time
}

// Provider clones a database with CREATE DATABASE … TEMPLATE.
type Provider struct {
	opts     Options
	source   string // source database name
	adminDSN string
	// newID makes clone ids (dblab.NewCloneID when nil; tests set it).
	newID func(dblab.CloneRequest) string
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
	switch strings.ToLower(opts.Method) {
	case "", MethodTemplate:
		opts.Method = MethodTemplate
	case MethodDump:
		opts.Method = MethodDump
	default:
		return nil, fmt.Errorf("local clones: unknown clone strategy %q (want template or dump)", opts.Method)
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

// Clone creates a database from the source database as template (or, with
// the dump method, restores a pg_dump of it).
//
// The clone's name carries its expiry from the moment it exists
// (<prefix><id>_e<expiry, base 36 Unix seconds>), so a run interrupted or
// killed at any point — even between CREATE DATABASE and the COMMENT that
// names the owner — leaves nothing the janitor cannot recognise and
// remove. An interrupt (ctx canceled) while the copy runs cancels it on the
// server and drops whatever was made.
func (p *Provider) Clone(ctx context.Context, req dblab.CloneRequest) (*dblab.Clone, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("clone %s: %w", p.source, err)
	}
	start := p.opts.Now()
	expires := start.Add(req.TTLOrDefault())
	conn, err := adminConnect(ctx, p.adminDSN)
	if err != nil {
		return nil, fmt.Errorf("clone %s: connect to %s: %w", p.source, p.opts.AdminDatabase, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Two clones for the same request in the same second may draw the same
	// random part of the id: the name is then taken, and another is drawn
	// (never dropping the database of that other clone).
	for attempt := 1; ; attempt++ {
		newID := p.newID
		if newID == nil {
			newID = dblab.NewCloneID
		}
		c, err := p.cloneAs(ctx, conn, p.cloneName(newID(req), expires), start, expires)
		var pe *pgconn.PgError
		if attempt < 5 && errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505") {
			continue
		}
		return c, err
	}
}

// cloneAs makes the clone database name (see Clone).
func (p *Provider) cloneAs(ctx context.Context, conn *pgx.Conn, name string, start, expires time.Time) (*dblab.Clone, error) {
	drop := func(ctx context.Context) error { return dropDatabase(ctx, p.adminDSN, name) }
	// cleanup drops a clone whose creation did not complete; it runs even
	// when ctx is canceled (that is the interrupt it cleans up after).
	cleanup := func(err error) error {
		if derr := drop(context.WithoutCancel(ctx)); derr != nil {
			return errors.Join(err, derr)
		}
		return err
	}
	if p.opts.Method == MethodDump {
		if err := p.dump(ctx, conn, name); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505") {
				return nil, err // the name is another clone's: nothing of ours to drop
			}
			return nil, cleanup(err)
		}
	} else {
		q := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{p.source}.Sanitize()
		if strategy := p.strategy(conn); strategy != "" {
			q += " STRATEGY " + strategy
		}
		if _, err := conn.Exec(ctx, q); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "55006" {
				return nil, fmt.Errorf("clone %s: %w: %s (CREATE DATABASE … TEMPLATE needs the source to have no other connections; use --clone-strategy dump, or clone from a copy nobody connects to)", p.source, ErrTemplateInUse, pe.Message)
			}
			if errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505") {
				// The name is another clone's: nothing of ours to drop.
				return nil, fmt.Errorf("clone %s into %s: %w", p.source, name, err)
			}
			return nil, cleanup(fmt.Errorf("clone %s into %s: %w", p.source, name, err))
		}
	}
	comment := fmt.Sprintf("%s expires=%s source=%s owner=%s", commentMarker, expires.UTC().Format(time.RFC3339), p.source, owner())
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS "+quoteLiteral(comment)); err != nil {
		return nil, cleanup(fmt.Errorf("clone %s: mark expiry: %w", name, err))
	}
	if err := ctx.Err(); err != nil {
		return nil, cleanup(fmt.Errorf("clone %s: %w", name, err))
	}
	p.opts.Logger.DebugContext(ctx, "local clone created", slog.String("clone_id", name), slog.String("method", p.opts.Method),
		slog.Float64("duration_ms", float64(p.opts.Now().Sub(start).Microseconds())/1000))
	c := dblab.NewClone(name, WithDatabase(p.opts.SourceDSN, name), drop)
	c.CreatedAt, c.ExpiresAt = start, expires
	return c, nil
}

// cloneName is <prefix><id>_e<expiry in base 36>, within PostgreSQL's
// 63-byte limit (the id is shortened, never the expiry).
func (p *Provider) cloneName(id string, expires time.Time) string {
	suffix := "_e" + strconv.FormatInt(expires.Unix(), 36)
	body := p.opts.Prefix + strings.ReplaceAll(strings.TrimPrefix(id, "pgai-"), "-", "_")
	if len(body)+len(suffix) > 63 {
		body = body[:63-len(suffix)]
	}
	return body + suffix
}

// nameExpiry reads the expiry a clone's name carries.
func nameExpiry(name string) (time.Time, bool) {
	i := strings.LastIndex(name, "_e")
	if i < 0 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(name[i+2:], 36, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// strategy is the STRATEGY clause: the configured one, else FILE_COPY on
// PostgreSQL 15 and later (a file copy plus two checkpoints; about twice
// as fast as WAL_LOG's block-by-block copy through the WAL for databases
// of hundreds of MB), else none (older servers only copy files).
func (p *Provider) strategy(conn *pgx.Conn) string {
	if p.opts.Strategy != "" {
		return p.opts.Strategy
	}
	if v, err := strconv.Atoi(conn.PgConn().ParameterStatus("server_version_num")); err == nil && v >= 150000 {
		return "FILE_COPY"
	} else if err != nil {
		// server_version_num is not reported at startup before PG 16; ask.
		var num int
		if conn.QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int").Scan(&num) == nil && num >= 150000 {
			return "FILE_COPY"
		}
	}
	return ""
}

// owner names who made a clone: user@host pid N.
func owner() string {
	host, _ := os.Hostname()
	u := os.Getenv("USER")
	if u == "" {
		u = "unknown"
	}
	return fmt.Sprintf("%s@%s/pid=%d", u, host, os.Getpid())
}

// adminConnect connects for CREATE and DROP DATABASE. A canceled ctx
// sends a cancel request to the server instead of only closing the
// socket: a closed socket lets CREATE DATABASE run to completion and
// commit unseen, which is how interrupted runs used to leave full-size
// clones behind.
func adminConnect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 10 * time.Second}
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// Sweep drops the clone databases (name with the prefix) whose expiry has
// passed — from the comment, else from the name, which carries it from
// creation on — and those whose creation never completed, and returns
// their names.
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
		if !ok {
			exp, ok = nameExpiry(d.name)
		}
		if !ok && d.comment == "" {
			// A clone of an older reviewer whose creation never completed
			// (no comment, no expiry in its name): nothing will ever
			// release it.
			exp, ok = time.Time{}, true
		}
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
	conn, err := adminConnect(ctx, adminDSN)
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
