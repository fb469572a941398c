package mrreview_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const chatDir = "testdata/chat"

// chatMR loads the realistic merge request of testdata/chat into the fake:
// the history at base, the 8 added migrations at sha1.
func chatMR(t *testing.T) (*env, map[string]string) {
	t.Helper()
	e := setup(t)
	e.gl.SetFile(pid, base, ".pgai.yml", "")
	head := map[string]string{}
	for _, part := range []string{"base", "mr"} {
		entries, err := os.ReadDir(filepath.Join(chatDir, part))
		if err != nil {
			t.Fatal(err)
		}
		var changes []gitlabtest.Change
		for _, en := range entries {
			b, err := os.ReadFile(filepath.Join(chatDir, part, en.Name()))
			if err != nil {
				t.Fatal(err)
			}
			p := "db/migrations/" + en.Name()
			head[p] = string(b)
			if part == "base" {
				e.gl.SetFile(pid, base, p, string(b))
			} else {
				changes = append(changes, gitlabtest.Change{Path: p, Content: string(b)})
			}
		}
		if part == "mr" {
			e.gl.Push(pid, iid, sha1, changes...)
		}
	}
	return e, head
}

// posted renders what the bot posted on the MR for a golden file, with the
// fake's address replaced by a stable one.
func posted(e *env, body string) string {
	return strings.ReplaceAll(body, e.gl.URL, "https://gitlab.example.com")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join(chatDir, name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -run Golden -update rewrites it):\n%s", name, diff)
	}
}

// TestGoldenChatMR pins the whole posted review of a realistic 8-migration
// merge request: the summary note and every thread, compared as text, so
// that changes to what people read are reviewed as diffs.
func TestGoldenChatMR(t *testing.T) {
	t.Parallel()
	e, head := chatMR(t)
	res := e.review(t, sha1)
	sums := summaries(e.gl)
	if len(sums) != 1 {
		t.Fatalf("%d summaries", len(sums))
	}
	summary := posted(e, sums[0].Body)
	golden(t, "summary.golden.md", summary)

	var threadsText strings.Builder
	var bodies []string
	for _, d := range e.gl.Discussions(pid, iid) {
		n := d.Notes[0]
		if n.Position == nil {
			continue
		}
		fmt.Fprintf(&threadsText, "==== %s:%d\n%s\n", n.Position.NewPath, n.Position.NewLine, posted(e, n.Body))
		bodies = append(bodies, n.Body)
	}
	golden(t, "threads.golden.md", threadsText.String())

	// What the issue asks of the note.
	if n := len(sums[0].Body); n > 10000 {
		t.Errorf("summary is %d characters, over 10,000", n)
	}
	blockingOnAdded := 0
	for _, f := range res.Report.Findings {
		if f.Blocking {
			blockingOnAdded++
		}
	}
	if len(bodies) != blockingOnAdded || res.Inline != blockingOnAdded {
		t.Errorf("%d threads (%d opened), want one per blocking finding (%d)", len(bodies), res.Inline, blockingOnAdded)
	}
	for _, b := range bodies {
		if !strings.Contains(b, "blocking") {
			t.Errorf("thread of a non-blocking finding:\n%s", b)
		}
		for _, para := range strings.Split(b, "\n\n") {
			if strings.HasPrefix(para, "**Why:**") && strings.Contains(sums[0].Body, para) {
				t.Errorf("the summary repeats a thread's text: %q", para)
			}
		}
	}
	// The widened varchar, checked against the history, is not an error.
	for _, f := range res.Report.Findings {
		if strings.Contains(f.Path, "000007_widen") && f.Severity.String() == "error" {
			t.Errorf("widening a varchar gave an error: %s %s", f.Rule, f.Message)
		}
	}
	// Verdict line: blocking findings and the files that have them.
	files := map[string]bool{}
	for _, f := range res.Report.Findings {
		if f.Blocking {
			files[f.Path] = true
		}
	}
	wantVerdict := fmt.Sprintf("%d blocking findings in %d of 8 migrations", res.Report.Summary.Blocking, len(files))
	if !strings.Contains(summary, wantVerdict) {
		t.Errorf("summary lacks the verdict %q", wantVerdict)
	}
	// Table rows in numeric migration order.
	rowRE := regexp.MustCompile("(?m)^\\| `(\\d+)_[^`]*:(\\d+)`")
	var order [][2]int
	for _, m := range rowRE.FindAllStringSubmatch(summary, -1) {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		order = append(order, [2]int{a, b})
	}
	if !sort.SliceIsSorted(order, func(i, j int) bool {
		return order[i][0] < order[j][0] || order[i][0] == order[j][0] && order[i][1] < order[j][1]
	}) || len(order) != len(res.Report.Findings) {
		t.Errorf("table rows %v: want one per finding (%d), in migration order", order, len(res.Report.Findings))
	}
	if !strings.Contains(summary, "Static checks only (no clone configured") {
		t.Error("summary does not say nothing was measured")
	}
	// Every suggestion block applies cleanly: the file then holds the
	// finding's edit in place of its lines.
	edits := map[string]*checks.Edit{}
	for _, f := range res.Report.Findings {
		if f.Edit != nil {
			edits[f.Fingerprint] = f.Edit
		}
	}
	for _, d := range e.gl.Discussions(pid, iid) {
		n := d.Notes[0]
		if n.Position == nil || !strings.Contains(n.Body, "suggestion:") {
			continue
		}
		fp := ""
		for _, m := range mrreview.ParseMarkers(n.Body) {
			if m.Kind == mrreview.KindFinding {
				fp = m.Value
			}
		}
		ed := edits[fp]
		if ed == nil {
			t.Errorf("suggestion in a thread whose finding has no edit:\n%s", n.Body)
			continue
		}
		file := head[n.Position.NewPath]
		got, err := applySuggestion(file, n.Position.NewLine, n.Body)
		if err != nil {
			t.Error(err)
			continue
		}
		lines := strings.SplitAfter(file, "\n")
		want := strings.Join(lines[:ed.StartLine-1], "") + ed.Text + strings.Join(lines[ed.EndLine:], "")
		if got != want {
			t.Errorf("suggestion on %s:%d applies as\n%s\nwant\n%s", n.Position.NewPath, n.Position.NewLine, got, want)
		}
	}
}
