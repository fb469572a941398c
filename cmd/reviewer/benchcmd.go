package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/loadtest"
)

// maxCommandBench bounds the pgbench time of one /pgai bench: the answer
// is written by a queue job, which has 10 minutes in all.
const maxCommandBench = 5 * time.Minute

// setupBench makes the benchmark manager when a dedicated target or a
// runner project is configured, and registers /pgai bench.
func setupBench(ctx context.Context, s *service, rev *mrreview.Reviewer) (*loadtest.Manager, error) {
	cfg := s.cfg
	if cfg.BenchDSN == "" && cfg.BenchRunnerProject == "" {
		return nil, nil
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := loadtest.Migrate(mctx, s.pool); err != nil {
		return nil, err
	}
	var r loadtest.Runner = loadtest.LocalRunner{Logger: s.log}
	if cfg.BenchRunnerProject != "" {
		r = loadtest.GitLabRunner{CI: s.gitlab, Project: cfg.BenchRunnerProject, Ref: cfg.BenchRunnerRef, Logger: s.log}
	}
	m, err := loadtest.NewManager(loadtest.ManagerOptions{Runner: r, Store: loadtest.NewStore(s.pool), Logger: s.log})
	if err != nil {
		return nil, err
	}
	bc := &benchCommand{m: m, gl: s.gitlab, dsn: cfg.BenchDSN.reveal(), runner: r.Name()}
	rev.Register(bc.command())
	s.log.InfoContext(ctx, "benchmarks enabled", "runner", r.Name())
	return m, nil
}

// benchCommand answers /pgai bench: it runs pgbench on the dedicated
// target (or the runner project), then posts the results table and the
// plot in the thread.
type benchCommand struct {
	m  *loadtest.Manager
	gl interface {
		UploadFile(ctx context.Context, projectID int64, filename string, content []byte) (gitlab.Upload, error)
	}
	dsn    string
	runner string
}

func (b *benchCommand) command() *mrreview.Command {
	return &mrreview.Command{
		Name:    "bench",
		Usage:   "bench [--clients 1,4] [--duration 30s] [--builtin select-only] [--ab SETTING=A,B] …",
		Summary: "run pgbench on the dedicated benchmark server and post TPS, latency percentiles and a plot (`bench --help` for the options)",
		Run:     b.run,
	}
}

// parseCommandSpec reads the /pgai bench options. Only these: nothing in
// a comment names a file on the reviewer's host or a shell command.
func parseCommandSpec(args string) (*loadtest.Spec, string, error) {
	first, _, _ := strings.Cut(args, "\n")
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var usage strings.Builder
	fs.SetOutput(&usage)
	clients := fs.String("clients", "1,4", "client counts, e.g. 1,4,16 or 1-16")
	duration := fs.String("duration", "30s", "pgbench -T per iteration")
	builtin := fs.String("builtin", "tpcb-like", "tpcb-like, simple-update or select-only")
	scale := fs.Int("scale", 10, "pgbench -i scale")
	iterations := fs.Int("iterations", 1, "iterations of each point")
	jobs := fs.Int("jobs", 0, "pgbench -j (default one per client, at most the CPUs)")
	protocol := fs.String("protocol", "simple", "simple, extended or prepared")
	ab := fs.String("ab", "", "A/B variable: pg_stat_statements, or SETTING=V1,V2")
	name := fs.String("name", "", "a name for the run")
	if err := fs.Parse(strings.Fields(first)); err != nil {
		fs.PrintDefaults()
		if errors.Is(err, flag.ErrHelp) {
			return nil, usage.String(), nil
		}
		return nil, "", fmt.Errorf("%v\n\n%s", err, usage.String())
	}
	if fs.NArg() > 0 {
		return nil, "", fmt.Errorf("unexpected %q: options only, e.g. `/pgai bench --clients 1,8 --duration 60s`", fs.Arg(0))
	}
	spec := &loadtest.Spec{Name: *name, Iterations: *iterations}
	var errs []error
	c, err := loadtest.ParseClients(*clients)
	errs = append(errs, err)
	var d loadtest.Duration
	errs = append(errs, d.UnmarshalText([]byte(*duration)))
	spec.Workload = loadtest.Workload{Builtin: *builtin, Scale: *scale, Clients: c, Duration: d, Jobs: *jobs, Protocol: *protocol}
	if *ab != "" {
		a, err := loadtest.ABFromFlag(*ab)
		errs = append(errs, err)
		spec.AB = a
	}
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}
	spec.Defaults()
	if b := spec.Budget(); b > maxCommandBench {
		return nil, "", fmt.Errorf("that is %s of pgbench time; a /pgai bench may take %s (fewer clients, iterations or a shorter --duration), or run `reviewer bench` yourself", b, maxCommandBench)
	}
	return spec, "", nil
}

func (b *benchCommand) run(ctx context.Context, in *mrreview.Invocation) (string, error) {
	spec, help, err := parseCommandSpec(in.Args)
	if err != nil {
		return fmt.Sprintf("I could not read those options: %s", err), nil
	}
	if help != "" {
		return "Options of `/pgai bench`:\n\n```\n" + help + "```", nil
	}
	if b.runner == "gitlab" {
		spec.Target.DSNEnv = loadtest.RunnerDSNVariable
	} else {
		spec.Target.DSN = b.dsn
	}
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("!%d %s", in.MR.IID, in.MR.Title)
		if len(spec.Name) > 80 {
			spec.Name = spec.Name[:77] + "..."
		}
	}
	id, err := b.m.Start(ctx, *spec, loadtest.Origin{ProjectID: in.Cmd.ProjectID, MRIID: in.Cmd.MRIID, RequestedBy: in.Cmd.AuthorUsername})
	if err != nil {
		return fmt.Sprintf("The benchmark did not start: %s", err), nil
	}
	run, res, werr := b.m.Wait(ctx, id)
	if run == nil {
		// The job ran out of time: stop the benchmark, nothing keeps
		// running behind the thread's back.
		b.m.Cancel(id)
		return fmt.Sprintf("The benchmark (run %d) did not finish in time and was stopped: %s", id, benchLine(werr.Error())), nil
	}
	var out strings.Builder
	fmt.Fprintf(&out, "**pgbench benchmark** (run %d", id)
	if run.Server != "" {
		fmt.Fprintf(&out, ", %s", shortServer(run.Server))
	}
	w := run.Spec.Workload
	fmt.Fprintf(&out, "): `%s`, scale %d, %s per iteration, %d iteration(s)", w.Builtin, w.Scale, w.Duration, run.Spec.Iterations)
	if run.Spec.AB != nil {
		fmt.Fprintf(&out, ", A/B on `%s` interleaved", run.Spec.AB.Name)
	}
	if run.PipelineURL != "" {
		fmt.Fprintf(&out, ", [pipeline](%s)", run.PipelineURL)
	}
	out.WriteString(".\n\n")
	out.WriteString(res.Markdown())
	if werr != nil {
		fmt.Fprintf(&out, "\n**The benchmark failed:** %s\n", benchLine(werr.Error()))
	}
	if png, err := os.ReadFile(filepath.Join(b.m.Dir(id), loadtest.SummaryPlot)); err == nil && len(res.Points) > 0 {
		up, err := b.gl.UploadFile(ctx, in.Cmd.ProjectID, fmt.Sprintf("pgai-bench-%d.png", id), png)
		if err != nil {
			if gitlab.Retryable(err) {
				return "", err
			}
			fmt.Fprintf(&out, "\n(The plot could not be uploaded: %s.)\n", benchLine(err.Error()))
		} else {
			fmt.Fprintf(&out, "\n%s\n", up.Markdown)
		}
	}
	fmt.Fprintf(&out, "\nEvery iteration's artifacts (settings, pg_stat_* views, samples, pgbench logs) are stored as run %d: `reviewer bench export --run %d --out DIR`.", id, id)
	return out.String(), nil
}

func shortServer(v string) string {
	f := strings.Fields(v)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return v
}

func benchLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
