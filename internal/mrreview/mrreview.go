// Package mrreview reviews a GitLab merge request and publishes the
// result on it: it finds the changed migrations in the MR's latest diff
// version, reads them at the head commit, runs the review core, and keeps
// one summary note up to date plus one inline discussion per finding on a
// line the MR adds. Re-runs are idempotent: the summary is found again by
// its hidden marker and edited, discussions carry a hidden fingerprint so
// none is posted twice, and a discussion whose finding is gone gets a short
// reply and is resolved. It also answers /pgai commands.
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
	"time"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/config"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// Hidden markers in the bot's notes.
const (
	SummaryMarker = "<!-- pgai-reviewer:summary -->"
	fpPrefix      = "<!-- pgai-reviewer:fp="
	markerSuffix  = " -->"
)

// FingerprintMarker is the hidden marker of the inline discussion of a
// finding.
func FingerprintMarker(fp string) string { return fpPrefix + fp + markerSuffix }

// fingerprintOf extracts the fingerprint from a note body ("" if none).
func fingerprintOf(body string) string {
	i := strings.Index(body, fpPrefix)
	if i < 0 {
		return ""
	}
	rest := body[i+len(fpPrefix):]
	j := strings.Index(rest, markerSuffix)
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// GitLab is what the reviewer needs from GitLab; *gitlab.Client has it.
type GitLab interface {
	CurrentUser(ctx context.Context) (gitlab.User, error)
	MergeRequest(ctx context.Context, mr gitlab.MR) (gitlab.MergeRequest, error)
	Versions(ctx context.Context, mr gitlab.MR) ([]gitlab.Version, error)
	Diffs(ctx context.Context, mr gitlab.MR) ([]gitlab.Diff, error)
	RawFile(ctx context.Context, projectID int64, path, ref string) ([]byte, error)
	ListFiles(ctx context.Context, projectID int64, dir, ref string) ([]string, error)
	Notes(ctx context.Context, mr gitlab.MR) ([]gitlab.Note, error)
	CreateNoteOnce(ctx context.Context, mr gitlab.MR, body, marker string) (gitlab.Note, error)
	UpdateNote(ctx context.Context, mr gitlab.MR, noteID int64, body string) error
	DeleteNote(ctx context.Context, mr gitlab.MR, noteID int64) error
	Discussions(ctx context.Context, mr gitlab.MR) ([]gitlab.Discussion, error)
	Discussion(ctx context.Context, mr gitlab.MR, discussionID string) (gitlab.Discussion, error)
	CreateDiscussionOnce(ctx context.Context, mr gitlab.MR, body string, pos *gitlab.Position, marker string) (gitlab.Discussion, error)
	ReplyOnce(ctx context.Context, mr gitlab.MR, discussionID, body, marker string) (gitlab.Note, error)
	ResolveDiscussion(ctx context.Context, mr gitlab.MR, discussionID string, resolved bool) error
	AwardEmoji(ctx context.Context, mr gitlab.MR, noteID int64, name string) error
	SetCommitStatus(ctx context.Context, projectID int64, st gitlab.CommitStatus) error
	MemberAccess(ctx context.Context, projectID, userID int64) (gitlab.AccessLevel, error)
}

var _ GitLab = (*gitlab.Client)(nil)

// Files reads repository files at the reviewed commit. Missing files
// return an error matching fs.ErrNotExist or gitlab.ErrNotFound.
type Files interface {
	ReadFile(ctx context.Context, path string) ([]byte, error)
}

// Lister lists the files (not subdirectories) directly in a directory at
// the reviewed commit, as repository paths. Files that implement it let the
// review see the existing migrations that follow an added one, so that a
// migration added out of order gets a non-linear-history finding.
type Lister interface {
	ListFiles(ctx context.Context, dir string) ([]string, error)
}

// GitLabFiles reads files through the API at a commit.
type GitLabFiles struct {
	GitLab    GitLab
	ProjectID int64
	SHA       string
}

// ReadFile implements Files.
func (g GitLabFiles) ReadFile(ctx context.Context, p string) ([]byte, error) {
	return g.GitLab.RawFile(ctx, g.ProjectID, p, g.SHA)
}

// ListFiles implements Lister.
func (g GitLabFiles) ListFiles(ctx context.Context, dir string) ([]string, error) {
	return g.GitLab.ListFiles(ctx, g.ProjectID, dir, g.SHA)
}

// DirFiles reads files from a checkout (CI mode).
type DirFiles string

// ReadFile implements Files.
func (d DirFiles) ReadFile(_ context.Context, p string) ([]byte, error) {
	clean, err := d.local(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(clean)
}

// ListFiles implements Lister.
func (d DirFiles) ListFiles(_ context.Context, dir string) ([]string, error) {
	clean, err := d.local(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(clean)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out, nil
}

func (d DirFiles) local(p string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(p))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s: path escapes the checkout", p)
	}
	return filepath.Join(string(d), clean), nil
}

func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, gitlab.ErrNotFound)
}

// Options configure a Reviewer.
type Options struct {
	GitLab GitLab
	Logger *slog.Logger
	// Experimenter, when set, runs the migrations on a clone.
	Experimenter review.Experimenter
	// MinAccess is the access level needed to run /pgai commands
	// (default Developer).
	MinAccess gitlab.AccessLevel
	// MaxInline caps the inline discussions opened per review (default
	// 25); the rest are in the summary only.
	MaxInline int
	// MaxFiles caps the migrations reviewed per MR (default 300).
	MaxFiles int
	// StatusName is the commit status name (default pgai/migrations).
	StatusName string
	// NoStatus skips commit statuses (CI mode: the job is the status).
	NoStatus bool
}

// Reviewer reviews merge requests and answers commands.
type Reviewer struct {
	o        Options
	log      *slog.Logger
	commands map[string]*Command
}

// New returns a reviewer with the built-in commands registered.
func New(o Options) *Reviewer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MinAccess == 0 {
		o.MinAccess = gitlab.Developer
	}
	if o.MaxInline == 0 {
		o.MaxInline = 25
	}
	if o.MaxFiles == 0 {
		o.MaxFiles = 300
	}
	if o.StatusName == "" {
		o.StatusName = "pgai/migrations"
	}
	r := &Reviewer{o: o, log: o.Logger, commands: map[string]*Command{}}
	r.registerBuiltins()
	return r
}

// permanentError marks errors that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() error   { return e.err }
func (e permanentError) Permanent() bool { return true }

// classify marks GitLab's 4xx answers as permanent.
func classify(err error) error {
	if err == nil || gitlab.Retryable(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return permanentError{err}
}

// Outcomes of Review.
const (
	OutcomeReviewed     = "reviewed"
	OutcomeStale        = "stale"
	OutcomeClosed       = "closed"
	OutcomeNoMigrations = "no-migrations"
	OutcomeConfigError  = "config-error"
)

// Result is what a review run did.
type Result struct {
	Outcome string
	Report  *report.Report
	// NoteURL links the summary note ("" when none was posted).
	NoteURL string
	// Inline counts discussions opened; Resolved those resolved.
	Inline, Resolved int
}

// Review reviews an MR head read through the API (the queue's handler).
func (r *Reviewer) Review(ctx context.Context, job review.Job) (string, error) {
	res, err := r.Run(ctx, job, GitLabFiles{GitLab: r.o.GitLab, ProjectID: job.ProjectID, SHA: job.HeadSHA})
	if err != nil {
		return "", err
	}
	return res.Outcome, nil
}

// change is one migration the MR adds or modifies.
type change struct {
	diff  gitlab.Diff
	lines gitlab.DiffLines
}

// Run reviews the MR at job.HeadSHA, reading files from files, and posts
// the result.
func (r *Reviewer) Run(ctx context.Context, job review.Job, files Files) (*Result, error) {
	start := time.Now()
	mr := gitlab.MR{ProjectID: job.ProjectID, IID: job.MRIID}
	log := r.log.With("project_id", job.ProjectID, "mr_iid", job.MRIID, "sha", job.HeadSHA)
	gl := r.o.GitLab
	m, err := gl.MergeRequest(ctx, mr)
	if err != nil {
		return nil, classify(err)
	}
	if m.State != "opened" {
		log.InfoContext(ctx, "merge request not open; skipping", "state", m.State)
		return &Result{Outcome: OutcomeClosed}, nil
	}
	version, stale, err := r.latestVersion(ctx, mr, job.HeadSHA)
	if err != nil {
		return nil, err
	}
	if stale {
		log.InfoContext(ctx, "a newer push exists; skipping", "latest", version.HeadSHA)
		return &Result{Outcome: OutcomeStale}, nil
	}
	diffs, err := gl.Diffs(ctx, mr)
	if err != nil {
		return nil, classify(err)
	}
	cfg, cfgErr := r.loadConfig(ctx, files)
	if cfgErr != nil && !notExist(cfgErr) && !errors.As(cfgErr, new(configError)) {
		return nil, cfgErr
	}
	changes := migrationChanges(diffs, cfg)
	if cfgErr == nil && len(changes) == 0 {
		// Nothing to review. An earlier push may have had migrations:
		// then say so in the summary, and resolve the old threads.
		if _, found, err := r.findSummary(ctx, mr); err != nil || !found {
			log.DebugContext(ctx, "no migrations in this MR")
			return &Result{Outcome: OutcomeNoMigrations}, classify(err)
		}
	}
	r.setStatus(ctx, job, "pending", m.WebURL, "reviewing migrations")
	var rep *report.Report
	var body string
	if cfgErr != nil {
		body = configErrorBody(cfgErr, job.HeadSHA)
	} else {
		rep, err = r.review(ctx, job, files, cfg, changes)
		if err != nil {
			return nil, err
		}
	}
	// Re-check the head before posting: results for an old commit must
	// not overwrite those of a newer one.
	if _, stale, err := r.latestVersion(ctx, mr, job.HeadSHA); err != nil || stale {
		if stale {
			log.InfoContext(ctx, "a newer push arrived during the review; not posting")
			return &Result{Outcome: OutcomeStale, Report: rep}, nil
		}
		return nil, err
	}
	res := &Result{Outcome: OutcomeReviewed, Report: rep}
	var postErrs []error
	var outside []checks.Finding
	if rep != nil {
		res.Inline, res.Resolved, outside, postErrs = r.postInline(ctx, mr, version, rep, changes)
		body = summaryBody(rep, m.WebURL, job.HeadSHA, outside, len(rep.Findings)-len(outside))
	} else {
		res.Outcome = OutcomeConfigError
	}
	note, err := r.upsertSummary(ctx, mr, body)
	if err != nil {
		return nil, classify(errors.Join(append(postErrs, err)...))
	}
	res.NoteURL = fmt.Sprintf("%s#note_%d", m.WebURL, note.ID)
	state, desc := "success", "no blocking findings"
	switch {
	case rep == nil:
		state, desc = "failed", ".pgai.yml is invalid"
	case rep.Summary.Blocking > 0:
		state, desc = "failed", fmt.Sprintf("%d blocking %s", rep.Summary.Blocking, plural(rep.Summary.Blocking, "finding", "findings"))
	case rep.Summary.Errors+rep.Summary.Warnings > 0:
		desc = fmt.Sprintf("no blocking findings, %d to look at", rep.Summary.Errors+rep.Summary.Warnings)
	}
	r.setStatus(ctx, job, state, res.NoteURL, desc)
	log.InfoContext(ctx, "review posted", "findings", lenFindings(rep), "inline", res.Inline, "resolved", res.Resolved,
		"outside_diff", len(outside), "duration_ms", time.Since(start).Milliseconds())
	if len(postErrs) > 0 {
		// The summary is up; what failed inline is retried by the queue
		// (idempotent, nothing is posted twice).
		return res, classify(errors.Join(postErrs...))
	}
	return res, nil
}

func lenFindings(rep *report.Report) int {
	if rep == nil {
		return 0
	}
	return len(rep.Findings)
}

// latestVersion returns the MR's newest diff version; stale is true when
// its head is not sha. No version yet (GitLab computes diffs
// asynchronously after a push) is a retryable error.
func (r *Reviewer) latestVersion(ctx context.Context, mr gitlab.MR, sha string) (gitlab.Version, bool, error) {
	vs, err := r.o.GitLab.Versions(ctx, mr)
	if err != nil {
		return gitlab.Version{}, false, classify(err)
	}
	if len(vs) == 0 {
		return gitlab.Version{}, false, fmt.Errorf("merge request %s has no diff version yet", mr)
	}
	v := vs[0]
	if v.HeadSHA != sha {
		for _, o := range vs[1:] {
			if o.HeadSHA == sha {
				return v, true, nil
			}
		}
		// GitLab has not recorded the pushed commit yet: retry later.
		return v, false, fmt.Errorf("merge request %s: head %s not among its versions yet (latest %s)", mr, short(sha), short(v.HeadSHA))
	}
	return v, false, nil
}

type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// loadConfig reads .pgai.yml at the reviewed commit; defaults when absent.
func (r *Reviewer) loadConfig(ctx context.Context, files Files) (*config.Config, error) {
	b, err := files.ReadFile(ctx, config.FileName)
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

func configErrorBody(err error, sha string) string {
	var b strings.Builder
	b.WriteString(SummaryMarker + "\n")
	b.WriteString("### 🔴 pgai reviewer: `.pgai.yml` is invalid\n\n")
	b.WriteString("The migrations were not reviewed because the project configuration could not be read:\n\n")
	fmt.Fprintf(&b, "```\n%s\n```\n\n", strings.ReplaceAll(err.Error(), "```", "'''"))
	fmt.Fprintf(&b, "Fix the file and push again. <sub>Commit `%s`.</sub>\n", short(sha))
	return report.NoQuickActions(b.String())
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
		dir = strings.Trim(filepath.ToSlash(filepath.Clean(dir)), "/")
		if dir == "." || dir == "" || p == dir || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// review reads the changed migrations (and what ordering needs) and runs
// the review core.
func (r *Reviewer) review(ctx context.Context, job review.Job, files Files, cfg *config.Config, changes []change) (*report.Report, error) {
	if len(changes) == 0 {
		rep := report.New(nil, nil, nil)
		rep.Commit = job.HeadSHA
		return rep, nil
	}
	if len(changes) > r.o.MaxFiles {
		changes = changes[:r.o.MaxFiles]
	}
	var srcs []review.Source
	var changed, added []string
	for _, c := range changes {
		b, err := files.ReadFile(ctx, c.diff.NewPath)
		if err != nil {
			return nil, classify(fmt.Errorf("read %s: %w", c.diff.NewPath, err))
		}
		srcs = append(srcs, review.Source{Path: c.diff.NewPath, Content: b})
		changed = append(changed, c.diff.NewPath)
		if c.diff.NewFile {
			added = append(added, c.diff.NewPath)
		}
	}
	// Sqitch orders changes by its plan, next to the deploy/ folder.
	plans := map[string]bool{}
	sqitchDirs := map[string]bool{}
	for _, c := range changes {
		dir := path.Dir(c.diff.NewPath)
		for dir != "." && dir != "/" {
			if path.Base(dir) == "deploy" {
				plans[path.Join(path.Dir(dir), "sqitch.plan")] = true
				sqitchDirs[path.Dir(c.diff.NewPath)] = true
				break
			}
			dir = path.Dir(dir)
		}
	}
	following, err := r.followingMigrations(ctx, files, cfg, changes, sqitchDirs)
	if err != nil {
		return nil, err
	}
	srcs = append(srcs, following...)
	for p := range plans {
		b, err := files.ReadFile(ctx, p)
		if notExist(err) {
			continue
		}
		if err != nil {
			return nil, classify(fmt.Errorf("read %s: %w", p, err))
		}
		srcs = append(srcs, review.Source{Path: p, Content: b})
	}
	rep, err := review.Run(ctx, review.Request{Sources: srcs, Changed: changed, Added: added, Config: cfg, Experimenter: r.o.Experimenter, Commit: job.HeadSHA})
	if err != nil {
		return nil, fmt.Errorf("review %d migrations: %w", len(srcs), err)
	}
	return rep, nil
}

// maxFollowing caps the existing migrations read after the first added
// file of a directory. One existing file that sorts after an added one is
// enough for the finding, but the review core detects frameworks and
// orders files from the files it is given, exactly as the tool does on a
// checkout, and skips files it cannot analyse; the nearest 20 make that
// reliable while bounding the API calls (one raw read each) on
// directories with thousands of migrations.
const maxFollowing = 20

// followingMigrations reads, for each directory where the MR adds a
// migration, the existing migrations of that directory that sort after
// the first added one at the reviewed commit. They are sources only (not
// among the changed files, so not reported): they give the order that
// reveals a migration added before existing ones (non-linear-history)
// and the schema they create. Sqitch directories are skipped (the plan
// orders them). Files that cannot list directories get none. In all at
// most MaxFiles files are read.
func (r *Reviewer) followingMigrations(ctx context.Context, files Files, cfg *config.Config, changes []change, skip map[string]bool) ([]review.Source, error) {
	lister, ok := files.(Lister)
	if !ok {
		return nil, nil
	}
	inMR := map[string]bool{}
	first := map[string]string{} // directory -> first added file name
	for _, c := range changes {
		inMR[c.diff.NewPath] = true
		inMR[c.diff.OldPath] = true
		if !c.diff.NewFile {
			continue
		}
		dir, name := path.Split(c.diff.NewPath)
		dir = path.Clean(dir)
		if skip[dir] {
			continue
		}
		if f, ok := first[dir]; !ok || sqlparse.NaturalCompare(name, f) < 0 {
			first[dir] = name
		}
	}
	dirs := make([]string, 0, len(first))
	for d := range first {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	budget := r.o.MaxFiles
	var out []review.Source
	for _, dir := range dirs {
		if budget <= 0 {
			break
		}
		listDir := dir
		if listDir == "." {
			listDir = ""
		}
		list, err := lister.ListFiles(ctx, listDir)
		if notExist(err) {
			continue
		}
		if err != nil {
			if err := classify(err); gitlab.Retryable(err) {
				return nil, fmt.Errorf("list %s: %w", dir, err)
			}
			r.log.WarnContext(ctx, "cannot list migrations; added files are not checked for order", "dir", dir, "err", err)
			continue
		}
		var later []string
		for _, p := range list {
			name := path.Base(p)
			if inMR[p] || path.Dir(p) != dir || !IsMigration(p, cfg) || !sortsAfter(name, first[dir]) {
				continue
			}
			later = append(later, p)
		}
		sort.SliceStable(later, func(i, j int) bool { return sqlparse.NaturalCompare(path.Base(later[i]), path.Base(later[j])) < 0 })
		later = later[:min(len(later), maxFollowing, budget)]
		for _, p := range later {
			b, err := files.ReadFile(ctx, p)
			if notExist(err) {
				continue
			}
			if err != nil {
				return nil, classify(fmt.Errorf("read %s: %w", p, err))
			}
			out = append(out, review.Source{Path: p, Content: b})
			budget--
		}
	}
	return out, nil
}

// sortsAfter reports whether an existing migration named name may run
// after the added one named added: after it in the natural order (digit
// runs as numbers, as golang-migrate, goose and Flyway compare versions)
// or in plain string order (as dbmate does). Reading a file the core then
// orders before the added one costs a call but changes no result.
func sortsAfter(name, added string) bool {
	return name != added && (sqlparse.NaturalCompare(name, added) > 0 || name > added)
}

// inlineLine picks the line of a finding to comment on: the first line of
// its statement that the MR adds (0 when none is in the diff).
func inlineLine(f checks.Finding, lines gitlab.DiffLines) int {
	end := f.EndLine
	if end < f.Line {
		end = f.Line
	}
	for l := f.Line; l <= end; l++ {
		if lines.Added[l] {
			return l
		}
	}
	return 0
}

// postInline opens a discussion per new finding on an added line, reopens
// bot-resolved ones whose finding is back, and resolves those whose
// finding is gone. It returns the findings left to the summary only.
func (r *Reviewer) postInline(ctx context.Context, mr gitlab.MR, v gitlab.Version, rep *report.Report, changes []change) (opened, resolved int, outside []checks.Finding, errs []error) {
	gl := r.o.GitLab
	bot, err := gl.CurrentUser(ctx)
	if err != nil {
		return 0, 0, rep.Findings, []error{err}
	}
	ds, err := gl.Discussions(ctx, mr)
	if err != nil {
		return 0, 0, rep.Findings, []error{err}
	}
	existing := map[string]gitlab.Discussion{}
	for _, d := range ds {
		if len(d.Notes) == 0 || d.Notes[0].AuthorID != bot.ID {
			continue
		}
		if fp := fingerprintOf(d.Notes[0].Body); fp != "" {
			existing[fp] = d
		}
	}
	byPath := map[string]change{}
	for _, c := range changes {
		byPath[c.diff.NewPath] = c
	}
	current := map[string]bool{}
	for _, f := range rep.SortedFindings() {
		if f.Fingerprint != "" {
			current[f.Fingerprint] = true
		}
		if d, ok := existing[f.Fingerprint]; ok && f.Fingerprint != "" {
			if d.Resolved() && resolvedBy(d) == bot.ID {
				// Fixed earlier, back now: reopen the thread.
				marker := fmt.Sprintf("<!-- pgai-reviewer:back=%s -->", short(rep.Commit))
				body := fmt.Sprintf("%s\n🔁 This finding is back in commit `%s`.", marker, short(rep.Commit))
				if _, err := gl.ReplyOnce(ctx, mr, d.ID, body, marker); err != nil {
					errs = append(errs, err)
				} else if err := gl.ResolveDiscussion(ctx, mr, d.ID, false); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		c, ok := byPath[f.Path]
		line := 0
		if ok {
			line = inlineLine(f, c.lines)
		}
		if line == 0 || f.Fingerprint == "" || opened >= r.o.MaxInline {
			outside = append(outside, f)
			continue
		}
		marker := FingerprintMarker(f.Fingerprint)
		body := report.NoQuickActions(report.FindingMarkdown(f) + "\n" + marker)
		pos := &gitlab.Position{BaseSHA: v.BaseSHA, StartSHA: v.StartSHA, HeadSHA: v.HeadSHA,
			OldPath: c.diff.OldPath, NewPath: c.diff.NewPath, NewLine: line}
		if _, err := gl.CreateDiscussionOnce(ctx, mr, body, pos, marker); err != nil {
			outside = append(outside, f)
			if gitlab.Retryable(err) {
				errs = append(errs, err)
			} else {
				r.log.WarnContext(ctx, "inline discussion refused; finding kept in the summary", "path", f.Path, "line", line, "err", err)
			}
			continue
		}
		opened++
	}
	fps := make([]string, 0, len(existing))
	for fp := range existing {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	for _, fp := range fps {
		d := existing[fp]
		if current[fp] || d.Resolved() {
			continue
		}
		marker := fmt.Sprintf("<!-- pgai-reviewer:fixed=%s -->", short(rep.Commit))
		body := fmt.Sprintf("%s\n✅ Fixed in commit `%s`: this finding is gone.", marker, short(rep.Commit))
		if _, err := gl.ReplyOnce(ctx, mr, d.ID, body, marker); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := gl.ResolveDiscussion(ctx, mr, d.ID, true); err != nil {
			errs = append(errs, err)
			continue
		}
		resolved++
	}
	return opened, resolved, outside, errs
}

func resolvedBy(d gitlab.Discussion) int64 {
	for _, n := range d.Notes {
		if n.Resolvable {
			return n.ResolvedBy
		}
	}
	return 0
}

// summaryBody renders the summary note.
func summaryBody(rep *report.Report, mrURL, sha string, outside []checks.Finding, inline int) string {
	var b strings.Builder
	_ = report.WriteMarkdown(&b, rep, report.MarkdownOptions{Commit: sha, CommitURL: commitURL(mrURL, sha), Marker: SummaryMarker})
	if len(rep.Files) == 0 {
		b.WriteString("\nThis merge request no longer changes any migration.\n")
	}
	if len(outside) > 0 && inline+len(outside) > 0 {
		fmt.Fprintf(&b, "\n<sub>%d %s on lines this merge request does not add %s listed here only.</sub>\n",
			len(outside), plural(len(outside), "finding", "findings"), plural(len(outside), "is", "are"))
	}
	return report.NoQuickActions(b.String())
}

// commitURL derives the commit page from the MR page
// (https://host/group/project/-/merge_requests/1).
func commitURL(mrURL, sha string) string {
	i := strings.Index(mrURL, "/-/merge_requests/")
	if i < 0 || sha == "" {
		return ""
	}
	return mrURL[:i] + "/-/commit/" + sha
}

// findSummary returns the bot's summary note, if any.
func (r *Reviewer) findSummary(ctx context.Context, mr gitlab.MR) (gitlab.Note, bool, error) {
	notes, err := r.summaries(ctx, mr)
	if err != nil || len(notes) == 0 {
		return gitlab.Note{}, false, err
	}
	return notes[0], true, nil
}

func (r *Reviewer) summaries(ctx context.Context, mr gitlab.MR) ([]gitlab.Note, error) {
	bot, err := r.o.GitLab.CurrentUser(ctx)
	if err != nil {
		return nil, err
	}
	notes, err := r.o.GitLab.Notes(ctx, mr)
	if err != nil {
		return nil, err
	}
	var out []gitlab.Note
	for _, n := range notes {
		if n.AuthorID == bot.ID && !n.System && strings.Contains(n.Body, SummaryMarker) {
			out = append(out, n)
		}
	}
	return out, nil
}

// upsertSummary edits the bot's summary note in place, or creates it; a
// stray duplicate (from an older bot version or a race) is deleted.
func (r *Reviewer) upsertSummary(ctx context.Context, mr gitlab.MR, body string) (gitlab.Note, error) {
	gl := r.o.GitLab
	notes, err := r.summaries(ctx, mr)
	if err != nil {
		return gitlab.Note{}, err
	}
	if len(notes) == 0 {
		return gl.CreateNoteOnce(ctx, mr, body, SummaryMarker)
	}
	keep := notes[0]
	for _, dup := range notes[1:] {
		if err := gl.DeleteNote(ctx, mr, dup.ID); err != nil {
			r.log.WarnContext(ctx, "delete duplicate summary", "note_id", dup.ID, "err", err)
		}
	}
	if keep.Body != body {
		if err := gl.UpdateNote(ctx, mr, keep.ID, body); err != nil {
			return gitlab.Note{}, err
		}
	}
	return keep, nil
}

// setStatus posts the commit status; failures are logged, not fatal (the
// summary note is what users read).
func (r *Reviewer) setStatus(ctx context.Context, job review.Job, state, url, desc string) {
	if r.o.NoStatus {
		return
	}
	err := r.o.GitLab.SetCommitStatus(ctx, job.ProjectID, gitlab.CommitStatus{
		SHA: job.HeadSHA, Name: r.o.StatusName, State: state, TargetURL: url, Description: desc,
	})
	if err != nil {
		r.log.WarnContext(ctx, "set commit status", "state", state, "err", err)
	}
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
