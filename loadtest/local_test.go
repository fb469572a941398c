package loadtest

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// needPgbench finds pgbench; without it the test is skipped locally and
// fails under CI=true (scripts/setup installs it).
func needPgbench(t *testing.T) {
	t.Helper()
	if _, err := FindPgbench(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skip(err)
	}
}

func smallSpec(dsn string, clients ...int) Spec {
	return Spec{Name: "test", Target: Target{DSN: dsn},
		Workload: Workload{Scale: 1, Clients: clients, Duration: Duration(2 * time.Second), Progress: 1}}
}

// A real pgbench run against the test server: results from the logs,
// 70+ artifacts per iteration, plots, the run folder.
func TestRunLocal(t *testing.T) {
	needPgbench(t)
	db := pgtest.New(t)
	dir := t.TempDir()
	var phases []string
	run, err := RunLocal(context.Background(), smallSpec(db.URL, 1, 2), LocalOptions{Dir: dir, OnEvent: func(e Event) {
		if len(phases) == 0 || phases[len(phases)-1] != e.Phase {
			phases = append(phases, e.Phase)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != StatusDone || len(run.Iterations) != 2 {
		t.Fatalf("run = %s, %d iterations", run.Status, len(run.Iterations))
	}
	for _, it := range run.Iterations {
		if it.TPS() <= 0 || it.Latency.Transactions == 0 || it.Latency.P99Ms < it.Latency.P50Ms || it.Summary.Clients != it.Clients {
			t.Errorf("iteration %d: tps %.1f, latency %+v", it.Seq, it.TPS(), it.Latency)
		}
		if len(it.Artifacts) < 70 {
			t.Errorf("iteration %d: %d artifacts, want at least 70: %v (missing: %v)", it.Seq, len(it.Artifacts), it.Artifacts, it.Missing)
		}
		for _, f := range []string{"pg/settings.csv", "pg/stat_database.csv", "pg/stat_user_tables.csv", "pg/statio_user_tables.csv",
			"pg/stat_bgwriter.csv", "pg/stat_wal.csv", "pg/table_sizes.csv", "pgbench/stdout.txt", "pgbench/transactions.log",
			"pgbench/summary.json", "samples/wait_events.csv", "samples/locks.csv", "system/cpuinfo.txt", "resets.txt", "iteration.json"} {
			b, err := os.ReadFile(filepath.Join(dir, it.Dir, f))
			if err != nil || len(b) == 0 {
				t.Errorf("iteration %d: %s: %v (%d bytes)", it.Seq, f, err, len(b))
			}
		}
		// Samples (one a second) while pgbench ran for 2 s; a loaded
		// machine (-race on 2 cores) may lose one.
		b, _ := os.ReadFile(filepath.Join(dir, it.Dir, "samples/locks.csv"))
		if ts := distinctFirstColumn(string(b)); ts < 1 {
			t.Errorf("iteration %d: no lock sample", it.Seq)
		}
		resets, _ := os.ReadFile(filepath.Join(dir, it.Dir, "resets.txt"))
		if !strings.Contains(string(resets), "CHECKPOINT") || strings.Contains(string(resets), "pg_stat_reset()                               failed") {
			t.Errorf("resets.txt:\n%s", resets)
		}
		cmd, _ := os.ReadFile(filepath.Join(dir, it.Dir, "pgbench/command.txt"))
		for _, flag := range []string{" -P 1", " -r", " -l ", " -T 2"} {
			if !strings.Contains(string(cmd), flag) {
				t.Errorf("pgbench command lacks %q: %s", flag, cmd)
			}
		}
	}
	for _, f := range []string{"run.json", "results.md", "pgbench-init.txt", SummaryPlot, "tps_vs_clients.png", "latency_percentiles.png", "tps_over_time.png"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if strings.HasSuffix(f, ".png") {
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil || img.Bounds().Dx() < 500 {
				t.Errorf("%s: not a usable PNG: %v", f, err)
			}
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	if !strings.Contains(string(md), "| 1 |") || !strings.Contains(string(md), "| 2 |") {
		t.Errorf("results.md:\n%s", md)
	}
	if got := strings.Join(phases, ","); !strings.HasPrefix(got, "pre,init,prepare,run,collect") || !strings.HasSuffix(got, "done") {
		t.Errorf("phases = %s", got)
	}
	back, err := LoadRunDir(dir)
	if err != nil || len(back.Iterations) != 2 || back.Target == "" {
		t.Errorf("run.json: %+v %v", back, err)
	}
}

func distinctFirstColumn(csv string) int {
	seen := map[string]bool{}
	for i, l := range strings.Split(strings.TrimSpace(csv), "\n") {
		if i == 0 {
			continue
		}
		c, _, _ := strings.Cut(l, ",")
		seen[c] = true
	}
	return len(seen)
}

// An A/B run: both variants run at every point, interleaved, with their
// setting in force, and the setting is put back afterwards.
func TestRunLocalAB(t *testing.T) {
	needPgbench(t)
	db := pgtest.New(t)
	spec := smallSpec(db.URL, 1)
	spec.Workload.Builtin = "select-only"
	spec.Iterations = 2
	spec.Workload.Duration = Duration(time.Second)
	ab, err := ABFromFlag("work_mem=1MB,8MB")
	if err != nil {
		t.Fatal(err)
	}
	spec.AB = ab
	dir := t.TempDir()
	run, err := RunLocal(context.Background(), spec, LocalOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, it := range run.Iterations {
		order = append(order, it.Variant)
		b, err := os.ReadFile(filepath.Join(dir, it.Dir, "pg/settings.csv"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"1MB": "work_mem,1024,", "8MB": "work_mem,8192,"}[it.Variant]
		if !strings.Contains(string(b), want) {
			t.Errorf("iteration %d (%s): settings.csv lacks %q", it.Seq, it.Variant, want)
		}
	}
	if got := strings.Join(order, " "); got != "1MB 8MB 8MB 1MB" {
		t.Errorf("order = %s, want interleaved 1MB 8MB 8MB 1MB", got)
	}
	res := Analyze(run)
	if len(res.Deltas) != 1 || res.Deltas[0].A != "1MB" || res.Deltas[0].B != "8MB" || res.Points[0].TPS.N != 2 {
		t.Errorf("results = %+v", res)
	}
	if !strings.Contains(res.Markdown(), "8MB vs 1MB") {
		t.Errorf("markdown:\n%s", res.Markdown())
	}
	conn := db.Conn(t)
	var auto int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem' AND sourcefile LIKE '%postgresql.auto.conf'`).Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Errorf("work_mem left in postgresql.auto.conf after the run")
	}
}

func TestRunLocalBadInput(t *testing.T) {
	needPgbench(t)
	ctx := context.Background()
	t.Run("unreachable DSN", func(t *testing.T) {
		dir := t.TempDir()
		run, err := RunLocal(ctx, smallSpec("postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2", 1), LocalOptions{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "cannot connect to the target") || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("err = %v", err)
		}
		if run.Status != StatusFailed || !strings.Contains(run.Target, "REDACTED") {
			t.Errorf("run = %+v", run)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "run.json")); err != nil || strings.Contains(string(b), "hunter2") {
			t.Errorf("run.json: %v %s", err, b)
		}
	})
	t.Run("missing pgbench", func(t *testing.T) {
		db := pgtest.New(t)
		_, err := RunLocal(ctx, smallSpec(db.URL, 1), LocalOptions{Dir: t.TempDir(), Pgbench: "/nonexistent/pgbench"})
		if !errors.Is(err, errNoPgbench) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("failing workload keeps artifacts", func(t *testing.T) {
		db := pgtest.New(t)
		spec := smallSpec(db.URL, 1)
		no := false
		spec.Workload.Init = &no // no pgbench tables: every transaction fails
		dir := t.TempDir()
		run, err := RunLocal(ctx, spec, LocalOptions{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "pgbench") {
			t.Fatalf("err = %v", err)
		}
		if len(run.Iterations) != 1 || len(run.Iterations[0].Artifacts) < 60 {
			t.Fatalf("partial artifacts not kept: %+v", run.Iterations)
		}
		if _, err := os.Stat(filepath.Join(dir, run.Iterations[0].Dir, "pgbench/stderr.txt")); err != nil {
			t.Error(err)
		}
	})
	t.Run("cancel stops pgbench", func(t *testing.T) {
		db := pgtest.New(t)
		spec := smallSpec(db.URL, 2)
		spec.Workload.Duration = Duration(time.Minute)
		ctx, cancel := context.WithCancel(ctx)
		dir := t.TempDir()
		go func() {
			time.Sleep(4 * time.Second)
			cancel()
		}()
		start := time.Now()
		run, err := RunLocal(ctx, spec, LocalOptions{Dir: dir})
		if !errors.Is(err, context.Canceled) || run.Status != StatusCanceled {
			t.Fatalf("err = %v, status %s", err, run.Status)
		}
		if time.Since(start) > 40*time.Second {
			t.Errorf("cancel took %s", time.Since(start))
		}
		// No pgbench backend is left on the server.
		conn := db.Conn(t)
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d pgbench sessions left", n)
		}
	})
}
