package archive

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"gitlab.com/pgai/reviewer/internal/pgmigrate"
	"io/fs"
	"log/slog"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/report"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey serializes Migrate across replicas ("pgaiarch").
const migrateLockKey = 0x7067616961726368

// Migrate creates or updates the archive's tables. It is safe to run from
// several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("archive migrations: %w", err)
	}
	return pgmigrate.Apply(ctx, pool, pgmigrate.Set{Name: "archive", FS: sub, Table: "pgai_archive_schema", Lock: migrateLockKey,
		Applied: func(ctx context.Context, name string) {
			log.InfoContext(ctx, "applied archive migration", "name", name)
		}})
}

// Store keeps reviews and experiments in PostgreSQL. Migrate must have run.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// SaveReview stores a review, replacing an earlier one of the same head,
// together with its clone run when the report has measurements.
func (s *Store) SaveReview(ctx context.Context, r *Review) error {
	if r.ProjectID == 0 || r.MRIID == 0 || r.HeadSHA == "" {
		return errors.New("save review: project, MR and commit are required")
	}
	verdict := r.Verdict
	if verdict == "" {
		verdict = VerdictOf(r.Report)
	}
	var rep []byte
	var findings, blocking int
	if r.Report != nil {
		var b strings.Builder
		if err := report.WriteJSON(&b, r.Report); err != nil {
			return fmt.Errorf("save review: encode report: %w", err)
		}
		rep = []byte(b.String())
		findings, blocking = len(r.Report.Findings), r.Report.Summary.Blocking
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO pgai_archive_review
			(project_id, project_path, mr_iid, mr_title, mr_url, head_sha, verdict, findings, blocking, report, markdown, search)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, to_tsvector('simple', $12))
			ON CONFLICT (project_id, mr_iid, head_sha) DO UPDATE SET
				project_path = EXCLUDED.project_path, mr_title = EXCLUDED.mr_title, mr_url = EXCLUDED.mr_url,
				verdict = EXCLUDED.verdict, findings = EXCLUDED.findings, blocking = EXCLUDED.blocking,
				report = EXCLUDED.report, markdown = EXCLUDED.markdown, search = EXCLUDED.search, updated_at = now()
			RETURNING id`,
			r.ProjectID, r.ProjectPath, r.MRIID, r.MRTitle, r.MRURL, r.HeadSHA, verdict, findings, blocking,
			rep, r.Markdown, searchText(r)).Scan(&id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM pgai_archive_migration WHERE review_id = $1`, id); err != nil {
			return err
		}
		for i, m := range r.Migrations {
			if _, err := tx.Exec(ctx, `INSERT INTO pgai_archive_migration (review_id, ord, path, body) VALUES ($1, $2, $3, $4)`,
				id, i, m.Path, m.Text); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM pgai_archive_experiment WHERE review_id = $1`, id); err != nil {
			return err
		}
		if r.Report == nil || len(r.Report.Measurements) == 0 {
			return nil
		}
		e := &Experiment{ProjectID: r.ProjectID, ProjectPath: r.ProjectPath, MRIID: r.MRIID, HeadSHA: r.HeadSHA,
			Title: fmt.Sprintf("Clone run of the review of !%d at %s", r.MRIID, shortSHA(r.HeadSHA)), Source: SourceReview,
			Files: r.Migrations, Measurements: r.Report.Measurements}
		for _, m := range e.Measurements {
			e.DurationMS += m.DurationMS
		}
		_, err = insertExperiment(ctx, tx, e, &id)
		return err
	})
	if err != nil {
		return fmt.Errorf("save review of project %d !%d at %s: %w", r.ProjectID, r.MRIID, shortSHA(r.HeadSHA), err)
	}
	return nil
}

// SaveExperiment stores an experiment that is not a review's clone run
// and returns its ID.
func (s *Store) SaveExperiment(ctx context.Context, e *Experiment) (int64, error) {
	if e.Source == "" {
		e.Source = SourceCLI
	}
	id, err := insertExperiment(ctx, s.pool, e, nil)
	if err != nil {
		return 0, fmt.Errorf("save experiment: %w", err)
	}
	return id, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func insertExperiment(ctx context.Context, q querier, e *Experiment, reviewID *int64) (int64, error) {
	files := e.Files
	if files == nil {
		files = []Migration{}
	}
	ms := e.Measurements
	if ms == nil {
		ms = []dblab.Measurement{}
	}
	fj, err := json.Marshal(files)
	if err != nil {
		return 0, err
	}
	mj, err := json.Marshal(ms)
	if err != nil {
		return 0, err
	}
	var id int64
	err = q.QueryRow(ctx, `INSERT INTO pgai_archive_experiment
		(review_id, project_id, project_path, mr_iid, head_sha, title, source, files, measurements, duration_ms, stopped)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		reviewID, e.ProjectID, e.ProjectPath, e.MRIID, e.HeadSHA, e.Title, e.Source, fj, mj, e.DurationMS, e.Stopped).Scan(&id)
	return id, err
}

// searchText is what full-text search matches: project, title, commit,
// findings and the migrations' text.
func searchText(r *Review) string {
	var b strings.Builder
	for _, s := range []string{r.ProjectPath, r.MRTitle, r.HeadSHA, fmt.Sprintf("!%d", r.MRIID)} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if r.Report != nil {
		for _, f := range r.Report.Findings {
			b.WriteString(f.Rule + " " + f.Path + " " + f.Message + "\n")
		}
	}
	for _, m := range r.Migrations {
		b.WriteString(m.Path + "\n" + m.Text + "\n")
	}
	const max = 512 << 10 // to_tsvector's input stays well below its 1 MB limit
	if b.Len() > max {
		s := b.String()[:max]
		return strings.ToValidUTF8(s, "")
	}
	return b.String()
}

// prefixQuery turns free text into a tsquery where every word must match a
// word prefix ("orders idx" → "orders:* & idx:*"); words are letters,
// digits and underscores only, so the query cannot be malformed.
func prefixQuery(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for i, w := range words {
		words[i] = strings.ToLower(w) + ":*"
	}
	return strings.Join(words, " & ")
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// ReviewFilter selects reviews to list.
type ReviewFilter struct {
	// Project is a project path; "" for all.
	Project string
	// Verdict is one of the Verdict constants; "" for all.
	Verdict string
	// Query is full-text search over titles, findings and migrations.
	Query string
	// Hide leaves out private projects.
	Hide   Visibility
	Limit  int
	Offset int
}

// where builds the filter's WHERE clause; args continue from args.
func (v Visibility) where(col string, idCol string, args *[]any) string {
	var conds []string
	if len(v.PrivateIDs) > 0 {
		*args = append(*args, v.PrivateIDs)
		conds = append(conds, fmt.Sprintf("%s <> ALL($%d)", idCol, len(*args)))
	}
	for _, p := range v.PrivatePaths {
		*args = append(*args, p, p+"/%")
		conds = append(conds, fmt.Sprintf("lower(%s) <> $%d AND lower(%s) NOT LIKE $%d", col, len(*args)-1, col, len(*args)))
	}
	return strings.Join(conds, " AND ")
}

// Reviews lists reviews, newest first.
func (s *Store) Reviews(ctx context.Context, f ReviewFilter) ([]ReviewSummary, error) {
	var args []any
	conds := []string{"true"}
	if f.Project != "" {
		args = append(args, f.Project)
		conds = append(conds, fmt.Sprintf("r.project_path = $%d", len(args)))
	}
	if f.Verdict != "" {
		args = append(args, f.Verdict)
		conds = append(conds, fmt.Sprintf("r.verdict = $%d", len(args)))
	}
	if q := prefixQuery(f.Query); q != "" {
		args = append(args, q)
		conds = append(conds, fmt.Sprintf("r.search @@ to_tsquery('simple', $%d)", len(args)))
	}
	if w := f.Hide.where("r.project_path", "r.project_id", &args); w != "" {
		conds = append(conds, w)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	args = append(args, limit, max(f.Offset, 0))
	rows, err := s.pool.Query(ctx, `SELECT r.project_id, r.mr_iid, r.head_sha, r.project_path, r.mr_title, r.verdict,
			r.findings, r.blocking, r.updated_at, coalesce(e.id, 0)
		FROM pgai_archive_review r LEFT JOIN pgai_archive_experiment e ON e.review_id = r.id
		WHERE `+strings.Join(conds, " AND ")+fmt.Sprintf(` ORDER BY r.updated_at DESC, r.id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)),
		args...)
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReviewSummary, error) {
		var r ReviewSummary
		err := row.Scan(&r.ProjectID, &r.MRIID, &r.HeadSHA, &r.ProjectPath, &r.MRTitle, &r.Verdict,
			&r.Findings, &r.Blocking, &r.UpdatedAt, &r.ExperimentID)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	return out, nil
}

// Projects lists the paths of the projects with stored reviews, except
// hidden ones.
func (s *Store) Projects(ctx context.Context, hide Visibility) ([]string, error) {
	var args []any
	where := "true"
	if w := hide.where("project_path", "project_id", &args); w != "" {
		where = w
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT project_path FROM pgai_archive_review WHERE `+where+` ORDER BY 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return out, nil
}

// Review returns one review with its migrations.
func (s *Store) Review(ctx context.Context, k Key) (*Review, error) {
	r := &Review{Key: k}
	var id int64
	var rep []byte
	err := s.pool.QueryRow(ctx, `SELECT r.id, r.project_path, r.mr_title, r.mr_url, r.verdict, r.report, r.markdown,
			r.created_at, r.updated_at, coalesce(e.id, 0)
		FROM pgai_archive_review r LEFT JOIN pgai_archive_experiment e ON e.review_id = r.id
		WHERE r.project_id = $1 AND r.mr_iid = $2 AND r.head_sha = $3`, k.ProjectID, k.MRIID, k.HeadSHA).
		Scan(&id, &r.ProjectPath, &r.MRTitle, &r.MRURL, &r.Verdict, &rep, &r.Markdown, &r.CreatedAt, &r.UpdatedAt, &r.ExperimentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read review: %w", err)
	}
	if rep != nil {
		r.Report = &report.Report{}
		if err := json.Unmarshal(rep, r.Report); err != nil {
			return nil, fmt.Errorf("read review %d: report: %w", id, err)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT path, body FROM pgai_archive_migration WHERE review_id = $1 ORDER BY ord`, id)
	if err != nil {
		return nil, fmt.Errorf("read review %d: migrations: %w", id, err)
	}
	r.Migrations, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Migration, error) {
		var m Migration
		err := row.Scan(&m.Path, &m.Text)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("read review %d: migrations: %w", id, err)
	}
	return r, nil
}

// Experiments lists experiments, newest first, except hidden ones.
func (s *Store) Experiments(ctx context.Context, hide Visibility, limit, offset int) ([]ExperimentSummary, error) {
	var args []any
	where := "true"
	if w := hide.where("project_path", "project_id", &args); w != "" {
		where = w
	}
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	args = append(args, limit, max(offset, 0))
	rows, err := s.pool.Query(ctx, `SELECT id, project_id, project_path, mr_iid, title, source,
			jsonb_array_length(measurements), duration_ms, created_at
		FROM pgai_archive_experiment WHERE `+where+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)),
		args...)
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ExperimentSummary, error) {
		var e ExperimentSummary
		err := row.Scan(&e.ID, &e.ProjectID, &e.ProjectPath, &e.MRIID, &e.Title, &e.Source, &e.Statements, &e.DurationMS, &e.CreatedAt)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	return out, nil
}

// Experiment returns one experiment.
func (s *Store) Experiment(ctx context.Context, id int64) (*Experiment, error) {
	e := &Experiment{ID: id}
	var fj, mj []byte
	var rk struct {
		project, iid *int64
		sha          *string
	}
	err := s.pool.QueryRow(ctx, `SELECT e.project_id, e.project_path, e.mr_iid, e.head_sha, e.title, e.source, e.files,
			e.measurements, e.duration_ms, e.stopped, e.created_at, r.project_id, r.mr_iid, r.head_sha
		FROM pgai_archive_experiment e LEFT JOIN pgai_archive_review r ON r.id = e.review_id WHERE e.id = $1`, id).
		Scan(&e.ProjectID, &e.ProjectPath, &e.MRIID, &e.HeadSHA, &e.Title, &e.Source, &fj, &mj, &e.DurationMS, &e.Stopped,
			&e.CreatedAt, &rk.project, &rk.iid, &rk.sha)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read experiment %d: %w", id, err)
	}
	if rk.project != nil {
		e.Review = &Key{ProjectID: *rk.project, MRIID: *rk.iid, HeadSHA: *rk.sha}
	}
	if err := json.Unmarshal(fj, &e.Files); err != nil {
		return nil, fmt.Errorf("read experiment %d: files: %w", id, err)
	}
	if err := json.Unmarshal(mj, &e.Measurements); err != nil {
		return nil, fmt.Errorf("read experiment %d: measurements: %w", id, err)
	}
	return e, nil
}

// ProjectPaths returns the paths of the projects among ids that have
// stored reviews or experiments (the newest path when a project moved).
func (s *Store) ProjectPaths(ctx context.Context, ids []int64) (map[int64]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (project_id) project_id, project_path FROM (
			SELECT project_id, project_path, updated_at AS at FROM pgai_archive_review WHERE project_id = ANY($1) AND project_path <> ''
			UNION ALL
			SELECT project_id, project_path, created_at FROM pgai_archive_experiment WHERE project_id = ANY($1) AND project_path <> '') p
		ORDER BY project_id, at DESC`, ids)
	if err != nil {
		return nil, fmt.Errorf("project paths: %w", err)
	}
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			rows.Close()
			return nil, fmt.Errorf("project paths: %w", err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("project paths: %w", err)
	}
	return out, nil
}
