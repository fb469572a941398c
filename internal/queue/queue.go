// Package queue is the reviewer's durable job queue: River on the
// reviewer's PostgreSQL. Webhook deliveries become jobs that survive
// restarts and are shared by every replica running workers.
//
// Reviews are unique on (project, MR, head SHA) and commands on (project,
// note), so a re-delivered webhook or the double update event of one push
// yields one job. Work on one MR is serialized across replicas with a
// PostgreSQL advisory lock; a job that finds the MR busy is snoozed.
// Errors that say "permanent" (interface{ Permanent() bool }) cancel the
// job; others are retried with River's backoff.
package queue

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/webhook"
)

// QueueName is the River queue the reviewer uses.
const QueueName = "pgai"

// Handler does the work of the jobs.
type Handler interface {
	// Review reviews one MR head; outcome names what happened
	// ("reviewed", "stale", "closed" ...).
	Review(ctx context.Context, job review.Job) (outcome string, err error)
	// Command answers a /pgai note.
	Command(ctx context.Context, cmd webhook.Command) error
}

// ReviewArgs is the River job of a review.
type ReviewArgs struct {
	ProjectID int64  `json:"project_id" river:"unique"`
	MRIID     int64  `json:"mr_iid" river:"unique"`
	HeadSHA   string `json:"head_sha" river:"unique"`
	// DeliveryKey is the webhook's Idempotency-Key, for tracing.
	DeliveryKey string `json:"delivery_key,omitempty"`
}

// Kind implements river.JobArgs.
func (ReviewArgs) Kind() string { return "pgai_review" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ReviewArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// CommandArgs is the River job of a /pgai command.
type CommandArgs struct {
	ProjectID int64           `json:"project_id" river:"unique"`
	NoteID    int64           `json:"note_id" river:"unique"`
	Command   webhook.Command `json:"command"`
}

// Kind implements river.JobArgs.
func (CommandArgs) Kind() string { return "pgai_command" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (CommandArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Options configure a Queue.
type Options struct {
	// Workers is how many jobs run at once in this process; 0 makes an
	// insert-only queue (a webhook receiver without workers).
	Workers int
	// Handler does the work; required when Workers > 0.
	Handler Handler
	// Logger; nil discards.
	Logger *slog.Logger
	// JobTimeout bounds one job (default 10 minutes).
	JobTimeout time.Duration
	// RetryPolicy overrides River's backoff (tests).
	RetryPolicy river.ClientRetryPolicy
	// SnoozeBusy is how long a job waits when its MR is being worked on
	// (default 2s).
	SnoozeBusy time.Duration
	// FetchPollInterval overrides River's poll interval (tests).
	FetchPollInterval time.Duration
	// Observe, when set, gets each finished job's kind, outcome and
	// duration (metrics).
	Observe func(kind, outcome string, d time.Duration)
}

// Queue inserts and works jobs. Each running job holds one pooled
// connection (the MR lock) and River needs a few of its own: size the pool
// at Workers + 10 or more.
type Queue struct {
	client *river.Client[pgx.Tx]
	pool   *pgxpool.Pool
	log    *slog.Logger
	opts   Options
}

// New builds a queue on pool. Migrate must have run.
func New(pool *pgxpool.Pool, o Options) (*Queue, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.JobTimeout == 0 {
		o.JobTimeout = 10 * time.Minute
	}
	if o.SnoozeBusy == 0 {
		o.SnoozeBusy = 2 * time.Second
	}
	if o.Workers > 0 && o.Handler == nil {
		return nil, errors.New("queue: workers need a handler")
	}
	q := &Queue{pool: pool, log: o.Logger, opts: o}
	workers := river.NewWorkers()
	river.AddWorker(workers, &reviewWorker{q: q})
	river.AddWorker(workers, &commandWorker{q: q})
	cfg := &river.Config{
		Logger:      o.Logger,
		Workers:     workers,
		JobTimeout:  o.JobTimeout,
		RetryPolicy: o.RetryPolicy,
		// A job whose worker died (crash, kill -9) is picked up again
		// soon after its timeout would have expired.
		RescueStuckJobsAfter: o.JobTimeout + time.Minute,
		FetchPollInterval:    o.FetchPollInterval,
	}
	if o.Workers > 0 {
		cfg.Queues = map[string]river.QueueConfig{QueueName: {MaxWorkers: o.Workers}}
	}
	c, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	q.client = c
	return q, nil
}

// Start starts the workers (no-op for an insert-only queue).
func (q *Queue) Start(ctx context.Context) error {
	if q.opts.Workers == 0 {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	return nil
}

// Stop waits for running jobs to finish, then stops the workers; when ctx
// ends first, running jobs are cancelled and retried later.
func (q *Queue) Stop(ctx context.Context) error {
	if q.opts.Workers == 0 {
		return nil
	}
	err := q.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return q.client.StopAndCancel(c)
	}
	return err
}

// StopAndCancel cancels running jobs (they are retried later) and stops.
func (q *Queue) StopAndCancel(ctx context.Context) error {
	if q.opts.Workers == 0 {
		return nil
	}
	return q.client.StopAndCancel(ctx)
}

// Enqueue implements webhook.Enqueuer.
func (q *Queue) Enqueue(ctx context.Context, t webhook.Task) (bool, error) {
	var args river.JobArgs
	switch {
	case t.Review != nil:
		args = ReviewArgs{ProjectID: t.Review.ProjectID, MRIID: t.Review.MRIID, HeadSHA: t.Review.HeadSHA, DeliveryKey: t.DeliveryKey}
	case t.Command != nil:
		args = CommandArgs{ProjectID: t.Command.ProjectID, NoteID: t.Command.NoteID, Command: *t.Command}
	default:
		return false, errors.New("enqueue: empty task")
	}
	res, err := q.client.Insert(ctx, args, nil)
	if err != nil {
		return false, fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	return res.UniqueSkippedAsDuplicate, nil
}

// Depth counts the jobs of the reviewer's queue by state.
func (q *Queue) Depth(ctx context.Context) (map[string]int64, error) {
	rows, err := q.pool.Query(ctx, `SELECT state::text, count(*) FROM river_job WHERE queue = $1
		AND state IN ('available', 'running', 'retryable', 'scheduled') GROUP BY 1`, QueueName)
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	out := map[string]int64{"available": 0, "running": 0, "retryable": 0, "scheduled": 0}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("queue depth: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// permanent reports whether err says retrying cannot help.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// mrLockKey is the advisory lock key of one MR.
func mrLockKey(projectID, iid int64) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "pgai-mr:%d:%d", projectID, iid)
	return int64(h.Sum64())
}

// withMRLock runs fn while holding the MR's advisory lock on a dedicated
// connection; busy is true when another worker holds it.
func (q *Queue) withMRLock(ctx context.Context, projectID, iid int64, fn func(conn *pgxpool.Conn) error) (busy bool, err error) {
	conn, err := q.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquire connection for MR lock: %w", err)
	}
	defer conn.Release()
	key := mrLockKey(projectID, iid)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("MR lock: %w", err)
	}
	if !ok {
		return true, nil
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, key); uerr != nil {
			// The session lock dies with the connection; make sure it does.
			q.log.Error("MR unlock; closing the connection", "err", uerr)
			_ = conn.Conn().Close(uctx)
		}
	}()
	return false, fn(conn)
}

func (q *Queue) observe(kind, outcome string, start time.Time) {
	if q.opts.Observe != nil {
		q.opts.Observe(kind, outcome, time.Since(start))
	}
}

// classify turns a handler error into River's retry or cancel.
func (q *Queue) classify(ctx context.Context, kind string, attempt int, err error, attrs ...any) error {
	if err == nil {
		return nil
	}
	if permanent(err) {
		q.log.ErrorContext(ctx, kind+" failed permanently", append(attrs, "err", err)...)
		return river.JobCancel(err)
	}
	q.log.WarnContext(ctx, kind+" failed; will retry", append(attrs, "err", err, "attempt", attempt)...)
	return err
}

type reviewWorker struct {
	river.WorkerDefaults[ReviewArgs]
	q *Queue
}

func (w *reviewWorker) Work(ctx context.Context, job *river.Job[ReviewArgs]) error {
	q := w.q
	a := job.Args
	start := time.Now()
	attrs := []any{"project_id", a.ProjectID, "mr_iid", a.MRIID, "sha", a.HeadSHA, "job_id", job.ID}
	var outcome string
	busy, err := q.withMRLock(ctx, a.ProjectID, a.MRIID, func(conn *pgxpool.Conn) error {
		var err error
		outcome, err = q.opts.Handler.Review(ctx, review.Job{ProjectID: a.ProjectID, MRIID: a.MRIID, HeadSHA: a.HeadSHA})
		if err != nil {
			return err
		}
		_, err = conn.Exec(context.WithoutCancel(ctx), `INSERT INTO pgai_review_run
			(project_id, mr_iid, head_sha, job_id, attempt, outcome, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			a.ProjectID, a.MRIID, a.HeadSHA, job.ID, job.Attempt, outcome, start)
		if err != nil {
			// The review was posted; losing the audit row is not worth
			// a re-review.
			q.log.ErrorContext(ctx, "record review run", append(attrs, "err", err)...)
		}
		return nil
	})
	if busy {
		q.observe("review", "busy", start)
		return river.JobSnooze(q.opts.SnoozeBusy)
	}
	if err != nil {
		q.observe("review", "error", start)
		if errors.Is(ctx.Err(), context.Canceled) {
			// Shutdown: run again as soon as a worker starts, without
			// spending an attempt (the job's steps are idempotent).
			q.log.InfoContext(ctx, "review interrupted by shutdown; will resume", attrs...)
			return river.JobSnooze(0)
		}
		return q.classify(ctx, "review", job.Attempt, err, attrs...)
	}
	q.observe("review", outcome, start)
	q.log.InfoContext(ctx, "review done", append(attrs, "outcome", outcome, "duration_ms", time.Since(start).Milliseconds())...)
	return nil
}

type commandWorker struct {
	river.WorkerDefaults[CommandArgs]
	q *Queue
}

func (w *commandWorker) Work(ctx context.Context, job *river.Job[CommandArgs]) error {
	q := w.q
	c := job.Args.Command
	start := time.Now()
	attrs := []any{"project_id", c.ProjectID, "mr_iid", c.MRIID, "note_id", c.NoteID, "job_id", job.ID}
	busy, err := q.withMRLock(ctx, c.ProjectID, c.MRIID, func(*pgxpool.Conn) error { return q.opts.Handler.Command(ctx, c) })
	if busy {
		return river.JobSnooze(q.opts.SnoozeBusy)
	}
	if err != nil {
		q.observe("command", "error", start)
		if errors.Is(ctx.Err(), context.Canceled) {
			return river.JobSnooze(0)
		}
		return q.classify(ctx, "command", job.Attempt, err, attrs...)
	}
	q.observe("command", "ok", start)
	q.log.InfoContext(ctx, "command done", append(attrs, "duration_ms", time.Since(start).Milliseconds())...)
	return nil
}

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func ownMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrateLockKey serializes migrations of replicas starting together.
const migrateLockKey = 0x70676169_6d696772 // "pgaimigr"

// Migrate applies River's schema and the reviewer's own migrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLockKey)); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLockKey))
	}()
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	for _, v := range res.Versions {
		log.InfoContext(ctx, "applied river migration", "version", v.Version)
	}
	ms, err := ownMigrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS pgai_schema_migration (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, mg := range ms {
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pgai_schema_migration WHERE version = $1)`, mg.version).Scan(&done); err != nil {
			return fmt.Errorf("migrate %s: %w", mg.name, err)
		}
		if done {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, mg.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO pgai_schema_migration (version, name) VALUES ($1, $2)`, mg.version, mg.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", mg.name, err)
		}
		log.InfoContext(ctx, "applied migration", "name", mg.name)
	}
	return nil
}

// Ready checks that the database answers and every migration is applied.
func Ready(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("river schema: %w", err)
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("river schema: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("river schema not applied: %s", strings.Join(res.Messages, "; "))
	}
	ms, err := ownMigrations()
	if err != nil {
		return err
	}
	var max *int
	if err := pool.QueryRow(ctx, `SELECT max(version) FROM pgai_schema_migration`).Scan(&max); err != nil {
		return fmt.Errorf("schema not applied: %w", err)
	}
	if want := ms[len(ms)-1].version; max == nil || *max < want {
		return fmt.Errorf("schema not applied: want version %d", want)
	}
	return nil
}

// ReviewRuns counts finished review jobs of one MR head (tests and the
// load script check that a head is reviewed once).
func ReviewRuns(ctx context.Context, pool *pgxpool.Pool, job review.Job) (int, error) {
	var n int
	err := pool.QueryRow(ctx, `SELECT count(*) FROM pgai_review_run WHERE project_id = $1 AND mr_iid = $2 AND head_sha = $3`,
		job.ProjectID, job.MRIID, job.HeadSHA).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count review runs: %w", err)
	}
	return n, nil
}
