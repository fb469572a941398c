package loadtest

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares v, as indented JSON, with testdata/<name>.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, d)
	}
}

// The inputs are real pgbench 15 outputs (tpcb-like with -P 1 -r -l, and
// a custom script next to a built-in).
func TestParseSummaryGolden(t *testing.T) {
	for _, dir := range []string{"pgbench15-tpcb", "pgbench15-multi"} {
		t.Run(dir, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", dir, "stdout.txt"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseSummary(string(b))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, dir+"/summary.golden.json", s)
		})
	}
}

func TestParseSummaryFigures(t *testing.T) {
	b, err := os.ReadFile("testdata/pgbench15-tpcb/stdout.txt")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSummary(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if s.TPS != 194.076059 || s.Transactions != 567 || s.Clients != 2 || s.Threads != 2 || s.LatencyAvgMs != 10.272 || s.LatencyStddevMs != 11.880 {
		t.Errorf("summary = %+v", s)
	}
	if len(s.Statements) != 11 || s.Statements[10].Command != "END;" || s.Statements[10].LatencyMs != 4.901 {
		t.Errorf("statements = %+v", s.Statements)
	}
	m, _ := os.ReadFile("testdata/pgbench15-multi/stdout.txt")
	ms, err := ParseSummary(string(m))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Scripts) != 2 || ms.Scripts[0].Weight != 3 || ms.Scripts[1].Name != "<builtin: select only>" || ms.Statements[len(ms.Statements)-1].Script != 2 {
		t.Errorf("multi-script summary = %+v", ms)
	}
}

func TestParseSummaryNoResult(t *testing.T) {
	out := "pgbench (15.20 (Debian 15.20-0+deb12u1))\n"
	if _, err := ParseSummary(out); err == nil || !strings.Contains(err.Error(), "no result") {
		t.Errorf("err = %v, want no result", err)
	}
}

func TestParseProgress(t *testing.T) {
	b, err := os.ReadFile("testdata/pgbench15-tpcb/stderr.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got []Progress
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := ParseProgress(l); ok {
			got = append(got, p)
		}
	}
	want := []Progress{{AtS: 1, TPS: 100, LatMs: 17.439, StddevMs: 14.977}, {AtS: 2, TPS: 285, LatMs: 7.197, StddevMs: 7.782}, {AtS: 3, TPS: 179.7, LatMs: 11.022, StddevMs: 13.352}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}
}

func TestTxLogGolden(t *testing.T) {
	r := NewTxLogReader()
	for _, f := range []string{"tx.3117", "tx.3117.1"} {
		if err := r.ReadFile(filepath.Join("testdata/pgbench15-tpcb", f)); err != nil {
			t.Fatal(err)
		}
	}
	lat := r.Result(0)
	if lat.Transactions != 80 {
		t.Errorf("transactions = %d, want 80 (40 lines per file)", lat.Transactions)
	}
	if !(lat.P50Ms <= lat.P95Ms && lat.P95Ms <= lat.P99Ms && lat.P99Ms <= lat.MaxMs) {
		t.Errorf("percentiles out of order: %+v", lat)
	}
	golden(t, "pgbench15-tpcb/latency.golden.json", lat)
}

func TestTxLogFailedAndSkipped(t *testing.T) {
	r := NewTxLogReader()
	// The first transaction starts at 99.999 s, the run lasts 2 s: second 0
	// has the one ending at 100.0, second 1 those ending at 101.0 and the
	// one ending at 102.5, in flight when time was up.
	log := "0 1 1000 0 100 0\n0 2 failed 0 100 5\n0 3 skipped 0 101 0\n0 4 3000 0 101 9\n1 1 2000 0 101 1 55\n1 2 2000 0 102 500000\n"
	if err := r.Read(strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	got := r.Result(2 * time.Second)
	want := Latency{Transactions: 4, Failed: 1, Skipped: 1, AvgMs: 2, P50Ms: 2, P95Ms: 3, P99Ms: 3, MaxMs: 3, PerSecond: []int64{1, 3}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := NewTxLogReader().Read(strings.NewReader("garbage\n")); err == nil {
		t.Error("a malformed line was accepted")
	}
}
