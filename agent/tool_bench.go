package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Benchmarker runs pgbench benchmarks in a dedicated environment. Start
// returns at once with an id; Wait waits up to wait for the result.
type Benchmarker interface {
	StartBenchmark(ctx context.Context, spec BenchSpec) (id string, err error)
	WaitBenchmark(ctx context.Context, id string, wait time.Duration) (done bool, result string, err error)
}

// BenchSpec is what the model may ask a benchmark to do.
type BenchSpec struct {
	// SQL prepares the clone (schema change under test); may be empty.
	SQL string `json:"sql"`
	// Script is a custom pgbench script; empty runs the built-in TPC-B-like one.
	Script   string `json:"script"`
	Clients  int    `json:"clients"`
	Seconds  int    `json:"seconds"`
	Scale    int    `json:"scale"`
	ReadOnly bool   `json:"read_only"`
}

// benchUnavailable says why there are no benchmarks here.
const benchUnavailable = "unavailable: dedicated-environment benchmarks (pgbench) are not configured on this reviewer"

// BenchTools are run_db_experiment_dedicated_env and run_db_experiment_wait.
// With b nil both answer "unavailable" with the reason.
func BenchTools(b Benchmarker, reason string) (*Tool, *Tool) {
	if reason == "" {
		reason = benchUnavailable
	}
	start := &Tool{
		Name: ToolBench,
		Description: "Start a pgbench benchmark in a dedicated environment (a clone, optionally after SQL that changes it) and return its id at once; " +
			"then call run_db_experiment_wait with the id. Use for throughput/latency questions that one session cannot answer.",
		Schema: `{"type":"object","additionalProperties":false,"properties":{
"sql":{"type":"string","maxLength":20000,"description":"SQL applied before the benchmark; only where the environment is thrown away afterwards (the runner project), refused on a shared dedicated server"},
"script":{"type":"string","maxLength":20000,"description":"custom pgbench script; empty = built-in TPC-B-like"},
"clients":{"type":"integer","minimum":1,"maximum":64},
"seconds":{"type":"integer","minimum":1,"maximum":600},
"scale":{"type":"integer","minimum":1,"maximum":100},
"read_only":{"type":"boolean"}}}`,
		Timeout: time.Minute,
		Run: func(ctx context.Context, _ *ToolCtx, raw json.RawMessage) (string, error) {
			if b == nil {
				return "", fmt.Errorf("%s", reason)
			}
			var spec BenchSpec
			if err := json.Unmarshal(raw, &spec); err != nil {
				return "", err
			}
			id, err := b.StartBenchmark(ctx, spec)
			if err != nil {
				return "", err
			}
			out, _ := json.Marshal(map[string]string{"id": id, "status": "started; call run_db_experiment_wait with this id"})
			return string(out), nil
		},
	}
	wait := &Tool{
		Name:        ToolBenchWait,
		Description: "Wait for a benchmark started with run_db_experiment_dedicated_env and return its results (TPS, latency) when done.",
		Schema: `{"type":"object","additionalProperties":false,"required":["id"],"properties":{
"id":{"type":"string","minLength":1,"maxLength":200},
"wait_seconds":{"type":"integer","minimum":1,"maximum":600,"description":"how long to wait at most, default 300"}}}`,
		Timeout: 11 * time.Minute,
		Run: func(ctx context.Context, _ *ToolCtx, raw json.RawMessage) (string, error) {
			if b == nil {
				return "", fmt.Errorf("%s", reason)
			}
			var a struct {
				ID   string `json:"id"`
				Wait int    `json:"wait_seconds"`
			}
			if err := json.Unmarshal(raw, &a); err != nil {
				return "", err
			}
			if a.Wait == 0 {
				a.Wait = 300
			}
			done, res, err := b.WaitBenchmark(ctx, a.ID, time.Duration(a.Wait)*time.Second)
			if err != nil {
				return "", err
			}
			if !done {
				out, _ := json.Marshal(map[string]string{"id": a.ID, "status": "still running; call run_db_experiment_wait again"})
				return string(out), nil
			}
			return res, nil
		},
	}
	if b == nil {
		start.Unavailable, wait.Unavailable = reason, reason
	}
	return start, wait
}

// DebugTool is debug_mode: when on, answers list the tool calls with
// their arguments and durations.
func DebugTool() *Tool {
	return &Tool{
		Name:        ToolDebug,
		Description: "Turn debug mode on or off for this conversation. When on, each answer ends with the list of tool calls, their arguments and durations.",
		Schema:      `{"type":"object","additionalProperties":false,"required":["on"],"properties":{"on":{"type":"boolean"}}}`,
		Timeout:     time.Second,
		Run: func(_ context.Context, tc *ToolCtx, raw json.RawMessage) (string, error) {
			var a struct {
				On bool `json:"on"`
			}
			if err := json.Unmarshal(raw, &a); err != nil {
				return "", err
			}
			tc.Conv.mu.Lock()
			tc.Conv.Debug = a.On
			tc.Conv.mu.Unlock()
			if a.On {
				return `{"debug":"on"}`, nil
			}
			return `{"debug":"off"}`, nil
		},
	}
}
