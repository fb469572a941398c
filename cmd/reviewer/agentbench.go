package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/loadtest"
)

// agentBench gives the agent's run_db_experiment_dedicated_env and
// run_db_experiment_wait the service's benchmark manager (set up after
// the reviewer, hence read at call time).
type agentBench struct{ s *service }

var errDedicatedSQL = errors.New("refused: SQL set-up steps and custom scripts run only in the benchmark runner project (bench_runner_project), whose PostgreSQL is thrown away after each run; on the shared dedicated server (bench_dsn) only the built-in workloads (tpcb-like, select-only) run")

var errNoBench = errors.New("unavailable: no dedicated benchmark environment is configured on this reviewer (bench_dsn or bench_runner_project)")

// StartBenchmark implements agent.Benchmarker.
func (b agentBench) StartBenchmark(ctx context.Context, in agent.BenchSpec) (string, error) {
	if b.s.bench == nil {
		return "", errNoBench
	}
	spec := loadtest.Spec{Name: "agent benchmark"}
	if b.s.cfg.BenchRunnerProject != "" {
		spec.Target.DSNEnv = loadtest.RunnerDSNVariable
	} else {
		// The server at bench_dsn outlives the benchmark: no tool may change
		// anything outside a throwaway database, so the model's own SQL and
		// scripts (which could write or drop anything) run only on the
		// runner project's PostgreSQL, which each pipeline creates afresh.
		// Built-in workloads write only pgbench's own tables.
		if in.SQL != "" || in.Script != "" {
			return "", errDedicatedSQL
		}
		spec.Target.DSN = b.s.cfg.BenchDSN.reveal()
	}
	if in.SQL != "" {
		spec.Pre.SQL = []string{in.SQL}
	}
	w := &spec.Workload
	w.Builtin = "tpcb-like"
	if in.ReadOnly {
		w.Builtin = "select-only"
	}
	if in.Script != "" {
		w.Builtin = ""
		w.Scripts = []loadtest.Script{{Name: "agent", SQL: in.Script, Weight: 1}}
	}
	w.Scale = in.Scale
	w.Clients = []int{max(in.Clients, 1)}
	secs := in.Seconds
	if secs <= 0 {
		secs = 30
	}
	w.Duration = loadtest.Duration(time.Duration(secs) * time.Second)
	id, err := b.s.bench.Start(ctx, spec, loadtest.Origin{RequestedBy: "agent"})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10), nil
}

// WaitBenchmark implements agent.Benchmarker.
func (b agentBench) WaitBenchmark(ctx context.Context, id string, wait time.Duration) (bool, string, error) {
	if b.s.bench == nil {
		return false, "", errNoBench
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return false, "", fmt.Errorf("benchmark id %q: want the number run_db_experiment_dedicated_env returned", id)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	run, res, err := b.s.bench.Wait(wctx, n)
	if wctx.Err() != nil && ctx.Err() == nil {
		return false, "", nil
	}
	if err != nil && res == nil {
		return true, "", fmt.Errorf("benchmark %d failed: %w", n, err)
	}
	out := map[string]any{"id": n, "results": res}
	if run != nil {
		out["status"] = run.Status
	}
	if err != nil {
		out["error"] = err.Error()
	}
	bs, _ := json.Marshal(out)
	return true, string(bs), nil
}
