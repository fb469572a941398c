package loadtest

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Run statuses.
const (
	StatusRunning  = "running"
	StatusDone     = "done"
	StatusFailed   = "failed"
	StatusCanceled = "canceled"
)

// Run is one benchmark: its spec, where it ran, and its iterations. It is
// what run.json in an exported folder holds.
type Run struct {
	// ID is the run's id in the Store (0 before it is stored).
	ID     int64  `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
	Spec   Spec   `json:"spec"`
	Runner string `json:"runner"` // local, gitlab
	Status string `json:"status"`
	// Error says why a failed run failed.
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Server is the target's version string; ServerLocal whether it ran
	// on the runner's host.
	Server      string `json:"server,omitempty"`
	ServerLocal bool   `json:"server_local,omitempty"`
	// Target is the DSN with its password hidden.
	Target string `json:"target,omitempty"`
	// PipelineURL links the GitLab pipeline that ran it (gitlab runner).
	PipelineURL string      `json:"pipeline_url,omitempty"`
	Iterations  []Iteration `json:"iterations"`
	// Files are the run-level files (init log, plots, results.md),
	// relative to the run folder.
	Files []string `json:"files,omitempty"`
}

// Iteration is one pgbench run and what was collected around it.
type Iteration struct {
	Point
	// Dir is the iteration's folder, relative to the run folder.
	Dir        string    `json:"dir"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Summary is pgbench's own summary; Latency comes from its
	// per-transaction log.
	Summary Summary `json:"summary"`
	Latency Latency `json:"latency"`
	// WALBytes is the WAL written during the pgbench run.
	WALBytes int64 `json:"wal_bytes"`
	// PrepareS is the time spent before pgbench (variant steps,
	// checkpoint, resets), CollectS after it (artifacts): the collection
	// overhead of an iteration.
	PrepareS float64 `json:"prepare_s"`
	RunS     float64 `json:"run_s"`
	CollectS float64 `json:"collect_s"`
	// Artifacts lists the files of the iteration, relative to Dir.
	Artifacts []string `json:"artifacts"`
	// Missing maps artifacts that could not be collected to why.
	Missing map[string]string `json:"missing,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// TPS is the iteration's throughput (pgbench's own figure, without the
// initial connection time).
func (it Iteration) TPS() float64 { return it.Summary.TPS }

// Event reports progress to a caller (the CLI's progress bar).
type Event struct {
	// Phase is init, pre, prepare, run, collect, done.
	Phase string
	Point Point
	// Of is the number of points of the plan.
	Of int
	// Elapsed is the pgbench time so far of the current point (run).
	Elapsed time.Duration
	// Progress is the latest pgbench progress line, when there is one.
	Progress *Progress
	Message  string
}

// LocalOptions configure the local runner.
type LocalOptions struct {
	// Dir receives the run folder (made if missing).
	Dir string
	// AllowShell permits shell steps and restarts (a dedicated runner).
	AllowShell bool
	// Pgbench is the pgbench binary (default: PATH, then Debian's
	// /usr/lib/postgresql/*/bin).
	Pgbench string
	// Perf is the perf binary for flame graphs (default: PATH).
	Perf string
	// OnEvent, when set, is told about progress.
	OnEvent func(Event)
	Logger  *slog.Logger
}

// FindPgbench finds pgbench: PATH, then Debian's versioned directories.
func FindPgbench() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(m) > 0 {
		slices.Sort(m)
		return m[len(m)-1], nil
	}
	return "", errNoPgbench
}

// RunLocal runs a benchmark with pgbench on this host against the spec's
// target, writing the run folder into o.Dir. The returned Run is complete
// as far as it got, also on error (partial artifacts stay in o.Dir).
func RunLocal(ctx context.Context, spec Spec, o LocalOptions) (*Run, error) {
	spec.Defaults()
	run := &Run{Name: spec.Name, Runner: "local", Status: StatusRunning, StartedAt: time.Now().UTC()}
	finish := func(err error) (*Run, error) {
		run.FinishedAt = time.Now().UTC()
		switch {
		case err == nil:
			run.Status = StatusDone
		case errors.Is(err, context.Canceled):
			run.Status, run.Error = StatusCanceled, err.Error()
		default:
			run.Status, run.Error = StatusFailed, err.Error()
		}
		if o.Dir != "" {
			if werr := writeRunFiles(o.Dir, run); werr != nil && err == nil {
				err = werr
				run.Status, run.Error = StatusFailed, werr.Error()
			}
		}
		return run, err
	}
	dsn := spec.Target.DSN
	if dsn == "" && spec.Target.DSNEnv != "" {
		dsn = os.Getenv(spec.Target.DSNEnv)
		if dsn == "" {
			run.Spec = spec
			return finish(fmt.Errorf("target: environment variable %s is empty", spec.Target.DSNEnv))
		}
		spec.Target.DSN = dsn
	}
	run.Spec = spec
	run.Spec.Target.DSN = ""
	run.Target = RedactDSN(dsn)
	if err := spec.Validate(o.AllowShell); err != nil {
		return finish(err)
	}
	if o.Dir == "" {
		return finish(errors.New("no output folder"))
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return finish(fmt.Errorf("output folder: %w", err))
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pgbench := o.Pgbench
	if pgbench == "" {
		p, err := FindPgbench()
		if err != nil {
			return finish(err)
		}
		pgbench = p
	} else if _, err := exec.LookPath(pgbench); err != nil {
		return finish(fmt.Errorf("%w (%s: %v)", errNoPgbench, pgbench, err))
	}
	event := func(e Event) {
		if o.OnEvent != nil {
			o.OnEvent(e)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, err := pgx.Connect(cctx, dsn)
	cancel()
	if err != nil {
		return finish(fmt.Errorf("cannot connect to the target %s: %w", run.Target, scrubErr(err, dsn)))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	info, err := probeServer(ctx, conn)
	if err != nil {
		return finish(err)
	}
	run.Server, run.ServerLocal = info.Version, info.Local
	if spec.Flamegraph && !info.Local {
		log.WarnContext(ctx, "flame graph skipped: the server is not on this host")
	}
	r := &localRun{spec: spec, o: o, dsn: dsn, conn: conn, info: info, pgbench: pgbench, log: log, event: event, run: run}
	defer r.restoreSettings(context.WithoutCancel(ctx))
	plan := spec.Plan()
	event(Event{Phase: "pre", Of: len(plan)})
	if !spec.Pre.empty() {
		out, err := r.applySteps(ctx, "pre", spec.Pre)
		_ = os.WriteFile(filepath.Join(o.Dir, "pre-steps.txt"), []byte(out), 0o644)
		run.Files = append(run.Files, "pre-steps.txt")
		if err != nil {
			return finish(err)
		}
	}
	if spec.Workload.InitTables() {
		event(Event{Phase: "init", Of: len(plan), Message: fmt.Sprintf("pgbench -i -s %d", spec.Workload.Scale)})
		out, err := r.pgbenchInit(ctx)
		_ = os.WriteFile(filepath.Join(o.Dir, "pgbench-init.txt"), []byte(out), 0o644)
		run.Files = append(run.Files, "pgbench-init.txt")
		if err != nil {
			return finish(err)
		}
		// Refresh: pgbench -i may have created tables an extension view
		// lists, nothing else changes.
	}
	variants := map[string]Variant{}
	for _, v := range spec.Variants() {
		variants[v.Label] = v
	}
	for _, p := range plan {
		it, err := r.iteration(ctx, p, variants[p.Variant], len(plan))
		if it != nil {
			run.Iterations = append(run.Iterations, *it)
		}
		if err != nil {
			return finish(err)
		}
	}
	event(Event{Phase: "done", Of: len(plan)})
	return finish(nil)
}

// scrubErr removes the password from an error text.
func scrubErr(err error, dsn string) error {
	pw := dsnPassword(dsn)
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "REDACTED"))
}

func dsnPassword(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if u.User != nil {
			if p, ok := u.User.Password(); ok {
				return p
			}
		}
		return u.Query().Get("password")
	}
	m := regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`).FindStringSubmatch(dsn)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], "'")
}

// pgbenchConn returns the connection argument for pgbench without the
// password, and the environment that carries it (not visible in ps).
func pgbenchConn(dsn string) (arg string, env []string) {
	pw := dsnPassword(dsn)
	if pw == "" {
		return dsn, nil
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		q.Del("password")
		u.RawQuery = q.Encode()
		return u.String(), []string{"PGPASSWORD=" + pw}
	}
	arg = regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`).ReplaceAllString(dsn, "")
	return strings.TrimSpace(arg), []string{"PGPASSWORD=" + pw}
}

type localRun struct {
	spec    Spec
	o       LocalOptions
	dsn     string
	conn    *pgx.Conn
	info    *serverInfo
	pgbench string
	log     *slog.Logger
	event   func(Event)
	run     *Run

	// touched are the settings changed by ALTER SYSTEM and their value
	// in postgresql.auto.conf before ("" = not set there), restored at
	// the end so the server is left as it was.
	touched map[string]*string
}

// applySteps runs settings (ALTER SYSTEM + reload), restart, SQL and
// shell, and returns a log of what it did.
func (r *localRun) applySteps(ctx context.Context, where string, st Steps) (string, error) {
	var log strings.Builder
	keys := make([]string, 0, len(st.Settings))
	for k := range st.Settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := r.remember(ctx, k); err != nil {
			return log.String(), fmt.Errorf("%s: setting %s: %w", where, k, err)
		}
		// ALTER SYSTEM takes no parameters: quote the value as a literal.
		sql := fmt.Sprintf("ALTER SYSTEM SET %s = %s", pgx.Identifier(strings.Split(k, ".")).Sanitize(), quoteLiteral(st.Settings[k]))
		if _, err := r.conn.Exec(ctx, sql); err != nil {
			fmt.Fprintf(&log, "%s: %v\n", sql, err)
			return log.String(), fmt.Errorf("%s: %s: %w", where, sql, err)
		}
		fmt.Fprintf(&log, "%s\n", sql)
	}
	if len(keys) > 0 {
		if _, err := r.conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
			return log.String(), fmt.Errorf("%s: reload: %w", where, err)
		}
		log.WriteString("SELECT pg_reload_conf()\n")
		// A reload is asynchronous: wait until this session sees it.
		for _, k := range keys {
			if err := r.waitSetting(ctx, k, st.Settings[k], st.Restart); err != nil {
				fmt.Fprintf(&log, "%v\n", err)
				if !st.Restart {
					return log.String(), fmt.Errorf("%s: %w", where, err)
				}
			}
		}
	}
	if st.Restart {
		out, err := r.shell(ctx, r.spec.Target.RestartCommand)
		fmt.Fprintf(&log, "$ %s\n%s", r.spec.Target.RestartCommand, out)
		if err != nil {
			return log.String(), fmt.Errorf("%s: restart: %w", where, err)
		}
		if err := r.reconnect(ctx); err != nil {
			return log.String(), fmt.Errorf("%s: after restart: %w", where, err)
		}
	}
	for _, q := range st.SQL {
		if _, err := r.conn.Exec(ctx, q); err != nil {
			fmt.Fprintf(&log, "%s\nERROR: %v\n", q, err)
			return log.String(), fmt.Errorf("%s: sql %q: %w", where, abbreviate(q), err)
		}
		fmt.Fprintf(&log, "%s\n", q)
	}
	if len(st.SQL) > 0 {
		// CREATE/DROP EXTENSION changes what is collected.
		if info, err := probeServer(ctx, r.conn); err == nil {
			info.Local = r.info.Local
			r.info = info
		}
	}
	for _, c := range st.Shell {
		out, err := r.shell(ctx, c)
		fmt.Fprintf(&log, "$ %s\n%s", c, out)
		if err != nil {
			return log.String(), fmt.Errorf("%s: shell %q: %w", where, abbreviate(c), err)
		}
	}
	return log.String(), nil
}

func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (r *localRun) remember(ctx context.Context, name string) error {
	if r.touched == nil {
		r.touched = map[string]*string{}
	}
	if _, ok := r.touched[name]; ok {
		return nil
	}
	var v *string
	err := r.conn.QueryRow(ctx, `SELECT setting FROM pg_file_settings WHERE name = $1 AND sourcefile LIKE '%postgresql.auto.conf' ORDER BY seqno DESC LIMIT 1`, name).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	r.touched[name] = v
	return nil
}

func (r *localRun) waitSetting(ctx context.Context, name, want string, restart bool) error {
	var got, unit, context_ string
	var pending bool
	for i := 0; i < 50; i++ {
		err := r.conn.QueryRow(ctx, `SELECT setting, coalesce(unit, ''), context, pending_restart FROM pg_settings WHERE name = $1`, name).Scan(&got, &unit, &context_, &pending)
		if errors.Is(err, pgx.ErrNoRows) {
			// A custom (extension) setting not loaded yet.
			var s string
			if err := r.conn.QueryRow(ctx, `SELECT current_setting($1, true)`, name).Scan(&s); err == nil && s == want {
				return nil
			}
		} else if err != nil {
			return err
		}
		if pending && !restart {
			return fmt.Errorf("setting %s needs a restart (context %s): add restart: true and a target.restart_command, on a dedicated runner", name, context_)
		}
		if got == want || !pending && equalSetting(r.conn, ctx, name, want) {
			return nil
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("setting %s is %q after the reload, not %q", name, got, want)
}

// equalSetting compares a value with units ("128MB") with the current
// setting by letting the server normalise it.
func equalSetting(conn *pgx.Conn, ctx context.Context, name, want string) bool {
	var same bool
	err := conn.QueryRow(ctx, `SELECT current_setting($1) = $2 OR
		(SELECT setting FROM pg_settings WHERE name = $1) = $2`, name, want).Scan(&same)
	if err == nil && same {
		return true
	}
	return false
}

// restoreSettings puts every setting changed with ALTER SYSTEM back.
func (r *localRun) restoreSettings(ctx context.Context) {
	if len(r.touched) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for k, old := range r.touched {
		id := pgx.Identifier(strings.Split(k, ".")).Sanitize()
		sql := "ALTER SYSTEM RESET " + id
		if old != nil {
			sql = fmt.Sprintf("ALTER SYSTEM SET %s = %s", id, quoteLiteral(*old))
		}
		if _, err := r.conn.Exec(ctx, sql); err != nil {
			r.log.WarnContext(ctx, "restore setting", "sql", sql, "err", err)
		}
	}
	if _, err := r.conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		r.log.WarnContext(ctx, "reload after restoring settings", "err", err)
	}
}

func (r *localRun) reconnect(ctx context.Context) error {
	_ = r.conn.Close(ctx)
	var last error
	for i := 0; i < 60; i++ {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := pgx.Connect(cctx, r.dsn)
		cancel()
		if err == nil {
			r.conn = c
			return nil
		}
		last = err
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
	}
	return scrubErr(last, r.dsn)
}

func (r *localRun) shell(ctx context.Context, command string) (string, error) {
	if !r.o.AllowShell {
		return "", errors.New("shell commands run only on a dedicated runner")
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (r *localRun) pgbenchInit(ctx context.Context) (string, error) {
	arg, env := pgbenchConn(r.dsn)
	args := []string{"-i", "-s", strconv.Itoa(r.spec.Workload.Scale), "-q", arg}
	cmd := r.command(ctx, args, env)
	out, err := cmd.CombinedOutput()
	text := "$ pgbench " + strings.Join(redactArgs(args, r.dsn), " ") + "\n" + string(out)
	if err != nil {
		return text, fmt.Errorf("pgbench -i: %w: %s", err, lastLine(string(out)))
	}
	return text, nil
}

func redactArgs(args []string, dsn string) []string {
	out := slices.Clone(args)
	arg, _ := pgbenchConn(dsn)
	for i, a := range out {
		if a == arg || a == dsn {
			out[i] = RedactDSN(dsn)
		}
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "error") {
			return strings.TrimSpace(lines[i])
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// command builds a pgbench command that dies with its context: SIGINT
// first (pgbench then disconnects and prints what it has), SIGKILL to the
// process group 5 s later.
func (r *localRun) command(ctx context.Context, args, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.pgbench, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// iterDir names an iteration's folder.
func iterDir(p Point) string {
	name := fmt.Sprintf("%03d-c%d-i%d", p.Seq, p.Clients, p.Iteration)
	if p.Variant != "" {
		name += "-" + regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(p.Variant, "_")
	}
	return "iterations/" + name
}

func (r *localRun) iteration(ctx context.Context, p Point, v Variant, of int) (*Iteration, error) {
	it := &Iteration{Point: p, Dir: iterDir(p), StartedAt: time.Now().UTC()}
	a := newArtifactSet(filepath.Join(r.o.Dir, filepath.FromSlash(it.Dir)))
	done := func(err error) (*Iteration, error) {
		it.FinishedAt = time.Now().UTC()
		it.Artifacts = a.files
		it.Missing = a.errors
		if err != nil {
			it.Error = err.Error()
		}
		_ = a.writeJSON("iteration.json", it)
		it.Artifacts = a.files
		return it, err
	}
	t0 := time.Now()
	r.event(Event{Phase: "prepare", Point: p, Of: of})
	if !v.Steps.empty() {
		out, err := r.applySteps(ctx, "variant "+v.Label, v.Steps)
		_ = a.write("variant-steps.txt", []byte(out))
		if err != nil {
			return done(err)
		}
	}
	_ = a.write("resets.txt", []byte(resetStats(ctx, r.conn, r.info, r.spec.DropCaches)))
	lsn0, lsnErr := walPosition(ctx, r.conn)
	it.PrepareS = time.Since(t0).Seconds()

	// During: the sampler on its own connection, perf when asked.
	t1 := time.Now()
	sconn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		return done(fmt.Errorf("sampler connection: %w", scrubErr(err, r.dsn)))
	}
	defer sconn.Close(context.WithoutCancel(ctx))
	smp := newSampler(sconn, r.info.Local)
	sctx, stopSampler := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); smp.run(sctx) }()
	var fg *perfRecording
	if r.spec.Flamegraph && r.info.Local {
		fg, err = startPerf(ctx, r.o.Perf, filepath.Join(a.dir, "flamegraph"))
		if err != nil {
			a.fail("flamegraph/flamegraph.svg", err)
		}
	}
	runErr := r.runPgbench(ctx, p, of, a, it)
	stopSampler()
	wg.Wait()
	it.RunS = time.Since(t1).Seconds()

	// After: everything else.
	t2 := time.Now()
	r.event(Event{Phase: "collect", Point: p, Of: of})
	cctx := context.WithoutCancel(ctx) // collect what there is, also when canceled
	cctx, cancel := context.WithTimeout(cctx, 2*time.Minute)
	defer cancel()
	if fg != nil {
		if err := fg.finish(cctx, a); err != nil {
			a.fail("flamegraph/flamegraph.svg", err)
		}
	}
	smp.write(a)
	if lsnErr == nil {
		if lsn1, err := walPosition(cctx, r.conn); err == nil {
			it.WALBytes, _ = walBytes(cctx, r.conn, lsn0, lsn1)
			_ = a.writeJSON("pg/wal.json", map[string]any{"lsn_before": lsn0, "lsn_after": lsn1, "bytes": it.WALBytes})
		}
	}
	collectServer(cctx, r.conn, r.info, r.spec.StatementsTop, a)
	collectHost(cctx, a)
	if !r.info.Local {
		_ = a.write("system/README.txt", []byte("The server is not on this host: system/ describes the host that ran pgbench, not the database's.\n"))
	}
	it.CollectS = time.Since(t2).Seconds()
	_ = a.writeJSON("collection.json", map[string]any{
		"prepare_s": it.PrepareS, "run_s": it.RunS, "collect_s": it.CollectS,
		"overhead_s": it.PrepareS + it.CollectS, "missing": a.errors,
	})
	if runErr != nil {
		return done(runErr)
	}
	return done(ctx.Err())
}

func (r *localRun) runPgbench(ctx context.Context, p Point, of int, a *artifactSet, it *Iteration) error {
	w := r.spec.Workload
	jobs := w.Jobs
	if jobs == 0 {
		jobs = min(p.Clients, runtime.NumCPU())
	}
	jobs = min(jobs, p.Clients)
	logDir := filepath.Join(a.dir, "pgbench")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("pgbench folder: %w", err)
	}
	args := []string{"-n", "-c", strconv.Itoa(p.Clients), "-j", strconv.Itoa(jobs),
		"-T", strconv.Itoa(int(w.Duration.D().Round(time.Second) / time.Second)),
		"-M", w.Protocol, "-l", "--log-prefix", filepath.Join(logDir, "tx")}
	if w.Progress > 0 {
		args = append(args, "-P", strconv.Itoa(w.Progress))
	}
	if !w.NoStatementLatencies {
		args = append(args, "-r")
	}
	if w.Rate > 0 {
		args = append(args, "-R", strconv.FormatFloat(w.Rate, 'f', -1, 64))
	}
	if w.Builtin != "" {
		args = append(args, "-b", w.Builtin+"@1")
	}
	for i, s := range w.Scripts {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("script-%d", i+1)
		}
		rel := "pgbench/" + name + ".sql"
		if err := a.write(rel, []byte(s.SQL)); err != nil {
			return err
		}
		args = append(args, "-f", filepath.Join(a.dir, filepath.FromSlash(rel))+"@"+strconv.Itoa(s.Weight))
	}
	conn, env := pgbenchConn(r.dsn)
	args = append(args, conn)
	_ = a.write("pgbench/command.txt", []byte("pgbench "+strings.Join(redactArgs(args, r.dsn), " ")+"\n"))

	cmd := r.command(ctx, args, env)
	stdout, err := os.Create(filepath.Join(logDir, "stdout.txt"))
	if err != nil {
		return fmt.Errorf("pgbench stdout: %w", err)
	}
	defer stdout.Close()
	cmd.Stdout = stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("pgbench stderr: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start pgbench: %w", err)
	}
	a.files = append(a.files, "pgbench/stdout.txt")
	var stderr strings.Builder
	var progress []Progress
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var last *Progress
	r.event(Event{Phase: "run", Point: p, Of: of})
loop:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break loop
			}
			stderr.WriteString(line + "\n")
			if pr, ok := ParseProgress(line); ok {
				progress = append(progress, pr)
				last = &progress[len(progress)-1]
				r.event(Event{Phase: "run", Point: p, Of: of, Elapsed: time.Since(start), Progress: last})
			}
		case <-tick.C:
			r.event(Event{Phase: "run", Point: p, Of: of, Elapsed: time.Since(start), Progress: last})
		}
	}
	waitErr := cmd.Wait()
	_ = a.write("pgbench/stderr.txt", []byte(stderr.String()))
	_ = a.write("pgbench/progress.csv", progressCSV(progress))

	// Per-transaction logs: one file per thread, merged into one.
	logs, _ := filepath.Glob(filepath.Join(logDir, "tx.*"))
	slices.Sort(logs)
	tx := NewTxLogReader()
	var logErr error
	if len(logs) > 0 {
		merged, err := os.Create(filepath.Join(logDir, "transactions.log"))
		if err == nil {
			for _, l := range logs {
				if err := tx.ReadFile(l); err != nil && logErr == nil {
					logErr = err
				}
				if f, err := os.Open(l); err == nil {
					_, _ = io.Copy(merged, f)
					f.Close()
				}
				_ = os.Remove(l)
			}
			merged.Close()
			a.files = append(a.files, "pgbench/transactions.log")
		}
	}
	it.Latency = tx.Result(w.Duration.D())
	_ = a.writeJSON("pgbench/latency.json", it.Latency)
	_ = a.write("pgbench/tps_per_second.csv", perSecondCSV(it.Latency.PerSecond))
	out, _ := os.ReadFile(filepath.Join(logDir, "stdout.txt"))
	sum, perr := ParseSummary(string(out))
	it.Summary = sum
	if perr == nil {
		_ = a.writeJSON("pgbench/summary.json", sum)
		_ = a.write("pgbench/statement_latencies.csv", statementsCSV(sum.Statements))
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case waitErr != nil:
		return fmt.Errorf("pgbench (%d clients): %w: %s", p.Clients, waitErr, lastLine(stderr.String()+string(out)))
	case perr != nil:
		return fmt.Errorf("pgbench (%d clients): %w: %s", p.Clients, perr, lastLine(stderr.String()))
	case logErr != nil:
		return logErr
	}
	return nil
}

func progressCSV(ps []Progress) []byte {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"at_s", "tps", "lat_ms", "stddev_ms", "failed"})
	for _, p := range ps {
		_ = w.Write([]string{ff(p.AtS), ff(p.TPS), ff(p.LatMs), ff(p.StddevMs), strconv.FormatInt(p.Failed, 10)})
	}
	w.Flush()
	return []byte(b.String())
}

func perSecondCSV(ps []int64) []byte {
	var b strings.Builder
	b.WriteString("second,transactions\n")
	for i, n := range ps {
		fmt.Fprintf(&b, "%d,%d\n", i, n)
	}
	return []byte(b.String())
}

func statementsCSV(ss []StatementLatency) []byte {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"script", "latency_ms", "failures", "command"})
	for _, s := range ss {
		_ = w.Write([]string{strconv.Itoa(s.Script), ff(s.LatencyMs), strconv.FormatInt(s.Failures, 10), s.Command})
	}
	w.Flush()
	return []byte(b.String())
}

func ff(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// writeRunFiles writes run.json, results.md and the plots into dir.
func writeRunFiles(dir string, run *Run) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	res := Analyze(run)
	files := []string{"run.json", "results.md"}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(res.Markdown()), 0o644); err != nil {
		return fmt.Errorf("results.md: %w", err)
	}
	if len(res.Points) > 0 {
		plots, err := Plots(run, res)
		if err != nil {
			return fmt.Errorf("plots: %w", err)
		}
		for _, p := range plots {
			if err := os.WriteFile(filepath.Join(dir, p.Name), p.PNG, 0o644); err != nil {
				return fmt.Errorf("plot %s: %w", p.Name, err)
			}
			files = append(files, p.Name)
		}
	}
	for _, f := range files {
		if !slices.Contains(run.Files, f) {
			run.Files = append(run.Files, f)
		}
	}
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return fmt.Errorf("run.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("run.json: %w", err)
	}
	return nil
}
