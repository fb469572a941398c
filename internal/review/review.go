// Package review is the review core: it reads migrations, runs the static
// rules and, when a clone provider is configured, the clone experiments,
// and returns a report. It does not know whether it was called from a
// webhook, a slash command, a CI job or the terminal.
package review

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/config"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// Job asks for the review of one merge request at one head commit. The
// queue keys reviews on it, so a re-delivered webhook yields one review.
type Job struct {
	ProjectID int64  `json:"project_id"`
	MRIID     int64  `json:"mr_iid"`
	HeadSHA   string `json:"head_sha"`
}

// Source is a migration file held in memory, e.g. fetched from GitLab.
type Source struct {
	// Path is relative to the repository root, with forward slashes.
	Path    string
	Content []byte
}

// Experimenter runs migrations on a clone and merges what it measured into
// the static findings.
type Experimenter interface {
	Experiment(ctx context.Context, files []*sqlparse.File, static []checks.Finding) ([]dblab.Measurement, []checks.Finding, error)
}

// Request says what to review.
type Request struct {
	// Paths are files or directories on disk.
	Paths []string
	// Sources are in-memory files (used instead of Paths when set).
	Sources []Source
	// Changed, when set, limits the report to these paths (relative, as in
	// Sources): the other files are read only for ordering and context.
	Changed []string
	// Config holds parse options and rule settings; nil means defaults.
	Config *config.Config
	// Experimenter, when set, measures the migrations on a clone.
	Experimenter Experimenter
	// Commit is the reviewed commit, for the report.
	Commit string
}

// Run reviews the migrations of a request.
func Run(ctx context.Context, req Request) (*report.Report, error) {
	cfg := req.Config
	if cfg == nil {
		var err error
		if cfg, err = config.Load(""); err != nil {
			return nil, err
		}
	}
	var (
		files []*sqlparse.File
		err   error
	)
	if len(req.Sources) > 0 {
		files, err = loadSources(ctx, req.Sources, cfg.Parse)
	} else {
		files, err = sqlparse.Load(ctx, req.Paths, cfg.Parse)
	}
	if err != nil {
		return nil, err
	}
	if len(req.Changed) > 0 {
		keep := map[string]bool{}
		for _, p := range req.Changed {
			keep[filepath.ToSlash(filepath.Clean(p))] = true
		}
		var kept []*sqlparse.File
		for _, f := range files {
			if keep[filepath.ToSlash(filepath.Clean(f.Path))] {
				kept = append(kept, f)
			}
		}
		files = kept
	}
	res := checks.Run(files, cfg.Settings)
	findings := res.Findings
	var measurements []dblab.Measurement
	if req.Experimenter != nil && len(files) > 0 {
		m, merged, err := req.Experimenter.Experiment(ctx, files, findings)
		if err != nil {
			return nil, fmt.Errorf("clone experiment: %w", err)
		}
		measurements, findings = m, merged
		for i := range findings {
			findings[i].Blocking = findings[i].Severity >= cfg.Settings.FailOn
		}
	}
	rep := report.New(files, findings, measurements)
	rep.PGVersion = cfg.Settings.PGVersion.String()
	rep.Commit = req.Commit
	return rep, nil
}

// loadSources writes in-memory files to a scratch directory, so that they
// are discovered and ordered exactly as files on disk, and maps the paths
// back.
func loadSources(ctx context.Context, srcs []Source, opts sqlparse.Options) ([]*sqlparse.File, error) {
	dir, err := os.MkdirTemp("", "pgai-review-")
	if err != nil {
		return nil, fmt.Errorf("scratch dir: %w", err)
	}
	defer os.RemoveAll(dir)
	for _, s := range srcs {
		rel := filepath.Clean(filepath.FromSlash(s.Path))
		if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("source path %q escapes the repository", s.Path)
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("scratch dir: %w", err)
		}
		if err := os.WriteFile(p, s.Content, 0o644); err != nil {
			return nil, fmt.Errorf("scratch file: %w", err)
		}
	}
	files, err := sqlparse.Load(ctx, []string{dir}, opts)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if rel, err := filepath.Rel(dir, f.Path); err == nil {
			f.Path = filepath.ToSlash(rel)
			for _, st := range f.Statements {
				if st.Err != nil {
					st.Err.Path = f.Path
				}
			}
		}
	}
	return files, nil
}
