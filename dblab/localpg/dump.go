package localpg

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// dump makes the clone name with pg_dump | pg_restore: an empty database
// with the source's encoding and locale, the source's schema and data
// restored into it, then ANALYZE so that row estimates match the source.
// Unlike CREATE DATABASE … TEMPLATE it works while the source has other
// sessions (pg_dump reads one consistent snapshot), at the price of a
// logical copy: slower, and indexes are rebuilt, so their sizes are those
// of freshly built indexes.
func (p *Provider) dump(ctx context.Context, conn *pgx.Conn, name string) error {
	var enc, collate, ctype string
	var major int
	if err := conn.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding), datcollate, datctype, current_setting('server_version_num')::int / 10000
		FROM pg_database WHERE datname = $1`, p.source).Scan(&enc, &collate, &ctype, &major); err != nil {
		return fmt.Errorf("clone %s: read its encoding: %w", p.source, err)
	}
	q := fmt.Sprintf("CREATE DATABASE %s TEMPLATE template0 ENCODING %s LC_COLLATE %s LC_CTYPE %s",
		pgx.Identifier{name}.Sanitize(), quoteLiteral(enc), quoteLiteral(collate), quoteLiteral(ctype))
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("clone %s: create %s: %w", p.source, name, err)
	}
	pgDump, err := p.tool("pg_dump", major)
	if err != nil {
		return err
	}
	pgRestore, err := p.tool("pg_restore", major)
	if err != nil {
		return err
	}
	srcEnv, err := libpqEnv(p.opts.SourceDSN, p.source)
	if err != nil {
		return err
	}
	dstEnv, err := libpqEnv(p.opts.SourceDSN, name)
	if err != nil {
		return err
	}
	// pg_dump's custom format through a pipe: no temporary file the size
	// of the database. Both processes die with ctx (an interrupt).
	dumpCmd := exec.CommandContext(ctx, pgDump, "--format=custom", "--compress=0")
	dumpCmd.Env = append(os.Environ(), srcEnv...)
	restoreCmd := exec.CommandContext(ctx, pgRestore, "--no-owner", "--exit-on-error", "--dbname="+name)
	restoreCmd.Env = append(os.Environ(), dstEnv...)
	pipe, err := dumpCmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("clone %s: pg_dump: %w", p.source, err)
	}
	restoreCmd.Stdin = pipe
	var dumpErr, restoreErr bytes.Buffer
	dumpCmd.Stderr, restoreCmd.Stderr = &limited{w: &dumpErr, n: 4096}, &limited{w: &restoreErr, n: 4096}
	if err := dumpCmd.Start(); err != nil {
		return fmt.Errorf("clone %s: start pg_dump: %w", p.source, err)
	}
	if err := restoreCmd.Start(); err != nil {
		_ = dumpCmd.Process.Kill()
		_ = dumpCmd.Wait()
		return fmt.Errorf("clone %s: start pg_restore: %w", p.source, err)
	}
	rerr := restoreCmd.Wait()
	if rerr != nil {
		_ = dumpCmd.Process.Kill()
	}
	derr := dumpCmd.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("clone %s: dump interrupted: %w", p.source, err)
	}
	if derr != nil {
		return fmt.Errorf("clone %s: pg_dump: %w: %s", p.source, derr, strings.TrimSpace(dumpErr.String()))
	}
	if rerr != nil {
		return fmt.Errorf("clone %s: pg_restore into %s: %w: %s", p.source, name, rerr, strings.TrimSpace(restoreErr.String()))
	}
	clone, err := adminConnect(ctx, WithDatabase(p.opts.SourceDSN, name))
	if err != nil {
		return fmt.Errorf("clone %s: connect: %w", name, err)
	}
	defer clone.Close(context.WithoutCancel(ctx))
	if _, err := clone.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("clone %s: analyze: %w", name, err)
	}
	return nil
}

// tool finds pg_dump or pg_restore: in BinDir, else the server major's
// Debian directory (a pg_dump older than the server refuses to dump it),
// else PATH.
func (p *Provider) tool(name string, major int) (string, error) {
	if p.opts.BinDir != "" {
		return filepath.Join(p.opts.BinDir, name), nil
	}
	deb := filepath.Join("/usr/lib/postgresql", strconv.Itoa(major), "bin", name)
	if st, err := os.Stat(deb); err == nil && !st.IsDir() {
		return deb, nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("--clone-strategy dump needs %s (PostgreSQL %d client tools): %w", name, major, err)
	}
	return path, nil
}

var sslmodeRE = regexp.MustCompile(`(?:^|[?&\s])sslmode=([a-z-]+)`)

// libpqEnv turns dsn (pointed at db) into libpq environment variables, so
// that the password never shows in a process listing.
func libpqEnv(dsn, db string) ([]string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse source DSN: %w", err)
	}
	env := []string{"PGHOST=" + cfg.Host, "PGPORT=" + strconv.Itoa(int(cfg.Port)), "PGUSER=" + cfg.User, "PGDATABASE=" + db,
		"PGPASSWORD=" + cfg.Password, "PGAPPNAME=pgai-clone"}
	if m := sslmodeRE.FindStringSubmatch(dsn); m != nil {
		env = append(env, "PGSSLMODE="+m[1])
	}
	return env, nil
}

// limited keeps the first n bytes written to it and drops the rest.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(b []byte) (int, error) {
	if l.n > 0 {
		k := min(len(b), l.n)
		if _, err := l.w.Write(b[:k]); err != nil {
			return 0, err
		}
		l.n -= k
	}
	return len(b), nil
}
