package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Runner runs a benchmark and leaves its run folder in dir. The returned
// Run is as complete as the run got, also with an error.
type Runner interface {
	// Name is "local" or "gitlab".
	Name() string
	// AllowsShell reports whether shell steps may run there.
	AllowsShell() bool
	Run(ctx context.Context, spec Spec, dir string, onEvent func(Event)) (*Run, error)
}

// LocalRunner runs pgbench on this host (RunLocal).
type LocalRunner struct {
	// AllowShell permits shell steps (this host is a dedicated runner).
	AllowShell bool
	// Pgbench and Perf override the binaries found on PATH.
	Pgbench, Perf string
	Logger        *slog.Logger
}

// Name implements Runner.
func (LocalRunner) Name() string { return "local" }

// AllowsShell implements Runner.
func (l LocalRunner) AllowsShell() bool { return l.AllowShell }

// Run implements Runner.
func (l LocalRunner) Run(ctx context.Context, spec Spec, dir string, onEvent func(Event)) (*Run, error) {
	return RunLocal(ctx, spec, LocalOptions{Dir: dir, AllowShell: l.AllowShell, Pgbench: l.Pgbench, Perf: l.Perf, OnEvent: onEvent, Logger: l.Logger})
}

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	Runner Runner
	// Store, when set, keeps every run (its id is the run's id);
	// without it ids are counted in memory.
	Store *Store
	// Dir holds the run folders (default a temporary folder); each run
	// gets Dir/run-ID.
	Dir string
	// MaxBudget refuses specs whose pgbench time alone exceeds it
	// (default 2 h).
	MaxBudget time.Duration
	Logger    *slog.Logger
}

// Manager starts benchmark runs in the background and answers for them:
// the API behind the agent's run_db_experiment_dedicated_env (Start) and
// run_db_experiment_wait (Wait), and /pgai bench.
type Manager struct {
	o   ManagerOptions
	log *slog.Logger

	mu     sync.Mutex
	nextID int64
	active map[int64]*activeRun
	wg     sync.WaitGroup
	closed bool
}

type activeRun struct {
	id     int64
	cancel context.CancelFunc
	done   chan struct{}
	dir    string

	mu    sync.Mutex
	run   *Run
	err   error
	event Event
}

// NewManager returns a manager.
func NewManager(o ManagerOptions) (*Manager, error) {
	if o.Runner == nil {
		return nil, errors.New("loadtest: no runner")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBudget == 0 {
		o.MaxBudget = 2 * time.Hour
	}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "pgai-bench-")
		if err != nil {
			return nil, fmt.Errorf("loadtest: run folder: %w", err)
		}
		o.Dir = d
	}
	return &Manager{o: o, log: o.Logger, active: map[int64]*activeRun{}}, nil
}

// Status is a run's state as Start's caller sees it.
type Status struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Phase and Point say where a running run is.
	Phase string `json:"phase,omitempty"`
	Point Point  `json:"point"`
	Of    int    `json:"of,omitempty"`
	// Dir is the run folder on this host.
	Dir string `json:"dir,omitempty"`
	// PipelineURL is set for a run on the GitLab runner.
	PipelineURL string `json:"pipeline_url,omitempty"`
}

// Start validates a spec and runs it in the background; the run goes on
// after ctx ends (use Cancel to stop it). It returns the run's id.
func (m *Manager) Start(ctx context.Context, spec Spec, origin Origin) (int64, error) {
	spec.Defaults()
	if err := spec.Validate(m.o.Runner.AllowsShell()); err != nil {
		return 0, err
	}
	if b := spec.Budget(); b > m.o.MaxBudget {
		return 0, fmt.Errorf("the benchmark needs at least %s of pgbench time, more than the %s allowed here: fewer clients, iterations or a shorter duration", b, m.o.MaxBudget)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return 0, errors.New("loadtest: manager closed")
	}
	m.mu.Unlock()
	run := &Run{Name: spec.Name, Spec: spec, Runner: m.o.Runner.Name(), Status: StatusRunning, StartedAt: time.Now().UTC()}
	run.Spec.Target.DSN = ""
	run.Target = RedactDSN(spec.Target.DSN)
	var id int64
	if m.o.Store != nil {
		if err := m.o.Store.Create(ctx, run, origin); err != nil {
			return 0, err
		}
		id = run.ID
	} else {
		m.mu.Lock()
		m.nextID++
		id = m.nextID
		m.mu.Unlock()
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &activeRun{id: id, cancel: cancel, done: make(chan struct{}), dir: filepath.Join(m.o.Dir, fmt.Sprintf("run-%d", id)), run: run}
	m.mu.Lock()
	m.active[id] = a
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(a.done)
		defer cancel()
		log := m.log.With("bench_run", id)
		log.InfoContext(rctx, "benchmark started", "runner", m.o.Runner.Name(), "points", len(spec.Plan()), "budget", spec.Budget().String())
		r, err := m.o.Runner.Run(rctx, spec, a.dir, func(e Event) {
			a.mu.Lock()
			a.event = e
			a.mu.Unlock()
		})
		if r == nil {
			r = run
			r.Status, r.FinishedAt = StatusFailed, time.Now().UTC()
			if err != nil {
				r.Error = err.Error()
			}
		}
		r.ID = id
		if m.o.Store != nil {
			sctx, scancel := context.WithTimeout(context.WithoutCancel(rctx), 2*time.Minute)
			if serr := m.o.Store.Save(sctx, r, a.dir); serr != nil {
				log.ErrorContext(sctx, "store benchmark", "err", serr)
				if err == nil {
					err = serr
				}
			}
			scancel()
		}
		a.mu.Lock()
		a.run, a.err = r, err
		a.mu.Unlock()
		if err != nil {
			log.WarnContext(rctx, "benchmark failed", "err", err)
		} else {
			log.InfoContext(rctx, "benchmark done")
		}
	}()
	return id, nil
}

func (m *Manager) lookup(id int64) *activeRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active[id]
}

// Status says where a run is (running, done, failed, canceled).
func (m *Manager) Status(ctx context.Context, id int64) (Status, error) {
	if a := m.lookup(id); a != nil {
		a.mu.Lock()
		defer a.mu.Unlock()
		st := Status{ID: id, Status: a.run.Status, Error: a.run.Error, Dir: a.dir, PipelineURL: a.run.PipelineURL}
		select {
		case <-a.done:
		default:
			st.Status = StatusRunning
			st.Phase, st.Point, st.Of = a.event.Phase, a.event.Point, a.event.Of
		}
		return st, nil
	}
	if m.o.Store == nil {
		return Status{}, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	run, err := m.o.Store.Get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	return Status{ID: id, Status: run.Status, Error: run.Error, PipelineURL: run.PipelineURL}, nil
}

// Wait waits until a run ends (or ctx does) and returns it with its
// results. The error is the run's own failure; the Run is returned with
// it, as far as it got (partial results and artifacts).
func (m *Manager) Wait(ctx context.Context, id int64) (*Run, *Results, error) {
	if a := m.lookup(id); a != nil {
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("run %d still running: %w", id, ctx.Err())
		case <-a.done:
		}
		a.mu.Lock()
		run, err := a.run, a.err
		a.mu.Unlock()
		return run, Analyze(run), err
	}
	// A run of another process (or before a restart): poll the store.
	if m.o.Store == nil {
		return nil, nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	for {
		run, err := m.o.Store.Get(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if run.Status != StatusRunning {
			var rerr error
			if run.Error != "" {
				rerr = errors.New(run.Error)
			}
			return run, Analyze(run), rerr
		}
		if err := sleepCtx(ctx, 2*time.Second); err != nil {
			return nil, nil, fmt.Errorf("run %d still running: %w", id, err)
		}
	}
}

// Dir is a run's folder on this host ("" when the run is not from this
// process: use Store.Export).
func (m *Manager) Dir(id int64) string {
	if a := m.lookup(id); a != nil {
		return a.dir
	}
	return ""
}

// Cancel stops a running run (pgbench is interrupted, what was collected
// is kept).
func (m *Manager) Cancel(id int64) bool {
	a := m.lookup(id)
	if a == nil {
		return false
	}
	a.cancel()
	return true
}

// Close cancels every running run and waits for them to stop.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	for _, a := range m.active {
		a.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
}
