package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/loadtest"
)

// runBench implements `reviewer bench`: a pgbench benchmark with
// artifacts, results and plots (run), and the stored runs (list, export,
// import).
func runBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return runBenchList(ctx, args[1:], stdout, stderr)
		case "export":
			return runBenchExport(ctx, args[1:], stdout, stderr)
		case "import":
			return runBenchImport(ctx, args[1:], stdout, stderr)
		}
	}
	return runBenchRun(ctx, args, stdout, stderr)
}

// benchFlags are the flags that build or override a spec.
type benchFlags struct {
	fs                                          *flag.FlagSet
	spec, dsn, clients, builtin, ab, name, prot *string
	duration                                    *string
	scale, jobs, iterations, progress           *int
	scripts                                     multiFlag
	noInit, flamegraph, dropCaches              *bool
}

func addBenchFlags(fs *flag.FlagSet) *benchFlags {
	f := &benchFlags{fs: fs}
	f.spec = fs.String("spec", "", "benchmark spec file (YAML or JSON); the flags below override it")
	f.dsn = fs.String("dsn", "", "PostgreSQL to benchmark (a dedicated server or a clone; env PGAI_BENCH_DSN)")
	f.clients = fs.String("clients", "", "client counts, e.g. 1,2,4 or 1-16 (doubling) (default 1,4)")
	f.duration = fs.String("duration", "", "pgbench -T per iteration, e.g. 30s (default 30s)")
	f.builtin = fs.String("builtin", "", "pgbench built-in: tpcb-like (default), simple-update, select-only")
	fs.Var(&f.scripts, "script", "custom pgbench script FILE[@WEIGHT] (repeatable; replaces the built-in unless --builtin is given)")
	f.scale = fs.Int("scale", 0, "pgbench -i scale (default 10)")
	f.noInit = fs.Bool("no-init", false, "skip pgbench -i (the tables exist)")
	f.jobs = fs.Int("jobs", 0, "pgbench -j threads (default: one per client, at most the CPUs)")
	f.iterations = fs.Int("iterations", 0, "iterations of each point (default 1)")
	f.progress = fs.Int("progress", 0, "pgbench -P seconds (default 10)")
	f.prot = fs.String("protocol", "", "pgbench -M: simple, extended, prepared")
	f.ab = fs.String("ab", "", "A/B variable run interleaved: pg_stat_statements (track top vs none) or SETTING=V1,V2")
	f.flamegraph = fs.Bool("flamegraph", false, "record the postgres processes with perf and render flamegraph.svg per iteration (local server, perf installed)")
	f.dropCaches = fs.Bool("drop-caches", false, "drop the OS page cache before each iteration (root, local server)")
	f.name = fs.String("name", "", "a name for the run")
	return f
}

// build makes the spec: the file, then the flags given.
func (f *benchFlags) build(getenv func(string) string) (*loadtest.Spec, error) {
	spec := &loadtest.Spec{}
	if *f.spec != "" {
		s, err := loadtest.LoadSpec(*f.spec)
		if err != nil {
			return nil, err
		}
		spec = s
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var errs []error
	if *f.dsn != "" {
		spec.Target.DSN = *f.dsn
	} else if spec.Target.DSN == "" && spec.Target.DSNEnv == "" {
		spec.Target.DSN = getenv("PGAI_BENCH_DSN")
	}
	w := &spec.Workload
	if given["clients"] {
		c, err := loadtest.ParseClients(*f.clients)
		errs = append(errs, err)
		w.Clients = c
	} else if len(w.Clients) == 0 {
		w.Clients = []int{1, 4}
	}
	if given["duration"] {
		var d loadtest.Duration
		errs = append(errs, d.UnmarshalText([]byte(*f.duration)))
		w.Duration = d
	} else if w.Duration == 0 {
		w.Duration = loadtest.Duration(30 * time.Second)
	}
	if given["builtin"] {
		w.Builtin = *f.builtin
	}
	for _, s := range f.scripts {
		path, weight := s, 1
		if i := strings.LastIndex(s, "@"); i > 0 {
			n, err := strconv.Atoi(s[i+1:])
			if err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("--script %q: weight after @ must be a positive number", s))
			}
			path, weight = s[:i], n
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("--script: %w", err))
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		name = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, name)
		w.Scripts = append(w.Scripts, loadtest.Script{Name: name, SQL: string(b), Weight: weight})
	}
	if given["scale"] {
		w.Scale = *f.scale
	}
	if *f.noInit {
		no := false
		w.Init = &no
	}
	if given["jobs"] {
		w.Jobs = *f.jobs
	}
	if given["iterations"] {
		spec.Iterations = *f.iterations
	}
	if given["progress"] {
		w.Progress = *f.progress
	}
	if given["protocol"] {
		w.Protocol = *f.prot
	}
	if given["ab"] {
		ab, err := loadtest.ABFromFlag(*f.ab)
		errs = append(errs, err)
		spec.AB = ab
	}
	if *f.flamegraph {
		spec.Flamegraph = true
	}
	if *f.dropCaches {
		spec.DropCaches = true
	}
	if given["name"] {
		spec.Name = *f.name
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	spec.Defaults()
	return spec, nil
}

func runBenchRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bf := addBenchFlags(fs)
	var (
		out        = fs.String("out", "", "folder for the run: results.md, plots, run.json and one folder per iteration (default bench-DATE-TIME)")
		dbURL      = fs.String("database-url", "", "also store the run in the reviewer's database (env PGAI_DATABASE_URL)")
		allowShell = fs.Bool("allow-shell", false, "allow the spec's shell steps and restart command (this host is a dedicated runner)")
		runner     = fs.String("runner", "local", "local (pgbench on this host) or gitlab (a pipeline in a runner project)")
		format     = fs.String("format", "text", "output: text (the results table) or json (the results)")
		quiet      = fs.Bool("q", false, "no progress bar")
		printSpec  = fs.Bool("print-spec", false, "print the spec the flags make (JSON, without the DSN) and exit")
	)
	gf := addGitLabRunnerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: reviewer bench [--spec FILE] [--dsn DSN] [--clients 1,2] [--duration 30s] [--ab pg_stat_statements] [--out DIR] [flags]")
		fmt.Fprintln(stderr, "       reviewer bench list|export|import ... (stored runs; see reviewer bench list -h)")
		fmt.Fprintln(stderr, "\nRuns pgbench iteration after iteration against a dedicated PostgreSQL: statistics reset before each,")
		fmt.Fprintln(stderr, "wait events and locks sampled every second during it, 70+ artifact files collected after it.")
		fmt.Fprintln(stderr, "Prints TPS and latency percentiles per point (and A/B deltas) and writes plots into --out.")
		fmt.Fprintln(stderr, "Exit status: 0 done, 2 usage error or the benchmark failed (what was collected is kept).\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "reviewer bench: "+format+"\n", a...)
		return exitError
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if *format != "text" && *format != "json" {
		return fail("--format %q: want text or json", *format)
	}
	spec, err := bf.build(os.Getenv)
	if err != nil {
		return fail("%v", err)
	}
	if *printSpec {
		b, _ := json.MarshalIndent(specWithoutDSN(spec), "", "  ")
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	var r loadtest.Runner
	switch *runner {
	case "local":
		r = loadtest.LocalRunner{AllowShell: *allowShell}
	case "gitlab":
		gr, err := gf.runner(os.Getenv)
		if err != nil {
			return fail("%v", err)
		}
		if spec.Target.DSN == "" && spec.Target.DSNEnv == "" {
			// The runner job reads its DSN from its own CI variable.
			spec.Target.DSNEnv = loadtest.RunnerDSNVariable
		}
		r = gr
	default:
		return fail("--runner %q: want local or gitlab", *runner)
	}
	if err := spec.Validate(r.AllowsShell()); err != nil {
		return fail("%v", err)
	}
	dir := *out
	if dir == "" {
		dir = "bench-" + time.Now().Format("20060102-150405")
	}
	if *dbURL == "" {
		*dbURL = os.Getenv("PGAI_DATABASE_URL")
	}
	var store *loadtest.Store
	var run *loadtest.Run
	if *dbURL != "" {
		pool, err := pgxpool.New(ctx, *dbURL)
		if err != nil {
			return fail("database: cannot parse the URL (check --database-url / PGAI_DATABASE_URL)")
		}
		defer pool.Close()
		if err := loadtest.Migrate(ctx, pool); err != nil {
			return fail("database: %v", err)
		}
		store = loadtest.NewStore(pool)
	}
	bar := newBenchBar(stderr, spec, *quiet)
	run, runErr := r.Run(ctx, *spec, dir, bar.event)
	bar.finish()
	if run != nil && store != nil {
		sctx := context.WithoutCancel(ctx)
		if err := store.Create(sctx, run, loadtest.Origin{RequestedBy: "cli"}); err == nil {
			if err := store.Save(sctx, run, dir); err != nil {
				fmt.Fprintf(stderr, "reviewer bench: store: %v\n", err)
			} else {
				fmt.Fprintf(stderr, "stored as run %d\n", run.ID)
			}
		} else {
			fmt.Fprintf(stderr, "reviewer bench: store: %v\n", err)
		}
	}
	if run != nil {
		res := loadtest.Analyze(run)
		if *format == "json" {
			b, _ := json.MarshalIndent(res, "", "  ")
			fmt.Fprintln(stdout, string(b))
		} else {
			fmt.Fprint(stdout, res.Markdown())
			fmt.Fprintf(stdout, "\nRun folder: %s (results.md, run.json, %s, iterations/)\n", dir, loadtest.SummaryPlot)
			if run.PipelineURL != "" {
				fmt.Fprintf(stdout, "Pipeline: %s\n", run.PipelineURL)
			}
		}
	}
	if runErr != nil {
		return fail("%v (what was collected is in %s)", runErr, dir)
	}
	return exitOK
}

func specWithoutDSN(s *loadtest.Spec) *loadtest.Spec {
	c := *s
	c.Target.DSN = ""
	return &c
}

// benchBar draws the benchmark's progress on a terminal (one line
// redrawn), or prints a line per iteration elsewhere.
type benchBar struct {
	w      io.Writer
	tty    bool
	off    bool
	dur    time.Duration
	points int
	ab     string
	mu     sync.Mutex
	last   string
	start  time.Time
}

func newBenchBar(w io.Writer, spec *loadtest.Spec, quiet bool) *benchBar {
	b := &benchBar{w: w, off: quiet, dur: spec.Workload.Duration.D(), points: len(spec.Plan()), start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	if spec.AB != nil {
		b.ab = spec.AB.Name
	}
	return b
}

func (b *benchBar) event(e loadtest.Event) {
	if b.off {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	done := float64(max(e.Point.Seq-1, 0))
	if e.Phase == "run" && b.dur > 0 {
		done += min(float64(e.Elapsed)/float64(b.dur), 1)
	}
	if e.Phase == "collect" {
		done = float64(e.Point.Seq)
	}
	if e.Phase == "done" {
		done = float64(b.points)
	}
	frac := done / float64(max(b.points, 1))
	const width = 30
	n := int(frac * width)
	bar := strings.Repeat("█", n) + strings.Repeat("░", width-n)
	what := e.Phase
	if e.Point.Seq > 0 {
		what = fmt.Sprintf("%d/%d  %d clients", e.Point.Seq, b.points, e.Point.Clients)
		if e.Point.Variant != "" {
			what += fmt.Sprintf("  %s=%s", b.ab, e.Point.Variant)
		}
		what += "  " + e.Phase
		if e.Phase == "run" {
			what += fmt.Sprintf(" %ds/%ds", int(e.Elapsed.Seconds()), int(b.dur.Seconds()))
			if e.Progress != nil {
				what += fmt.Sprintf("  %.0f tps", e.Progress.TPS)
			}
		}
	} else if e.Message != "" {
		what += ": " + e.Message
	}
	line := fmt.Sprintf("%s %3.0f%%  %s  (%s)", bar, frac*100, what, time.Since(b.start).Round(time.Second))
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		return
	}
	// Not a terminal: one line per phase change.
	key := fmt.Sprintf("%d %s", e.Point.Seq, e.Phase)
	if key != b.last {
		b.last = key
		fmt.Fprintln(b.w, line)
	}
}

func (b *benchBar) finish() {
	if b.tty && !b.off {
		fmt.Fprintln(b.w)
	}
}

func openBenchStore(ctx context.Context, dbURL string) (*pgxpool.Pool, *loadtest.Store, error) {
	if dbURL == "" {
		dbURL = os.Getenv("PGAI_DATABASE_URL")
	}
	if dbURL == "" {
		return nil, nil, errors.New("no database (--database-url or PGAI_DATABASE_URL)")
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return nil, nil, errors.New("database: cannot parse the URL (check --database-url / PGAI_DATABASE_URL)")
	}
	if err := loadtest.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	return pool, loadtest.NewStore(pool), nil
}

func runBenchList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", "", "the reviewer's database (env PGAI_DATABASE_URL)")
	limit := fs.Int("limit", 20, "runs to list")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	pool, store, err := openBenchStore(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stderr, "reviewer bench list: %v\n", err)
		return exitError
	}
	defer pool.Close()
	runs, err := store.List(ctx, loadtest.ListOptions{Limit: *limit})
	if err != nil {
		fmt.Fprintf(stderr, "reviewer bench list: %v\n", err)
		return exitError
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tSTATUS\tRUNNER\tCLIENTS\tA/B\tITERATIONS\tARTIFACTS\tBEST TPS\tNAME")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\t%s\t%d\t%d\t%.0f\t%s\n", r.ID, r.CreatedAt.Local().Format("2006-01-02 15:04"), r.Status, r.Runner,
			r.Clients, r.AB, r.Iterations, r.Artifacts, r.BestTPS, r.Name)
	}
	tw.Flush()
	return exitOK
}

func runBenchExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", "", "the reviewer's database (env PGAI_DATABASE_URL)")
	id := fs.Int64("run", 0, "run id (reviewer bench list)")
	out := fs.String("out", "", "folder to write the run into")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *id == 0 || *out == "" {
		fmt.Fprintln(stderr, "reviewer bench export: give --run ID and --out DIR")
		return exitError
	}
	pool, store, err := openBenchStore(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stderr, "reviewer bench export: %v\n", err)
		return exitError
	}
	defer pool.Close()
	if err := store.Export(ctx, *id, *out); err != nil {
		fmt.Fprintf(stderr, "reviewer bench export: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "run %d written to %s\n", *id, *out)
	return exitOK
}

func runBenchImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", "", "the reviewer's database (env PGAI_DATABASE_URL)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "reviewer bench import: give one run folder (with run.json)")
		return exitError
	}
	run, err := loadtest.LoadRunDir(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "reviewer bench import: %v\n", err)
		return exitError
	}
	pool, store, err := openBenchStore(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stderr, "reviewer bench import: %v\n", err)
		return exitError
	}
	defer pool.Close()
	run.ID = 0
	if err := store.Create(ctx, run, loadtest.Origin{RequestedBy: "import"}); err != nil {
		fmt.Fprintf(stderr, "reviewer bench import: %v\n", err)
		return exitError
	}
	if err := store.Save(ctx, run, fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "reviewer bench import: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "imported as run %d\n", run.ID)
	return exitOK
}

// gitlabRunnerFlags configure the GitLab CI runner.
type gitlabRunnerFlags struct {
	url, project, ref, job *string
	timeout                *time.Duration
}

func addGitLabRunnerFlags(fs *flag.FlagSet) *gitlabRunnerFlags {
	return &gitlabRunnerFlags{
		url:     fs.String("gitlab-url", "", "GitLab base URL for --runner gitlab (env PGAI_GITLAB_URL; token in PGAI_GITLAB_TOKEN)"),
		project: fs.String("runner-project", "", "runner project (id or group/name) whose pipeline runs the benchmark (env PGAI_BENCH_RUNNER_PROJECT)"),
		ref:     fs.String("runner-ref", "", "branch of the runner project (default main; env PGAI_BENCH_RUNNER_REF)"),
		job:     fs.String("runner-job", "", "name of the job whose artifacts hold the run folder (default pgai-bench)"),
		timeout: fs.Duration("runner-timeout", 0, "give up on the pipeline after this long (default: the pgbench time + 30m)"),
	}
}

var benchLogger = slog.New(slog.DiscardHandler)

// runner builds the GitLab runner from the flags and the environment.
func (f *gitlabRunnerFlags) runner(getenv func(string) string) (*loadtest.GitLabRunner, error) {
	pick := func(v *string, env string) string {
		if *v != "" {
			return *v
		}
		return getenv(env)
	}
	url := pick(f.url, "PGAI_GITLAB_URL")
	project := pick(f.project, "PGAI_BENCH_RUNNER_PROJECT")
	token := getenv("PGAI_GITLAB_TOKEN")
	var errs []error
	if url == "" {
		errs = append(errs, errors.New("--runner gitlab: no GitLab URL (--gitlab-url or PGAI_GITLAB_URL)"))
	}
	if token == "" {
		errs = append(errs, errors.New("--runner gitlab: no token (PGAI_GITLAB_TOKEN, api scope, Developer in the runner project)"))
	}
	if project == "" {
		errs = append(errs, errors.New("--runner gitlab: no runner project (--runner-project or PGAI_BENCH_RUNNER_PROJECT)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	gl, err := gitlab.New(gitlab.Options{BaseURL: url, Token: token, Logger: benchLogger})
	if err != nil {
		return nil, err
	}
	return &loadtest.GitLabRunner{CI: gl, Project: project, Ref: pick(f.ref, "PGAI_BENCH_RUNNER_REF"), Job: *f.job, Timeout: *f.timeout}, nil
}
