package loadtest

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"gitlab.com/pgai/reviewer/internal/pgmigrate"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the advisory lock key held while migrating.
const migrationLock = 7_262_012_001

// ErrNotFound is returned for a run or artifact that does not exist.
var ErrNotFound = errors.New("loadtest: not found")

// Migrate creates or upgrades the benchmark tables. It is idempotent:
// applied versions are recorded in loadtest_schema_migrations, each
// migration runs in its own transaction, under an advisory lock.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("loadtest migrations: %w", err)
	}
	return pgmigrate.Apply(ctx, pool, pgmigrate.Set{Name: "loadtest", FS: sub, Table: "loadtest_schema_migrations", Lock: migrationLock})
}

// Store keeps runs, iterations and artifacts in the reviewer's database.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store on a migrated database.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Origin says who asked for a run (empty for the CLI).
type Origin struct {
	ProjectID   int64  `json:"project_id,omitempty"`
	MRIID       int64  `json:"mr_iid,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

func nullID(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

// Create stores a new run (status running) and sets run.ID.
func (s *Store) Create(ctx context.Context, run *Run, o Origin) error {
	detail, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("store run: %w", err)
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO loadtest_run (name, runner, status, target, server, pipeline_url, project_id, mr_iid, requested_by, detail, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		run.Name, run.Runner, run.Status, run.Target, run.Server, run.PipelineURL, nullID(o.ProjectID), nullID(o.MRIID), o.RequestedBy, detail, run.StartedAt).Scan(&run.ID)
	if err != nil {
		return fmt.Errorf("store run: %w", err)
	}
	return nil
}

// Save writes a run's current state: the run row, its iterations and,
// when dir is set, every file of the run folder that the run lists (run
// files and each iteration's artifacts). Saving again replaces what was
// saved before.
func (s *Store) Save(ctx context.Context, run *Run, dir string) error {
	if run.ID == 0 {
		return errors.New("store run: no id (Create first)")
	}
	res := Analyze(run)
	detail, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("store run %d: %w", run.ID, err)
	}
	results, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("store run %d: %w", run.ID, err)
	}
	var finished *time.Time
	if !run.FinishedAt.IsZero() {
		finished = &run.FinishedAt
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE loadtest_run SET name = $2, runner = $3, status = $4, error = $5, target = $6, server = $7,
			pipeline_url = $8, detail = $9, results = $10, finished_at = $11 WHERE id = $1`,
			run.ID, run.Name, run.Runner, run.Status, run.Error, run.Target, run.Server, run.PipelineURL, detail, results, finished)
		if err != nil {
			return fmt.Errorf("store run %d: %w", run.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("store run %d: %w", run.ID, ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM loadtest_iteration WHERE run_id = $1`, run.ID); err != nil {
			return fmt.Errorf("store run %d: %w", run.ID, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM loadtest_artifact WHERE run_id = $1`, run.ID); err != nil {
			return fmt.Errorf("store run %d: %w", run.ID, err)
		}
		if dir != "" {
			for _, f := range run.Files {
				if err := storeFile(ctx, tx, run.ID, nil, dir, f); err != nil {
					return err
				}
			}
		}
		for _, it := range run.Iterations {
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO loadtest_iteration (run_id, seq, variant, clients, iteration, tps, latency_avg_ms,
				latency_p50_ms, latency_p95_ms, latency_p99_ms, transactions, failed, prepare_s, run_s, collect_s, error, started_at, finished_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
				run.ID, it.Seq, it.Variant, it.Clients, it.Iteration, it.TPS(), it.Latency.AvgMs, it.Latency.P50Ms, it.Latency.P95Ms,
				it.Latency.P99Ms, it.Latency.Transactions, it.Latency.Failed, it.PrepareS, it.RunS, it.CollectS, it.Error,
				it.StartedAt, it.FinishedAt).Scan(&id)
			if err != nil {
				return fmt.Errorf("store iteration %d of run %d: %w", it.Seq, run.ID, err)
			}
			if dir == "" {
				continue
			}
			for _, f := range it.Artifacts {
				if err := storeFile(ctx, tx, run.ID, &id, dir, it.Dir+"/"+f); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func storeFile(ctx context.Context, tx pgx.Tx, runID int64, iterID *int64, dir, rel string) error {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // listed but never written (a failed write is in Missing)
	}
	if err != nil {
		return fmt.Errorf("store artifact %s: %w", rel, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO loadtest_artifact (run_id, iteration_id, path, size, content) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (run_id, path) DO UPDATE SET content = excluded.content, size = excluded.size`, runID, iterID, rel, len(b), b); err != nil {
		return fmt.Errorf("store artifact %s: %w", rel, err)
	}
	return nil
}

// RunSummary is a run's line in a list.
type RunSummary struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Runner      string    `json:"runner"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	Server      string    `json:"server,omitempty"`
	Target      string    `json:"target,omitempty"`
	PipelineURL string    `json:"pipeline_url,omitempty"`
	Origin      Origin    `json:"origin"`
	Iterations  int       `json:"iterations"`
	Artifacts   int       `json:"artifacts"`
	AB          string    `json:"ab,omitempty"`
	Clients     []int     `json:"clients"`
	BestTPS     float64   `json:"best_tps"`
	CreatedAt   time.Time `json:"created_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
}

// ListOptions filter List.
type ListOptions struct {
	// ProjectID and MRIID, when set, keep the runs asked for there.
	ProjectID, MRIID int64
	// Limit is at most 500 (default 50); Offset skips.
	Limit, Offset int
}

// List returns runs, newest first.
func (s *Store) List(ctx context.Context, o ListOptions) ([]RunSummary, error) {
	if o.Limit <= 0 || o.Limit > 500 {
		o.Limit = 50
	}
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.name, r.runner, r.status, r.error, r.server, r.target, r.pipeline_url,
		coalesce(r.project_id, 0), coalesce(r.mr_iid, 0), r.requested_by, r.created_at, r.finished_at,
		coalesce(r.detail #>> '{spec,ab,name}', ''), coalesce(r.detail #> '{spec,workload,clients}', '[]'::jsonb),
		(SELECT count(*) FROM loadtest_iteration i WHERE i.run_id = r.id),
		(SELECT count(*) FROM loadtest_artifact a WHERE a.run_id = r.id),
		coalesce((SELECT max(tps) FROM loadtest_iteration i WHERE i.run_id = r.id AND i.error = ''), 0)
		FROM loadtest_run r
		WHERE ($1 = 0 OR r.project_id = $1) AND ($2 = 0 OR r.mr_iid = $2)
		ORDER BY r.created_at DESC, r.id DESC LIMIT $3 OFFSET $4`, o.ProjectID, o.MRIID, o.Limit, o.Offset)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []RunSummary
	for rows.Next() {
		var r RunSummary
		var fin *time.Time
		var clients []int
		if err := rows.Scan(&r.ID, &r.Name, &r.Runner, &r.Status, &r.Error, &r.Server, &r.Target, &r.PipelineURL,
			&r.Origin.ProjectID, &r.Origin.MRIID, &r.Origin.RequestedBy, &r.CreatedAt, &fin, &r.AB, &clients,
			&r.Iterations, &r.Artifacts, &r.BestTPS); err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		r.Clients = clients
		if fin != nil {
			r.FinishedAt = *fin
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// Get reads a run with its iterations.
func (s *Store) Get(ctx context.Context, id int64) (*Run, error) {
	var detail []byte
	err := s.pool.QueryRow(ctx, `SELECT detail FROM loadtest_run WHERE id = $1`, id).Scan(&detail)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	var run Run
	if err := json.Unmarshal(detail, &run); err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	run.ID = id
	return &run, nil
}

// ArtifactInfo describes a stored file.
type ArtifactInfo struct {
	ID int64 `json:"id"`
	// Seq is the iteration's number, 0 for a run-level file.
	Seq  int    `json:"seq"`
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// Artifacts lists a run's stored files, run files first, then by path.
func (s *Store) Artifacts(ctx context.Context, runID int64) ([]ArtifactInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.id, coalesce(i.seq, 0), a.path, a.size FROM loadtest_artifact a
		LEFT JOIN loadtest_iteration i ON i.id = a.iteration_id WHERE a.run_id = $1 ORDER BY coalesce(i.seq, 0), a.path`, runID)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of run %d: %w", runID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ArtifactInfo])
	if err != nil {
		return nil, fmt.Errorf("list artifacts of run %d: %w", runID, err)
	}
	return out, nil
}

// Artifact reads one stored file by its path in the run folder.
func (s *Store) Artifact(ctx context.Context, runID int64, path string) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT content FROM loadtest_artifact WHERE run_id = $1 AND path = $2`, runID, path).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("run %d: %s: %w", runID, path, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read artifact %s of run %d: %w", path, runID, err)
	}
	return b, nil
}

// Export writes a stored run as a folder: every artifact at its path and
// run.json.
func (s *Store) Export(ctx context.Context, runID int64, dir string) error {
	run, err := s.Get(ctx, runID)
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT path, content FROM loadtest_artifact WHERE run_id = $1 ORDER BY path`, runID)
	if err != nil {
		return fmt.Errorf("export run %d: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var b []byte
		if err := rows.Scan(&p, &b); err != nil {
			return fmt.Errorf("export run %d: %w", runID, err)
		}
		dst, err := safeJoin(dir, p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export run %d: %w", runID, err)
	}
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return fmt.Errorf("export run %d: %w", runID, err)
	}
	return os.WriteFile(filepath.Join(dir, "run.json"), append(b, '\n'), 0o644)
}

// safeJoin joins a stored or imported relative path to dir, refusing
// paths that leave it.
func safeJoin(dir, rel string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("artifact path %q leaves the run folder", rel)
	}
	return filepath.Join(dir, clean), nil
}

// LoadRunDir reads an exported run folder's run.json.
func LoadRunDir(dir string) (*Run, error) {
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return nil, fmt.Errorf("run folder: %w", err)
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, fmt.Errorf("run folder %s: run.json: %w", dir, err)
	}
	return &run, nil
}
