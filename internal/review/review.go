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
	// Parsed are files already read and parsed (e.g. standard input); they
	// are checked after the files of Paths or Sources.
	Parsed []*sqlparse.File
	// Sources are in-memory files (used instead of Paths when set).
	Sources []Source
	// Changed, when set, limits the report to these paths (relative, as in
	// Sources): the other files are read only for ordering and context.
	Changed []string
	// Added, when set, lists the files the change adds (paths as in
	// Changed): an added file that sorts before an existing one gets a
	// non-linear-history finding. Existing files must be among the Paths
	// or Sources for this to be seen.
	Added []string
	// Config holds parse options and rule settings; nil means defaults.
	Config *config.Config
	// Experimenter, when set, measures the migrations on a clone.
	Experimenter Experimenter
	// Commit is the reviewed commit, for the report.
	Commit string
	// OnFile, when set, receives each reported file with its findings as
	// soon as it is checked, and the report keeps only their counts: a
	// caller that prints as it goes then holds no findings in memory.
	// It is ignored when an Experimenter is set (the experiment needs
	// all findings at the end).
	OnFile func(report.File, []checks.Finding) error

	rel func(string) string // maps scratch paths of Sources back
}

// Run reviews the migrations of a request. Files are parsed concurrently
// and checked as a stream in the order they run; unless an experiment
// needs them afterwards, each parsed file is dropped once checked, so
// memory does not grow with the size of the migration set.
func Run(ctx context.Context, req Request) (*report.Report, error) {
	cfg := req.Config
	if cfg == nil {
		var err error
		if cfg, err = config.Load(""); err != nil {
			return nil, err
		}
	}
	paths := req.Paths
	if len(req.Sources) > 0 {
		dir, err := writeSources(req.Sources)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		paths = []string{dir}
		base := dir
		req.rel = func(p string) string {
			if rel, err := filepath.Rel(base, p); err == nil {
				return filepath.ToSlash(rel)
			}
			return p
		}
	}
	keep := map[string]bool{}
	for _, p := range req.Changed {
		keep[filepath.ToSlash(filepath.Clean(p))] = true
	}
	added := map[string]bool{}
	for _, p := range req.Added {
		added[filepath.ToSlash(filepath.Clean(p))] = true
	}
	stream := req.OnFile != nil && req.Experimenter == nil
	var counts report.Summary
	type seen struct{ path, framework string }
	var newFiles []seen // added files not yet followed by an existing one
	var (
		runner   = checks.NewRunner(cfg.Settings)
		files    []report.File
		findings []checks.Finding
		parsed   []*sqlparse.File // kept only for the experiment
	)
	visit := func(f *sqlparse.File) error {
		norm := filepath.ToSlash(filepath.Clean(f.Path))
		if len(added) > 0 {
			if added[norm] {
				newFiles = append(newFiles, seen{f.Path, string(f.Framework)})
			} else if f.Analysed {
				for _, n := range newFiles {
					if fd, ok := checks.NonLinearHistory(n.path, n.framework, f.Path, cfg.Settings.FailOn); ok && ruleOn(cfg, fd.Rule) {
						if sev, ok := cfg.Settings.Severity[fd.Rule]; ok {
							fd.Severity, fd.Blocking = sev, sev >= cfg.Settings.FailOn
						}
						findings = append(findings, fd)
					}
				}
				newFiles = nil
			}
		}
		if len(keep) > 0 && !keep[norm] {
			runner.Learn(f) // unchanged: not reported, but its schema counts
			return nil
		}
		rf := report.FileOf(f)
		files = append(files, rf)
		found := runner.File(f)
		if stream {
			counts.Add(found)
			return req.OnFile(rf, found)
		}
		findings = append(findings, found...)
		if req.Experimenter != nil {
			parsed = append(parsed, f)
		}
		return nil
	}
	var err error
	if len(paths) > 0 {
		err = sqlparse.Each(ctx, paths, cfg.Parse, func(f *sqlparse.File) error {
			if req.rel != nil {
				f.Path = req.rel(f.Path)
				for _, st := range f.Statements {
					if st.Err != nil {
						st.Err.Path = f.Path
					}
				}
			}
			return visit(f)
		})
	}
	for _, f := range req.Parsed {
		if err != nil {
			break
		}
		err = visit(f)
	}
	if err != nil {
		return nil, err
	}
	var measurements []dblab.Measurement
	if req.Experimenter != nil && len(parsed) > 0 {
		m, merged, err := req.Experimenter.Experiment(ctx, parsed, findings)
		if err != nil {
			return nil, fmt.Errorf("clone experiment: %w", err)
		}
		measurements, findings = m, merged
		for i := range findings {
			findings[i].Blocking = findings[i].Severity >= cfg.Settings.FailOn
		}
	}
	if stream && len(findings) > 0 {
		// non-linear-history findings found after their file went out
		counts.Add(findings)
		if err := req.OnFile(report.File{}, findings); err != nil {
			return nil, err
		}
		findings = nil
	}
	rep := report.Build(files, findings, measurements)
	if stream {
		rep.Summary.Errors, rep.Summary.Warnings, rep.Summary.Infos, rep.Summary.Blocking = counts.Errors, counts.Warnings, counts.Infos, counts.Blocking
	}
	rep.PGVersion = cfg.Settings.PGVersion.String()
	rep.Commit = req.Commit
	return rep, nil
}

// ruleOn reports whether the configuration leaves a rule enabled.
func ruleOn(cfg *config.Config, id string) bool {
	return !cfg.Settings.Disabled[id]
}

// writeSources writes in-memory files to a scratch directory, so that they
// are discovered and ordered exactly as files on disk. The caller removes
// the directory.
func writeSources(srcs []Source) (string, error) {
	dir, err := os.MkdirTemp("", "pgai-review-")
	if err != nil {
		return "", fmt.Errorf("scratch dir: %w", err)
	}
	for _, s := range srcs {
		rel := filepath.Clean(filepath.FromSlash(s.Path))
		if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			os.RemoveAll(dir)
			return "", fmt.Errorf("source path %q escapes the repository", s.Path)
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("scratch dir: %w", err)
		}
		if err := os.WriteFile(p, s.Content, 0o644); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("scratch file: %w", err)
		}
	}
	return dir, nil
}
