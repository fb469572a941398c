package mrreview

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing/fstest"

	"golang.org/x/sync/errgroup"

	"gitlab.com/pgai/reviewer/internal/config"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// Source is the repository at the reviewed commit: a checkout, or the
// project read through the GitLab API.
type Source interface {
	// ReadFile reads one file; the error matches fs.ErrNotExist or
	// gitlab.ErrNotFound when there is none.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Snapshot returns the repository as a file system (repository
	// paths), holding at least the files under dirs, recursively, that
	// keep accepts, and the named files that exist. Dirs that do not
	// exist are left out.
	Snapshot(ctx context.Context, dirs, files []string, keep func(string) bool) (fs.FS, error)
}

// Checkout is a working tree on disk (CI): the whole repository at the
// checked-out commit.
type Checkout string

// ReadFile implements Source.
func (c Checkout) ReadFile(_ context.Context, p string) ([]byte, error) {
	p = path.Clean(filepath.ToSlash(p))
	if !fs.ValidPath(p) {
		return nil, fmt.Errorf("%s: path escapes the checkout", p)
	}
	return fs.ReadFile(os.DirFS(string(c)), p)
}

// Snapshot implements Source: the checkout is already complete.
func (c Checkout) Snapshot(context.Context, []string, []string, func(string) bool) (fs.FS, error) {
	return os.DirFS(string(c)), nil
}

// BlobCache keeps file contents by git blob id, so that a project's
// migration history is fetched from GitLab once, not on every push.
// Blob ids name contents, so entries never go stale.
type BlobCache interface {
	// Blobs returns the cached contents of those ids it has.
	Blobs(ctx context.Context, ids []string) (map[string][]byte, error)
	// PutBlobs stores contents by id.
	PutBlobs(ctx context.Context, blobs map[string][]byte) error
}

// GitLabTree reads a project's files at a commit through the API: the
// tree listing (one call per 100 files) and each blob the cache does not
// hold, by its id, a few at a time.
type GitLabTree struct {
	API       RepositoryAPI
	ProjectID int64
	SHA       string
	// Cache, when set, holds contents by blob id.
	Cache BlobCache
	// Concurrency bounds the raw-file requests in flight (default 8).
	Concurrency int
	// MaxFiles bounds the files a snapshot reads (default 20,000).
	MaxFiles int
	Logger   *slog.Logger
}

// ReadFile implements Source.
func (g GitLabTree) ReadFile(ctx context.Context, p string) ([]byte, error) {
	return g.API.RawFile(ctx, g.ProjectID, p, g.SHA)
}

// Snapshot implements Source.
func (g GitLabTree) Snapshot(ctx context.Context, dirs, files []string, keep func(string) bool) (fs.FS, error) {
	blobs := map[string]string{} // path -> blob id
	for _, dir := range dirs {
		listDir := dir
		if listDir == "." {
			listDir = ""
		}
		list, err := g.API.Tree(ctx, g.ProjectID, listDir, g.SHA, true)
		if errors.Is(err, gitlab.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		for _, b := range list {
			if keep(b.Path) {
				blobs[b.Path] = b.SHA
			}
		}
	}
	limit := g.MaxFiles
	if limit <= 0 {
		limit = 20000
	}
	if len(blobs) > limit {
		return nil, permanentError{fmt.Errorf("the migration paths hold %d files, over the limit of %d: set `paths` in %s to the migration directories", len(blobs), limit, config.FileName)}
	}
	ids := make([]string, 0, len(blobs))
	for _, id := range blobs {
		ids = append(ids, id)
	}
	content := map[string][]byte{}
	if g.Cache != nil && len(ids) > 0 {
		cached, err := g.Cache.Blobs(ctx, ids)
		if err != nil {
			g.log().WarnContext(ctx, "blob cache unavailable; fetching every file", "err", err)
		}
		for id, b := range cached {
			content[id] = b
		}
	}
	paths := make([]string, 0, len(blobs))
	for p, id := range blobs {
		if _, ok := content[id]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	fetched := map[string][]byte{}
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	n := g.Concurrency
	if n <= 0 {
		n = 8
	}
	eg.SetLimit(n)
	for _, p := range paths {
		eg.Go(func() error {
			b, err := g.API.RawBlob(ectx, g.ProjectID, blobs[p])
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
			mu.Lock()
			fetched[blobs[p]] = b
			mu.Unlock()
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if g.Cache != nil && len(fetched) > 0 {
		if err := g.Cache.PutBlobs(ctx, fetched); err != nil {
			g.log().WarnContext(ctx, "store blobs in the cache", "err", err)
		}
	}
	for id, b := range fetched {
		content[id] = b
	}
	out := fstest.MapFS{}
	for p, id := range blobs {
		out[p] = &fstest.MapFile{Data: content[id], Mode: 0o644}
	}
	for _, p := range files {
		if _, ok := out[p]; ok {
			continue
		}
		b, err := g.API.RawFile(ctx, g.ProjectID, p, g.SHA)
		if errors.Is(err, gitlab.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		out[p] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	g.log().DebugContext(ctx, "snapshot read", "files", len(blobs), "fetched", len(fetched), "cached", len(blobs)-len(paths))
	return out, nil
}

func (g GitLabTree) log() *slog.Logger {
	if g.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Logger
}

// isContextFile says which files of the migration directories a review
// reads: SQL files, sqitch plans, Flyway script configurations and
// diesel's per-migration metadata.toml.
func isContextFile(p string) bool {
	base := path.Base(p)
	return strings.EqualFold(path.Ext(p), ".sql") || base == "sqitch.plan" || strings.HasSuffix(base, ".sql.conf") || base == "metadata.toml"
}

// projectFiles are the files outside the migration directories that the
// parser reads to know a framework: a Cargo.toml (sqlx, diesel) in a
// migration directory or up to three levels above it.
func projectFiles(dirs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		for range 4 {
			p := path.Join(d, "Cargo.toml")
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
			if d == "." {
				break
			}
			d = path.Dir(d)
		}
	}
	return out
}

func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, gitlab.ErrNotFound)
}

type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// loadConfig reads .pgai.yml at the reviewed commit; defaults when absent.
func loadConfig(ctx context.Context, src Source) (*config.Config, error) {
	b, err := src.ReadFile(ctx, config.FileName)
	if notExist(err) {
		return config.Load("")
	}
	if err != nil {
		return nil, classify(fmt.Errorf("read %s: %w", config.FileName, err))
	}
	cfg, err := config.Parse(config.FileName, b)
	if err != nil {
		return nil, configError{err}
	}
	return cfg, nil
}

// change is one migration the MR adds or modifies.
type change struct {
	diff  gitlab.Diff
	lines gitlab.DiffLines
}

// migrationChanges picks the changed migration files: .sql files, under
// the configured paths when there are any.
func migrationChanges(diffs []gitlab.Diff, cfg *config.Config) []change {
	var out []change
	for _, d := range diffs {
		if d.DeletedFile || !IsMigration(d.NewPath, cfg) {
			continue
		}
		out = append(out, change{diff: d, lines: gitlab.ParseDiff(d.Diff)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].diff.NewPath < out[j].diff.NewPath })
	return out
}

// IsMigration reports whether a repository path is a migration to review.
func IsMigration(p string, cfg *config.Config) bool {
	if !strings.EqualFold(path.Ext(p), ".sql") {
		return false
	}
	if cfg == nil || len(cfg.Paths) == 0 {
		return true
	}
	for _, dir := range cfg.Paths {
		dir = cleanDir(dir)
		if dir == "." || p == dir || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

func cleanDir(dir string) string {
	d := strings.Trim(path.Clean(filepath.ToSlash(dir)), "/")
	if d == "" {
		return "."
	}
	return d
}

// ContextDirs are the directories whose every migration a review reads,
// as `reviewer check` would be run on them: the configured paths, or else
// the directories that order the changed migrations (sqlparse.MigrationDir:
// a sqitch project's for its scripts, the parent of diesel and Prisma
// migration directories).
func ContextDirs(cfg *config.Config, changed []string) []string {
	set := map[string]bool{}
	if cfg != nil && len(cfg.Paths) > 0 {
		for _, p := range cfg.Paths {
			set[cleanDir(p)] = true
		}
	} else {
		for _, p := range changed {
			set[sqlparse.MigrationDir(p)] = true
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Tree is what ReviewTree reviews: the changed migrations of a repository
// at one commit, with every migration of their directories as context.
type Tree struct {
	Source Source
	Config *config.Config
	// Changed and Added are repository paths of the changed (added or
	// modified) migrations and of the added ones.
	Changed, Added []string
	Commit         string
	Experimenter   review.Experimenter
}

// ReviewTree reviews the changed migrations of a tree exactly as
// `reviewer check` does on the same tree: every migration of the context
// directories is read, in the order its tool runs them, and the findings
// of the changed files are reported.
func ReviewTree(ctx context.Context, t Tree) (*report.Report, error) {
	if len(t.Changed) == 0 {
		rep := report.New(nil, nil, nil)
		rep.Commit = t.Commit
		return rep, nil
	}
	dirs := ContextDirs(t.Config, t.Changed)
	named := projectFiles(dirs)
	if t.Config.Schema != "" {
		named = append(named, t.Config.Schema)
	}
	fsys, err := t.Source.Snapshot(ctx, dirs, named, isContextFile)
	if err != nil {
		return nil, classify(err)
	}
	var paths []string
	for _, d := range dirs {
		if _, err := fs.Stat(fsys, d); err == nil {
			paths = append(paths, d)
		}
	}
	if len(paths) == 0 {
		return nil, configError{fmt.Errorf("none of the migration directories (%s) is in the repository at %s", strings.Join(dirs, ", "), short(t.Commit))}
	}
	req := review.Request{FS: fsys, Paths: paths, Changed: t.Changed, Added: t.Added, Config: t.Config,
		Experimenter: t.Experimenter, Commit: t.Commit, Schema: t.Config.Schema}
	if req.Schema != "" {
		if _, err := fs.Stat(fsys, req.Schema); err != nil {
			return nil, configError{fmt.Errorf("schema file %s (from %s) is not in the repository at %s", req.Schema, config.FileName, short(t.Commit))}
		}
	}
	rep, err := review.Run(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("review %d changed migrations: %w", len(t.Changed), err)
	}
	return rep, nil
}
