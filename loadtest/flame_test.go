package loadtest

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/internal/pgtest"
)

// The input is real `perf script --comms postgres` output (40 samples of
// backends running pgbench).
func TestFoldPerfScriptGolden(t *testing.T) {
	f, err := os.Open("testdata/perf-script-postgres.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	folded, err := FoldPerfScript(f)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for stack, n := range folded {
		total += n
		if !strings.HasPrefix(stack, "postgres;") || strings.Contains(stack, "+0x") {
			t.Errorf("stack %q: want comm first, no offsets", stack)
		}
	}
	if total != 40 {
		t.Errorf("%d samples folded, want 40", total)
	}
	if !strings.Contains(FoldedText(folded), "PostgresMain;") {
		t.Errorf("no PostgresMain frame:\n%s", FoldedText(folded))
	}
	golden(t, "perf-script-postgres.folded.json", folded)
}

func TestFlameGraphSVG(t *testing.T) {
	folded := map[string]int{"postgres;main;PostgresMain;exec_simple_query": 30, "postgres;main;PostgresMain;ReadCommand": 10, "postgres;<odd & name>": 1}
	svg := FlameGraphSVG(folded, "test <title>")
	var doc struct {
		XMLName xml.Name
		Groups  []struct {
			Title string `xml:"title"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, svg)
	}
	titles := map[string]bool{}
	for _, g := range doc.Groups {
		titles[g.Title] = true
	}
	for _, want := range []string{"all (41 samples, 100.00%)", "PostgresMain (40 samples, 97.56%)", "exec_simple_query (30 samples, 73.17%)", "<odd & name> (1 samples, 2.44%)"} {
		if !titles[want] {
			t.Errorf("no frame %q in %v", want, titles)
		}
	}
}

// perf on the test server during a real pgbench run: the iteration gets
// flamegraph/flamegraph.svg with PostgreSQL frames.
func TestRunLocalFlamegraph(t *testing.T) {
	needPgbench(t)
	if _, err := FindPerf(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v (scripts/setup installs linux-perf)", err)
		}
		t.Skip(err)
	}
	if out, err := exec.Command("perf", "record", "-a", "-o", filepath.Join(t.TempDir(), "probe.data"), "--", "true").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("perf cannot record system-wide here: %v: %s", err, out)
		}
		t.Skipf("perf cannot record system-wide here: %v: %s", err, out)
	}
	db := pgtest.New(t)
	spec := smallSpec(db.URL, 2)
	spec.Flamegraph = true
	spec.Workload.Duration = Duration(3 * time.Second)
	dir := t.TempDir()
	run, err := RunLocal(context.Background(), spec, LocalOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	it := run.Iterations[0]
	svg, err := os.ReadFile(filepath.Join(dir, it.Dir, "flamegraph/flamegraph.svg"))
	if err != nil {
		t.Fatalf("%v (missing: %v)", err, it.Missing)
	}
	if !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "postgres") {
		t.Errorf("flame graph without postgres frames")
	}
	if _, err := os.Stat(filepath.Join(dir, it.Dir, "flamegraph/perf.data")); err == nil {
		t.Error("perf.data left behind")
	}
}
