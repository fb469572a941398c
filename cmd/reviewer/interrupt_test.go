package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/internal/pgtest"
)

// interruptSource makes a source database big enough that making a clone
// takes a moment (so that a signal can land while it is made), and a
// migration whose middle statement sleeps.
func interruptSource(t *testing.T) (*pgtest.Database, string) {
	t.Helper()
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE orders (id bigint PRIMARY KEY, note text);
		INSERT INTO orders SELECT g, repeat('x', 200) FROM generate_series(1, 150000) g;
		CREATE TABLE settings (k text PRIMARY KEY, v text); INSERT INTO settings SELECT g::text, 'v' FROM generate_series(1, 10) g`)
	dir := t.TempDir()
	src := "CREATE INDEX orders_note ON orders (note);\nSELECT pg_sleep(20);\nALTER TABLE settings ADD COLUMN c int;\n"
	if err := os.WriteFile(filepath.Join(dir, "001_slow.sql"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return db, dir
}

// startReviewer runs the test binary as `reviewer check …` (see TestMain).
func startReviewer(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PGAI_TEST_RUN_MAIN=1", "PGAI_TEST_ARGS="+strings.Join(args, " "))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd, &out, &errOut
}

// waitFor polls the server until query (with args) returns true.
func waitFor(t *testing.T, conn *pgx.Conn, what, query string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		if err := conn.QueryRow(t.Context(), query, args...).Scan(&ok); err == nil && ok {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func clonesLeft(t *testing.T, conn *pgx.Conn, prefix string) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestCheckInterruptedLeavesNoClone signals `reviewer check --clone local`
// at each phase — while CREATE DATABASE (or pg_dump | pg_restore) copies
// the source, as soon as the clone exists, while a statement runs on the
// clone — and checks that the static report is printed with "interrupted:
// not measured", no experiment-failed finding appears, the exit status is
// 128 + the signal, and no clone database is left.
func TestCheckInterruptedLeavesNoClone(t *testing.T) {
	t.Parallel()
	db, dir := interruptSource(t)
	admin, err := pgx.Connect(t.Context(), pgtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	phases := []struct {
		name     string
		strategy string
		sig      syscall.Signal
		wait     string // SQL that turns true when the phase is reached
	}{
		{"as soon as the clone exists", "template", syscall.SIGINT,
			"SELECT EXISTS (SELECT FROM pg_database WHERE starts_with(datname, $1))"},
		{"while CREATE DATABASE copies", "template", syscall.SIGINT,
			"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'CREATE DATABASE %' AND query LIKE '%' || $1 || '%')"},
		{"while pg_dump | pg_restore copies", "dump", syscall.SIGTERM,
			"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'pgai-clone' AND state = 'active' AND datname LIKE $1 || '%')"},
		{"while a statement runs on the clone", "template", syscall.SIGTERM,
			"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE '%SELECT pg_sleep(20)%' AND state = 'active' AND datname LIKE $1 || '%')"},
	}
	for i, ph := range phases {
		prefix := "pgai_int" + strings.TrimPrefix(db.Name, "pgtest_") + "_" + string(rune('a'+i)) + "_"
		cmd, out, errOut := startReviewer(t, "check", "--clone", "local", "--source-dsn", db.URL, "--clone-prefix", prefix,
			"--clone-strategy", ph.strategy, dir)
		waitFor(t, admin, ph.name, ph.wait, prefix)
		if err := cmd.Process.Signal(ph.sig); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if want := 128 + int(ph.sig); code != want {
			t.Errorf("%s: exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", ph.name, code, err, want, out, errOut)
		}
		if !strings.Contains(out.String(), "[index-create-nonconcurrent]") || strings.Contains(out.String(), "experiment-failed") {
			t.Errorf("%s: want the static report and no experiment-failed finding:\n%s", ph.name, out)
		}
		if !strings.Contains(out.String()+errOut.String(), "interrupted: not measured") {
			t.Errorf("%s: no \"interrupted: not measured\":\n%s\n%s", ph.name, out, errOut)
		}
		if left := clonesLeft(t, admin, prefix); len(left) > 0 {
			t.Errorf("%s: clones left behind: %v", ph.name, left)
		}
	}
}

// TestCheckBusySource: the source has another session, so CREATE
// DATABASE … TEMPLATE cannot copy it. The static report is printed with
// "not measured: <reason>" and the exit status is the static gate's;
// --clone-strategy dump measures the same source while it is in use.
func TestCheckBusySource(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.Exec(t, "CREATE TABLE settings (k text PRIMARY KEY, v text); INSERT INTO settings SELECT g::text, 'v' FROM generate_series(1, 10) g")
	busy := db.Conn(t)
	_ = busy
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "001_idx.sql"), []byte("CREATE INDEX settings_v ON settings (v);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := "pgai_busy" + strings.TrimPrefix(db.Name, "pgtest_") + "_"
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check", "--clone", "local", "--source-dsn", db.URL, "--clone-prefix", prefix, dir}, strings.NewReader(""), &out, &errOut)
	if code != exitBlocking || !strings.Contains(out.String(), "[index-create-nonconcurrent]") ||
		!strings.Contains(out.String(), "not measured: ") || !strings.Contains(out.String(), "in use by other sessions") {
		t.Errorf("busy source: exit %d, want %d with the static report and the reason\nstdout:\n%s\nstderr:\n%s", code, exitBlocking, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	// 10 rows: measured, the SHARE lock is held for milliseconds, so the
	// finding is downgraded and the gate passes.
	code = run(t.Context(), []string{"check", "--clone", "local", "--clone-strategy", "dump", "--source-dsn", db.URL, "--clone-prefix", prefix, dir}, strings.NewReader(""), &out, &errOut)
	if code != exitOK || !strings.Contains(out.String(), "info [index-create-nonconcurrent]") || !strings.Contains(out.String(), "harmless at this size") {
		t.Errorf("dump of a busy source: exit %d, want %d with the finding downgraded\nstdout:\n%s\nstderr:\n%s", code, exitOK, out.String(), errOut.String())
	}
}
