package agent

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/agent/agenttest"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/internal/pgtest"
)

// testRunner is the experiment runner on real clones (CREATE DATABASE …
// TEMPLATE) of a database with a table t.
func testRunner(t *testing.T) *dblab.Runner {
	t.Helper()
	db := pgtest.New(t)
	db.Exec(t, "CREATE TABLE t (id bigint PRIMARY KEY, v text); INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000) g")
	p, err := localpg.New(localpg.Options{SourceDSN: db.URL, Prefix: "pgai_a" + strings.TrimPrefix(db.Name, "pgtest_") + "_"})
	if err != nil {
		t.Fatal(err)
	}
	return &dblab.Runner{Provider: p, Options: dblab.Options{LockTimeout: 5 * time.Second, StatementTimeout: time.Minute, Deadline: 2 * time.Minute}}
}

func TestExperimentToolMeasuresLocks(t *testing.T) {
	t.Parallel()
	tool := ExperimentTool(testRunner(t))
	tb, err := NewToolbox(tool)
	if err != nil {
		t.Fatal(err)
	}
	conv := NewConversation("chat", "x")
	run := tb.call(t.Context(), &ToolCtx{Conv: conv, Entry: EntryChat},
		ToolCall{ID: "c1", Function: FunctionCall("run_db_experiment_shared_env", `{"sql":"LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT count(*) FROM t","in_transaction":true}`)})
	if run.Error != "" {
		t.Fatal(run.Error)
	}
	var s ExpSummary
	if err := json.Unmarshal([]byte(run.Output), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Statements) != 2 {
		t.Fatalf("statements %+v", s.Statements)
	}
	var found bool
	for _, l := range s.Statements[0].Locks {
		if l.Relation == "t" && l.Mode == "AccessExclusiveLock" && strings.Contains(strings.Join(l.Blocks, ","), "reads") {
			found = true
		}
	}
	if !found || !strings.HasPrefix(s.Statements[1].Plan, "Aggregate") {
		t.Errorf("summary %+v", s)
	}
	// Bad SQL is the model's problem, in words.
	run = tb.call(t.Context(), &ToolCtx{Conv: conv, Entry: EntryChat}, ToolCall{ID: "c2", Function: FunctionCall("run_db_experiment_shared_env", `{"sql":"SELEC 1"}`)})
	if !strings.Contains(run.Error, "does not parse") {
		t.Errorf("bad SQL: %q", run.Error)
	}
}

func TestPlotOnlyToolData(t *testing.T) {
	t.Parallel()
	tb, err := NewToolbox(PlotTool())
	if err != nil {
		t.Fatal(err)
	}
	conv := NewConversation("chat", "x")
	conv.noteNumbers(`{"tps":[1520.5, 1498.25, 310], "clients":[1,2,4]}`)
	att := &memAttach{}
	tc := &ToolCtx{Conv: conv, Entry: EntryChat, Attach: att}
	run := tb.call(t.Context(), tc, ToolCall{ID: "p1", Function: FunctionCall(ToolPlot,
		`{"title":"TPS by clients","x_label":"clients","y_label":"TPS","series":[{"name":"before","x":[1,2,4],"y":[1520.5,1498.25,310]}]}`)})
	if run.Error != "" {
		t.Fatal(run.Error)
	}
	png := att.files["pgai-plot-tps-by-clients.png"]
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Errorf("not a PNG (%d bytes)", len(png))
	}
	if !strings.Contains(run.Output, `"image_markdown":"![pgai-plot-tps-by-clients.png](/uploads/0123abcd/pgai-plot-tps-by-clients.png)"`) {
		t.Errorf("output %s", run.Output)
	}
	run = tb.call(t.Context(), tc, ToolCall{ID: "p2", Function: FunctionCall(ToolPlot,
		`{"title":"made up","kind":"bar","series":[{"name":"x","y":[1520.5,9999]}]}`)})
	if !strings.Contains(run.Error, "9999 is not a number any tool returned") {
		t.Errorf("invented data plotted: %q", run.Error)
	}
}

func TestBenchUnavailable(t *testing.T) {
	t.Parallel()
	start, wait := BenchTools(nil, "")
	tb, _ := NewToolbox(start, wait)
	run := tb.call(t.Context(), &ToolCtx{Conv: NewConversation("chat", "x"), Entry: EntryChat}, ToolCall{ID: "b", Function: FunctionCall(ToolBench, `{"clients":4}`)})
	if !strings.HasPrefix(run.Error, "unavailable: ") {
		t.Errorf("error %q", run.Error)
	}
}

func TestQuotaAndPrivacy(t *testing.T) {
	t.Parallel()
	_, db := testKB(t)
	st := NewStore(db.Pool(t))
	now := time.Date(2026, 12, 30, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		r, err := st.TakeQuota(t.Context(), 5, 2, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.OK != (i <= 2) || r.ResetAt != time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) {
			t.Errorf("request %d: %+v", i, r)
		}
	}
	if r, _ := st.TakeQuota(t.Context(), 5, 2, now.AddDate(0, 0, 3)); !r.OK || r.Used != 1 {
		t.Errorf("new month: %+v", r)
	}
	if r, _ := st.TakeQuota(t.Context(), 6, 2, now); !r.OK {
		t.Errorf("other user: %+v", r)
	}
	// Conversations: an MR thread in project 1 and 2, a private chat.
	f := agenttest.New(t)
	a := New(Options{Model: testModel(t, f), Store: st})
	for _, th := range []Thread{{Kind: "mr", ProjectID: 1, MRIID: 1, DiscussionID: "a"}, {Kind: "mr", ProjectID: 2, MRIID: 1, DiscussionID: "b"}, {Kind: "chat", Session: "s", Private: true}} {
		c, err := st.Open(t.Context(), th)
		if err != nil {
			t.Fatal(err)
		}
		f.Script(agenttest.Reply{Content: "answer"})
		if _, err := a.Ask(t.Context(), c, Question{Text: "question in " + th.Key()}); err != nil {
			t.Fatal(err)
		}
	}
	list := func() []string {
		cs, err := st.ListPublic(t.Context(), ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Title)
		}
		return out
	}
	if got := strings.Join(list(), "|"); got != "question in mr:2:1:b|question in mr:1:1:a" {
		t.Errorf("public list %q", got)
	}
	if err := st.SetProjectPrivate(t.Context(), 2, true); err != nil {
		t.Fatal(err)
	}
	cs, _ := st.ListPublic(t.Context(), ListOptions{})
	if len(cs) != 1 || cs[0].ProjectID != 1 || cs[0].Messages != 2 || cs[0].Model != "fake-model" || cs[0].PromptTokens == 0 {
		t.Fatalf("after marking project 2 private: %+v", cs)
	}
	info, msgs, err := st.GetPublic(t.Context(), cs[0].ID)
	if err != nil || info.Title != "question in mr:1:1:a" || len(msgs) != 2 || msgs[1].Content != "answer" || msgs[1].Model != "fake-model" {
		t.Errorf("get: %+v %+v %v", info, msgs, err)
	}
	var hidden int64
	_ = db.Pool(t).QueryRow(t.Context(), "SELECT id FROM agent_conversations WHERE project_id = 2").Scan(&hidden)
	if _, _, err := st.GetPublic(t.Context(), hidden); err != ErrNotFound {
		t.Errorf("private conversation readable: %v", err)
	}
}
