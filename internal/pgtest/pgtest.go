// Package pgtest gives tests a real PostgreSQL: a fresh database per test on
// a throwaway cluster that the harness starts itself (initdb into a temp dir,
// a free loopback port, as the postgres OS user when running as root), or on
// the server named by PGAI_TEST_DATABASE_URL.
//
// When no server can be had, tests are skipped locally but fail when CI=true:
// a green CI run must mean the database tests really ran.
//
// Packages that use it call pgtest.Main from TestMain so the cluster is
// stopped when the test binary ends:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names an existing server to use instead of starting one. It must
// point at a role that may CREATE DATABASE.
const EnvURL = "PGAI_TEST_DATABASE_URL"

var (
	once     sync.Once
	shared   *cluster
	startErr error
)

type cluster struct {
	adminURL string // URL of the maintenance database (postgres)
	dataDir  string // empty when the server is external
	pgCtl    string
	cred     *syscall.Credential
}

// Main runs the tests of a package and stops the cluster afterwards.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

// Database is a fresh database created for one test and dropped after it.
type Database struct {
	// Name of the database.
	Name string
	// URL connects to it as a superuser.
	URL string
}

// New creates an empty database for t on the test server. It skips the test
// when no server can be had, or fails it when CI=true.
func New(t testing.TB) *Database {
	t.Helper()
	c := server(t)
	name := "pgtest_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := c.exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return &Database{Name: name, URL: withDatabase(c.adminURL, name)}
}

// AdminURL returns the URL of the server's maintenance database, for tests
// that create and drop databases themselves (clone providers).
func AdminURL(t testing.TB) string {
	t.Helper()
	return server(t).adminURL
}

// Pool opens a pgx pool on the database, closed when the test ends.
func (d *Database) Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), d.URL)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Conn opens a single connection on the database, closed when the test ends.
func (d *Database) Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), d.URL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs SQL on the database and fails the test on error.
func (d *Database) Exec(t testing.TB, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), d.URL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("pgtest: exec %q: %v", abbreviate(sql), err)
	}
}

func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func server(t testing.TB) *cluster {
	t.Helper()
	once.Do(func() { shared, startErr = start() })
	if startErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: no PostgreSQL for tests (CI=true, so this fails instead of skipping): %v", startErr)
		}
		t.Skipf("pgtest: no PostgreSQL for tests: %v (set %s or install PostgreSQL)", startErr, EnvURL)
	}
	return shared
}

func (c *cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func start() (*cluster, error) {
	if u := os.Getenv(EnvURL); u != "" {
		c := &cluster{adminURL: u}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.exec(ctx, "SELECT 1"); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		return c, nil
	}
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	c := &cluster{pgCtl: filepath.Join(bin, "pg_ctl")}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	c.dataDir = filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the server as the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", c.dataDir, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	conf := strings.Join([]string{
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(port),
		"unix_socket_directories = '" + dir + "'",
		"fsync = off",
		"synchronous_commit = off",
		"full_page_writes = off",
		"max_connections = 300",
		"shared_buffers = 128MB",
		"track_io_timing = on",
		"logging_collector = off",
		"",
	}, "\n")
	f, err := os.OpenFile(filepath.Join(c.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("postgresql.conf: %w", err)
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return nil, fmt.Errorf("postgresql.conf: %w", err)
	}
	f.Close()
	if out, err := c.run(c.pgCtl, "-D", c.dataDir, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return nil, fmt.Errorf("pg_ctl start: %w: %s %s", err, out, log)
	}
	c.adminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

func (c *cluster) stop() {
	if c.dataDir == "" {
		return
	}
	_, _ = c.run(c.pgCtl, "-D", c.dataDir, "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(filepath.Dir(c.dataDir))
}

func (c *cluster) run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = os.TempDir()
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// binDir finds the PostgreSQL server binaries: PGAI_PG_BIN, pg_config
// --bindir, Debian's /usr/lib/postgresql/N/bin, or PATH.
func binDir() (string, error) {
	if d := os.Getenv("PGAI_PG_BIN"); d != "" {
		return d, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb not found (install postgresql, or set PGAI_PG_BIN)")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func withDatabase(rawURL, db string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + db
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
