// Package review is the review core: it reads migrations, runs the static
// rules and, when a clone provider is configured, the clone experiments,
// and returns a report. It does not know whether it was called from a
// webhook, a slash command, a CI job or the terminal.
package review

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"testing/fstest"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/config"
	"gitlab.com/pgai/reviewer/internal/livecat"
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
	// Sources are in-memory files (used instead of Paths and FS when
	// set).
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
	// FS, when set, holds the files: Paths are then paths in it
	// (slash-separated, relative to its root), as are Changed and Added.
	// A merge request's files fetched from GitLab, a checkout or a folder
	// are all reviewed this way, under their repository paths.
	FS fs.FS
	// Schema, when set, is a schema file (pg_dump output such as
	// structure.sql, or plain DDL) read before the migrations: the
	// schema it declares is known to the rules, nothing in it is
	// reported. A path in FS when FS is set.
	Schema string
	// Schemas are more schema files of the same kind (--schema,
	// repeatable; .pgai.yml schema: as a list), read after Schema in
	// order.
	Schemas []string
	// Live, when set, is the schema of a live database (--schema-dsn,
	// read by internal/livecat), read after the schema files: its
	// tables, and their sizes for size-aware rules (checks.Table.Stats).
	Live *livecat.Snapshot
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
		fsys, err := sourcesFS(req.Sources)
		if err != nil {
			return nil, err
		}
		req.FS, paths = fsys, []string{"."}
	}
	if req.FS != nil {
		cfg = withFS(cfg, req.FS)
		if len(paths) == 0 {
			paths = []string{"."}
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
	learned := 0
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
				// An existing file run after an added one of its directory
				// (migration tools order the files of one directory).
				rest := newFiles[:0]
				for _, n := range newFiles {
					if path.Dir(filepath.ToSlash(n.path)) != path.Dir(norm) {
						rest = append(rest, n)
						continue
					}
					if fd, ok := checks.NonLinearHistory(n.path, n.framework, f.Path, cfg.Settings.FailOn); ok && cfg.Settings.Apply(&fd) {
						findings = append(findings, fd)
					}
				}
				newFiles = rest
			}
		}
		if len(keep) > 0 && !keep[norm] {
			runner.Learn(f) // unchanged: not reported, but its schema counts
			learned++
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
	if req.Schema != "" {
		if err := learnSchema(cfg, runner, req.Schema); err != nil {
			return nil, err
		}
	}
	for _, p := range req.Schemas {
		if p == req.Schema {
			continue
		}
		if err := learnSchema(cfg, runner, p); err != nil {
			return nil, err
		}
	}
	if req.Live != nil {
		runner.Learn(parseSchema("(schema of the live database)", []byte(req.Live.DDL), cfg))
		for _, st := range req.Live.Stats {
			runner.Catalog().SetStats(&pg_query.RangeVar{Schemaname: st.Schema, Relname: st.Table}, st.TableStats)
		}
	}
	var err error
	if len(paths) > 0 {
		err = sqlparse.Each(ctx, paths, cfg.Parse, func(f *sqlparse.File) error {
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
	var notMeasured string
	if req.Experimenter != nil && len(parsed) > 0 {
		m, merged, err := req.Experimenter.Experiment(ctx, parsed, findings)
		measurements = m
		switch {
		case err != nil && ctx.Err() != nil:
			// Interrupted (SIGINT, SIGTERM, a canceled job): the static
			// report stands; what ran is listed, the rest marked.
			notMeasured = "interrupted: not measured"
		case err != nil:
			// No clone, or the run could not go on: the static findings
			// decide the gate, and the report says why nothing (more) was
			// measured.
			notMeasured = "not measured: " + err.Error()
		default:
			findings = cfg.Settings.FinishMeasured(parsed, merged)
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
	rep.NotMeasured = notMeasured
	if stream {
		rep.Summary.Errors, rep.Summary.Warnings, rep.Summary.Infos, rep.Summary.Blocking = counts.Errors, counts.Warnings, counts.Infos, counts.Blocking
	}
	rep.Summary.Context = learned
	rep.PGVersion = cfg.Settings.PGVersion.String()
	rep.Commit = req.Commit
	return rep, nil
}

// sourcesFS holds in-memory files as a file system, under their paths.
func sourcesFS(srcs []Source) (fs.FS, error) {
	m := fstest.MapFS{}
	for _, src := range srcs {
		p := path.Clean(filepath.ToSlash(src.Path))
		if !fs.ValidPath(p) || p == "." {
			return nil, fmt.Errorf("source path %q escapes the repository", src.Path)
		}
		m[p] = &fstest.MapFile{Data: src.Content, Mode: 0o644}
	}
	return m, nil
}

// withFS returns a copy of cfg whose parser reads from fsys.
func withFS(cfg *config.Config, fsys fs.FS) *config.Config {
	c := *cfg
	c.Parse.FS = fsys
	return &c
}

// learnSchema parses the baseline schema file and teaches its schema to
// the runner.
func learnSchema(cfg *config.Config, runner *checks.Runner, p string) error {
	var b []byte
	var err error
	if cfg.Parse.FS != nil {
		b, err = fs.ReadFile(cfg.Parse.FS, p)
	} else {
		b, err = os.ReadFile(p)
	}
	if err != nil {
		return fmt.Errorf("read schema file: %w", err)
	}
	runner.Learn(parseSchema(p, b, cfg))
	return nil
}

// parseSchema parses a schema file for the catalog only. It is read as
// plain SQL whatever it contains (a dump may quote a goose annotation in a
// function body), whatever its size (structure.sql files of large
// applications pass the migration size limit), and with psql
// meta-commands blanked: pg_dump since 17.6, 16.10, 15.14, 14.19 and 13.22
// writes \restrict and \unrestrict lines, and a dump may hold \connect.
func parseSchema(p string, b []byte, cfg *config.Config) *sqlparse.File {
	opts := cfg.Parse
	opts.Framework = sqlparse.FrameworkSQL
	opts.AssumeInTransaction = false
	opts.MaxFileSize = 1 << 40
	return sqlparse.ParseFile(p, blankMetaCommands(b), opts)
}

// blankMetaCommands replaces lines that start with a backslash (psql
// meta-commands) with blanks, in a copy when there is one.
func blankMetaCommands(b []byte) []byte {
	var out []byte
	for start := 0; start < len(b); {
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += start
		}
		if start < len(b) && b[start] == '\\' {
			if out == nil {
				out = append([]byte(nil), b...)
			}
			for i := start; i < end; i++ {
				out[i] = ' '
			}
		}
		start = end + 1
	}
	if out == nil {
		return b
	}
	return out
}
