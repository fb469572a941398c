package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sashabaranov/go-openai"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/internal/ui"
	"gitlab.com/pgai/reviewer/loadtest"
)

// TestUIStoredBenchmarksAndConversations reads a benchmark run from the
// loadtest store and a conversation from the agent's store through the
// UI's adapters.
func TestUIStoredBenchmarksAndConversations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.New(t).Pool(t)
	if err := archive.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	o := uiOptions(ctx, pool, archive.NewStore(pool), archive.Visibility{}, log)
	if o.Benchmarks == nil || o.Conversations == nil {
		t.Fatal("no benchmark or conversation source")
	}

	// A benchmark run with two iterations and their artifacts.
	dir := t.TempDir()
	for name, body := range map[string]string{"results.md": "# results\n", "001/pgbench.log": "progress: 1.0 s, 490.0 tps\n", "002/pgbench.log": "progress: 1.0 s, 1710.0 tps\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Hour).UTC()
	run := &loadtest.Run{Name: "orders lookup", Runner: "local", Status: loadtest.StatusDone, StartedAt: start, FinishedAt: start.Add(time.Minute),
		Target: "postgres://bench:hunter2@db:5432/shop", Server: "PostgreSQL 15.8",
		Spec:  loadtest.Spec{Workload: loadtest.Workload{Builtin: "select-only", Clients: []int{1, 4}, Scale: 10, Duration: loadtest.Duration(3 * time.Second)}},
		Files: []string{"results.md"},
		Iterations: []loadtest.Iteration{
			{Point: loadtest.Point{Seq: 1, Clients: 1}, Dir: "001", Summary: loadtest.Summary{Clients: 1, TPS: 500, Transactions: 1500},
				Latency: loadtest.Latency{Transactions: 1500, AvgMs: 2, P50Ms: 1.9, P95Ms: 3, P99Ms: 4, PerSecond: []int64{490, 500, 510}}, Artifacts: []string{"pgbench.log"}},
			{Point: loadtest.Point{Seq: 2, Clients: 4}, Dir: "002", Summary: loadtest.Summary{Clients: 4, TPS: 1700, Transactions: 5100},
				Latency: loadtest.Latency{Transactions: 5100, AvgMs: 2.3, P50Ms: 2.2, P95Ms: 3.5, P99Ms: 5, PerSecond: []int64{1690, 1700, 1710}}, Artifacts: []string{"pgbench.log"}},
		}}
	bench := loadtest.NewStore(pool)
	if err := bench.Create(ctx, run, loadtest.Origin{ProjectID: 11, MRIID: 3, RequestedBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := bench.Save(ctx, run, dir); err != nil {
		t.Fatal(err)
	}

	// A conversation: a question, a tool call and its result, an answer
	// with a citation.
	chat := agent.NewStore(pool)
	conv, err := chat.Open(ctx, agent.Thread{Kind: "mr", ProjectID: 11, MRIID: 3, DiscussionID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	call := openai.ToolCall{ID: "call_1", Type: openai.ToolTypeFunction, Function: openai.FunctionCall{Name: "search_knowledge_base", Arguments: `{"query":"create index concurrently"}`}}
	turn := []agent.Message{
		{Role: openai.ChatMessageRoleUser, Content: "Is CREATE INDEX on orders safe? <script>alert(1)</script>"},
		{Role: openai.ChatMessageRoleAssistant, ToolCalls: []openai.ToolCall{call}},
		{Role: openai.ChatMessageRoleTool, ToolCallID: "call_1", Name: "search_knowledge_base", Content: "[1] CREATE INDEX: Building Indexes Concurrently"},
		{Role: openai.ChatMessageRoleAssistant, Content: "No: it blocks writes. Use CREATE INDEX CONCURRENTLY [1]."},
	}
	ans := &agent.Answer{Model: "test-model", Tools: []agent.ToolRun{{ID: "call_1", Name: "search_knowledge_base", DurationMS: 12}},
		Citations: []agent.Citation{{Title: "CREATE INDEX", URL: "https://www.postgresql.org/docs/current/sql-createindex.html"}}}
	if err := chat.SaveTurn(ctx, conv, turn, ans); err != nil {
		t.Fatal(err)
	}

	h, err := ui.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withUI(http.NotFoundHandler(), h))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	runPath := "/ui/benchmarks/" + strconv.FormatInt(run.ID, 10)
	convPath := "/ui/conversations/" + strconv.FormatInt(conv.ID, 10)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/ui/benchmarks/", []string{`href="` + runPath + `"`, "orders lookup", "best 1700 tps over 2 iterations"}},
		{runPath, []string{"select-only", "1700 ± 0", `<polyline class="line series0"`, "Mean TPS by client count",
			`href="` + runPath + `/artifacts/001/pgbench.log"`, "results.md", "postgres://bench:REDACTED@db:5432/shop"}},
		{runPath + "/artifacts/002/pgbench.log", []string{"1710.0 tps"}},
		{"/ui/conversations/", []string{`href="` + convPath + `"`, "Is CREATE INDEX on orders safe?"}},
		{convPath, []string{"search_knowledge_base", "[1] CREATE INDEX: Building Indexes Concurrently", "Use CREATE INDEX CONCURRENTLY",
			`href="https://www.postgresql.org/docs/current/sql-createindex.html"`, "&lt;script&gt;alert(1)&lt;/script&gt;", "assistant (test-model)"}},
	} {
		code, body := get(tc.path)
		if code != 200 {
			t.Errorf("GET %s: %d\n%s", tc.path, code, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q", tc.path, w)
			}
		}
		if strings.Contains(body, "hunter2") {
			t.Errorf("GET %s shows the target's password", tc.path)
		}
	}
	if code, _ := get("/ui/conversations/99999"); code != http.StatusNotFound {
		t.Errorf("missing conversation: %d", code)
	}
	if code, _ := get("/ui/benchmarks/99999"); code != http.StatusNotFound {
		t.Errorf("missing run: %d", code)
	}

	// Project 11 private, by ID or by path (its path known from a
	// stored review): neither its run nor its conversation is shown.
	if err := archive.NewStore(pool).SaveReview(ctx, &archive.Review{Key: archive.Key{ProjectID: 11, MRIID: 3, HeadSHA: "abc"}, ProjectPath: "acme/shop"}); err != nil {
		t.Fatal(err)
	}
	for _, hide := range []archive.Visibility{{PrivateIDs: []int64{11}}, {PrivatePaths: []string{"acme"}}} {
		o.Hide = hide
		hp, err := ui.New(o)
		if err != nil {
			t.Fatal(err)
		}
		checkHidden(t, hp, runPath, convPath)
	}
}

func checkHidden(t *testing.T, hp http.Handler, runPath, convPath string) {
	t.Helper()
	for _, p := range []string{"/ui/benchmarks/", "/ui/conversations/"} {
		rec := httptest.NewRecorder()
		hp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if strings.Contains(rec.Body.String(), "orders lookup") || strings.Contains(rec.Body.String(), "Is CREATE INDEX") {
			t.Errorf("GET %s lists a private project's item", p)
		}
	}
	for _, p := range []string{runPath, convPath, runPath + "/artifacts/results.md"} {
		rec := httptest.NewRecorder()
		hp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s of a private project: %d, want 404", p, rec.Code)
		}
	}
}
