package localpg_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/dblabtest"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// source makes a seeded source database and a provider cloning it.
func source(t *testing.T, opts localpg.Options) (*pgtest.Database, *localpg.Provider) {
	t.Helper()
	db := pgtest.New(t)
	db.Exec(t, dblabtest.SeedSQL)
	opts.SourceDSN = db.URL
	if opts.Prefix == "" {
		// A prefix per test keeps one test's janitor away from another's clones.
		opts.Prefix = "pgai_t" + strings.TrimPrefix(db.Name, "pgtest_") + "_"
	}
	p, err := localpg.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return db, p
}

func TestConformance(t *testing.T) {
	t.Parallel()
	_, p := source(t, localpg.Options{})
	dblabtest.Exercise(t, p)
}

func TestConformanceFileCopy(t *testing.T) {
	t.Parallel()
	_, p := source(t, localpg.Options{Strategy: "file_copy"})
	dblabtest.Exercise(t, p)
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts localpg.Options
		want string
	}{
		{"no dsn", localpg.Options{}, "no source DSN"},
		{"maintenance db", localpg.Options{SourceDSN: "postgres://u@h/postgres"}, "maintenance database"},
		{"bad strategy", localpg.Options{SourceDSN: "postgres://u@h/app", Strategy: "copy"}, "unknown strategy"},
		{"upper prefix", localpg.Options{SourceDSN: "postgres://u@h/app", Prefix: "Pgai_"}, "lower case"},
		{"no database", localpg.Options{SourceDSN: "host=h user=u"}, "names no database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := localpg.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) = %v, want an error containing %q", tt.opts, err, tt.want)
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u:p@h:5432/app?sslmode=disable", "postgres://u:p@h:5432/clone?sslmode=disable"},
		{"host=h user=u dbname=app", "host=h user=u dbname=app dbname='clone'"},
	}
	for _, tt := range tests {
		if got := localpg.WithDatabase(tt.in, "clone"); got != tt.want {
			t.Errorf("WithDatabase(%q) = %q, want %q", tt.in, got, tt.want)
		}
		cfg, err := pgx.ParseConfig(localpg.WithDatabase(tt.in, "clone"))
		if err != nil || cfg.Database != "clone" {
			t.Errorf("WithDatabase(%q) parses to database %v (%v), want clone", tt.in, cfg, err)
		}
	}
}

func TestTemplateInUse(t *testing.T) {
	t.Parallel()
	db, p := source(t, localpg.Options{})
	conn := db.Conn(t) // an open session on the source
	_ = conn
	_, err := p.Clone(t.Context(), dblab.CloneRequest{})
	if !errors.Is(err, localpg.ErrTemplateInUse) {
		t.Fatalf("Clone with a session on the source = %v, want ErrTemplateInUse", err)
	}
	if !strings.Contains(err.Error(), db.Name) {
		t.Errorf("error %q does not name the source database %s", err, db.Name)
	}
}

func TestSweepDropsOnlyExpiredClones(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := now
	_, p := source(t, localpg.Options{Now: func() time.Time { return clock }})
	short, err := p.Clone(t.Context(), dblab.CloneRequest{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = short.Release(context.Background()) })
	long, err := p.Clone(t.Context(), dblab.CloneRequest{TTL: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = long.Release(context.Background()) })

	clock = now.Add(30 * time.Second)
	if got, err := p.Sweep(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("Sweep before any expiry = %v, %v; want nothing dropped", got, err)
	}
	clock = now.Add(2 * time.Minute)
	got, err := p.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != short.ID {
		t.Fatalf("Sweep = %v, want [%s]", got, short.ID)
	}
	if !connects(t, long.DSN) {
		t.Errorf("the unexpired clone %s was dropped", long.ID)
	}
	if connects(t, short.DSN) {
		t.Errorf("the expired clone %s still exists", short.ID)
	}
}

// TestKilledRunLeavesNoCloneAfterJanitor starts a child process that makes
// a clone and is killed with SIGKILL before it can release it: the clone
// survives the crash, and the janitor removes it once expired.
func TestKilledRunLeavesNoCloneAfterJanitor(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := now
	db, p := source(t, localpg.Options{Now: func() time.Time { return clock }})
	cmd, id := startChild(t, db.URL, p, "hold")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	dsn := localpg.WithDatabase(db.URL, id)
	if !connects(t, dsn) {
		t.Fatalf("clone %s is gone right after the kill; the test proves nothing", id)
	}
	clock = now.Add(2 * time.Hour)
	got, err := p.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != id {
		t.Errorf("Sweep = %v, want [%s]", got, id)
	}
	if connects(t, dsn) {
		t.Errorf("clone %s left behind after the janitor ran", id)
	}
}

// TestInterruptedRunReleasesClone sends SIGINT to a child that holds a
// clone inside WithClone, as the CLI does: the clone is released at once.
func TestInterruptedRunReleasesClone(t *testing.T) {
	t.Parallel()
	db, p := source(t, localpg.Options{})
	cmd, id := startChild(t, db.URL, p, "interrupt")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if connects(t, localpg.WithDatabase(db.URL, id)) {
		t.Errorf("clone %s left behind after SIGINT", id)
	}
}

func startChild(t *testing.T, dsn string, p *localpg.Provider, mode string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "LOCALPG_HELPER="+mode, "LOCALPG_SOURCE="+dsn, "LOCALPG_PREFIX="+prefixOf(t, p))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "CLONE "); ok {
			return cmd, id
		}
	}
	t.Fatalf("child printed no clone id: %v", sc.Err())
	return nil, ""
}

func prefixOf(t *testing.T, p *localpg.Provider) string {
	t.Helper()
	c, err := p.Clone(t.Context(), dblab.CloneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release(context.Background())
	i := strings.LastIndex(c.ID, "_")
	return c.ID[:i+1]
}

// TestHelperProcess is the child of the crash tests; it does nothing in a
// normal run.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("LOCALPG_HELPER")
	if mode == "" {
		return
	}
	p, err := localpg.New(localpg.Options{SourceDSN: os.Getenv("LOCALPG_SOURCE"), Prefix: os.Getenv("LOCALPG_PREFIX")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err = dblab.WithClone(ctx, p, dblab.CloneRequest{TTL: time.Hour}, nil, func(ctx context.Context, c *dblab.Clone) error {
		fmt.Printf("CLONE %s\n", c.ID)
		<-ctx.Done() // "hold" is killed here; "interrupt" gets SIGINT
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func connects(t *testing.T, dsn string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		return false
	}
	conn.Close(context.Background())
	return true
}

// Two clones that draw the same id in the same second: the second draws
// again, and the first clone is left alone (a failed CREATE DATABASE does
// not drop the database whose name it collided with).
func TestCloneIDCollision(t *testing.T) {
	t.Parallel()
	_, p := source(t, localpg.Options{Now: func() time.Time { return time.Unix(1_900_000_000, 0) }})
	var calls int
	localpg.SetNewID(p, func(dblab.CloneRequest) string {
		calls++
		if calls <= 2 {
			return "pgai-same-0590"
		}
		return "pgai-other-1234"
	})
	first, err := p.Clone(t.Context(), dblab.CloneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Release(context.Background()) })
	second, err := p.Clone(t.Context(), dblab.CloneRequest{})
	if err != nil {
		t.Fatalf("second clone with a colliding id: %v", err)
	}
	t.Cleanup(func() { _ = second.Release(context.Background()) })
	if first.ID == second.ID || calls != 3 {
		t.Errorf("ids %s and %s after %d draws; want two names after three draws", first.ID, second.ID, calls)
	}
	conn, err := pgx.Connect(t.Context(), first.DSN)
	if err != nil {
		t.Fatalf("the first clone is gone after the collision: %v", err)
	}
	conn.Close(context.Background())
}
