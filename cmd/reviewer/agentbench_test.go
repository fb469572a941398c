package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/loadtest"
)

// The agent's benchmark tools through loadtest's manager: start, then
// wait for TPS; an unknown id and a missing manager are errors.
func TestAgentBenchTools(t *testing.T) {
	needPgbench(t)
	ctx := context.Background()
	target := pgtest.New(t)
	own := pgtest.New(t)
	pool := own.Pool(t)
	if err := loadtest.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	m, err := loadtest.NewManager(loadtest.ManagerOptions{Runner: loadtest.LocalRunner{}, Store: loadtest.NewStore(pool), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := &service{cfg: &serviceConfig{BenchDSN: secret(target.URL)}, bench: m}
	start, wait := agent.BenchTools(agentBench{s}, "")
	tb, err := agent.NewToolbox(start, wait)
	if err != nil {
		t.Fatal(err)
	}
	conv := agent.NewConversation("chat", "bench")
	call := func(name, args string) agent.ToolRun {
		return tb.Call(ctx, &agent.ToolCtx{Conv: conv, Entry: agent.EntryChat}, agent.ToolCall{ID: name, Function: agent.FunctionCall(name, args)})
	}
	r := call(agent.ToolBench, `{"clients":1,"seconds":2,"scale":1,"read_only":true}`)
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	var started struct{ ID string }
	if err := json.Unmarshal([]byte(r.Output), &started); err != nil || started.ID == "" {
		t.Fatalf("start output %s", r.Output)
	}
	r = call(agent.ToolBenchWait, `{"id":"`+started.ID+`","wait_seconds":300}`)
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	var res struct {
		Status  string
		Results struct {
			Points []struct {
				Clients int
				TPS     struct{ Mean float64 }
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Output), &res); err != nil || len(res.Results.Points) != 1 || res.Results.Points[0].TPS.Mean <= 0 {
		t.Fatalf("results %s (%v)", r.Output, err)
	}
	if strings.Contains(r.Output, target.URL) {
		t.Error("the target DSN reached the model")
	}
	if r = call(agent.ToolBenchWait, `{"id":"nope"}`); !strings.Contains(r.Error, "want the number") {
		t.Errorf("bad id: %q", r.Error)
	}
	for _, in := range []agent.BenchSpec{{SQL: "DROP TABLE pgbench_accounts"}, {Script: "DELETE FROM pgbench_history;"}} {
		if _, err := (agentBench{s}).StartBenchmark(ctx, in); err == nil || !strings.HasPrefix(err.Error(), "refused:") {
			t.Errorf("model SQL on bench_dsn %+v: %v", in, err)
		}
	}
	none := &service{cfg: &serviceConfig{}}
	if _, err := (agentBench{none}).StartBenchmark(ctx, agent.BenchSpec{}); err == nil || !strings.HasPrefix(err.Error(), "unavailable:") {
		t.Errorf("no manager: %v", err)
	}
}
