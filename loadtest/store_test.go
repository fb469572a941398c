package loadtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/internal/pgtest"
)

// The Manager API the agent's tools use: Start returns at once, Wait
// gives the run and its results, the store keeps every artifact, Export
// writes the folder back.
func TestManagerStoreExport(t *testing.T) {
	needPgbench(t)
	ctx := context.Background()
	target := pgtest.New(t)
	own := pgtest.New(t)
	pool := own.Pool(t)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	store := NewStore(pool)
	m, err := NewManager(ManagerOptions{Runner: LocalRunner{}, Store: store, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	id, err := m.Start(ctx, smallSpec(target.URL, 1), Origin{ProjectID: 7, MRIID: 3, RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.Status(ctx, id)
	if err != nil || (st.Status != StatusRunning && st.Status != StatusDone) {
		t.Fatalf("status = %+v %v", st, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	run, res, err := m.Wait(wctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != id || len(res.Points) != 1 || res.Points[0].TPS.Mean <= 0 {
		t.Fatalf("run %d, results %+v", run.ID, res)
	}
	got, err := store.Get(ctx, id)
	if err != nil || got.Status != StatusDone || len(got.Iterations) != 1 {
		t.Fatalf("stored = %+v %v", got, err)
	}
	list, err := store.List(ctx, ListOptions{ProjectID: 7})
	if err != nil || len(list) != 1 || list[0].Origin.RequestedBy != "alice" || list[0].Artifacts < 70 || list[0].BestTPS <= 0 {
		t.Fatalf("list = %+v %v", list, err)
	}
	arts, err := store.Artifacts(ctx, id)
	if err != nil || len(arts) < 75 {
		t.Fatalf("%d artifacts, %v", len(arts), err)
	}
	png, err := store.Artifact(ctx, id, SummaryPlot)
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("summary plot: %v", err)
	}
	if _, err := store.Artifact(ctx, id, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing artifact: %v", err)
	}
	out := t.TempDir()
	if err := store.Export(ctx, id, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"run.json", "results.md", SummaryPlot, run.Iterations[0].Dir + "/pg/settings.csv", run.Iterations[0].Dir + "/pgbench/transactions.log"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("export: %v", err)
		}
	}
	// A bad spec is refused at once, nothing stored.
	if _, err := m.Start(ctx, Spec{Target: Target{DSN: target.URL}}, Origin{}); err == nil {
		t.Error("spec without clients accepted")
	}
	big := smallSpec(target.URL, 1)
	big.Workload.Duration = Duration(3 * time.Hour)
	if _, err := m.Start(ctx, big, Origin{}); err == nil || !strings.Contains(err.Error(), "allowed here") {
		t.Errorf("over-budget spec: %v", err)
	}
}

func TestSafeJoin(t *testing.T) {
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../x"} {
		if _, err := safeJoin("/tmp/d", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if p, err := safeJoin("/tmp/d", "iterations/001/pg/x.csv"); err != nil || p != "/tmp/d/iterations/001/pg/x.csv" {
		t.Errorf("= %q %v", p, err)
	}
}
