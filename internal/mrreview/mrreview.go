// Package mrreview reviews a GitLab merge request and publishes the
// result on it. The files of a review:
//
//   - sources.go: the repository at the head commit (a checkout, or the
//     API with a blob cache) and the review of the changed migrations with
//     every migration of their directories as context;
//   - threads.go: which findings get an inline thread, and when the bot
//     opens, reopens and resolves them;
//   - summary.go: the one summary note, found again by its marker;
//   - status.go: the commit status;
//   - marker.go: the hidden markers by which the bot finds its notes;
//   - api.go: what reviews and commands need from GitLab;
//   - commands.go: the /pgai commands.
//
// Re-runs are idempotent: the summary is edited in place, threads carry
// their finding's fingerprint so none is posted twice, and a thread whose
// finding is gone gets a short reply and is resolved.
package mrreview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/internal/review"
)

// Options configure a Reviewer.
type Options struct {
	GitLab GitLab
	Logger *slog.Logger
	// Experimenter, when set, runs the migrations on a clone; CloneSource
	// names what the clone is made from, for the summary.
	Experimenter review.Experimenter
	CloneSource  string
	// Cache, when set, keeps file contents by blob id between reviews.
	Cache BlobCache
	// MinAccess is the access level needed to run /pgai commands
	// (default Developer).
	MinAccess gitlab.AccessLevel
	// MaxInline caps the bot's open inline threads on an MR (default
	// 25); the rest are in the summary only.
	MaxInline int
	// MaxFiles caps the changed migrations reviewed per MR (default 300).
	MaxFiles int
	// StatusName is the commit status name (default pgai/migrations).
	StatusName string
	// NoStatus skips commit statuses (CI mode: the job is the status).
	NoStatus bool

	// Explain, when set, explains a blocking finding (e.g. with the
	// LLM); the text is shown collapsed in its thread, or in the summary
	// when it has none. "" for none.
	Explain func(ctx context.Context, f checks.Finding) string
	// ExplainAll, when set instead, explains a review's blocking findings
	// in one call (so that the explainer can keep a per-review token
	// budget) and returns the texts by fingerprint.
	// pgVersion is the PostgreSQL version the review assumed (.pgai.yml
	// pg_version).
	ExplainAll func(ctx context.Context, pgVersion string, fs []checks.Finding) map[string]string
	// EvidenceURL, when set, links the page with a review's full
	// evidence from the summary ("" for no link).
	EvidenceURL func(job review.Job, mr gitlab.MergeRequest) string
	// OnReviewed, when set, is called after a review is posted (e.g. to
	// archive it).
	OnReviewed func(ctx context.Context, job review.Job, res *Result)
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
	var p permanentError
	if errors.As(err, &p) {
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
	// NoteURL links the summary note ("" when none was posted); Summary is
	// its body.
	NoteURL, Summary string
	// Inline counts threads opened; Resolved those resolved.
	Inline, Resolved int
	// MR is the merge request as read when the review started, Changed
	// the migrations it adds or modifies, and Source the reviewed tree:
	// what an OnReviewed hook needs to keep the review.
	MR      gitlab.MergeRequest
	Changed []string
	Source  Source
}

// Review reviews an MR head read through the API (the queue's handler).
func (r *Reviewer) Review(ctx context.Context, job review.Job) (string, error) {
	res, err := r.Run(ctx, job, r.gitlabTree(job))
	if err != nil {
		return "", err
	}
	return res.Outcome, nil
}

func (r *Reviewer) gitlabTree(job review.Job) GitLabTree {
	return GitLabTree{API: r.o.GitLab, ProjectID: job.ProjectID, SHA: job.HeadSHA, Cache: r.o.Cache, Logger: r.log}
}

// Run reviews the MR at job.HeadSHA, reading the repository from src, and
// posts the result.
func (r *Reviewer) Run(ctx context.Context, job review.Job, src Source) (*Result, error) {
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
	cfg, cfgErr := loadConfig(ctx, src)
	if cfgErr != nil && !notExist(cfgErr) && !errors.As(cfgErr, new(configError)) {
		return nil, cfgErr
	}
	changes := migrationChanges(diffs, cfg)
	bot, err := gl.CurrentUser(ctx)
	if err != nil {
		return nil, classify(err)
	}
	notes, err := summaries(ctx, gl, mr, bot.ID)
	if err != nil {
		return nil, classify(err)
	}
	if cfgErr == nil && len(changes) == 0 && len(notes) == 0 {
		// Nothing to review, and nothing said before. (An earlier push
		// with migrations left a summary: then say they are gone, and
		// resolve the old threads.)
		log.DebugContext(ctx, "no migrations in this MR")
		return &Result{Outcome: OutcomeNoMigrations}, nil
	}
	r.setStatus(ctx, job, "pending", m.WebURL, "reviewing migrations")
	var rep *report.Report
	if cfgErr == nil {
		if len(changes) > r.o.MaxFiles {
			changes = changes[:r.o.MaxFiles]
		}
		t := Tree{Source: src, Config: cfg, Commit: job.HeadSHA, Experimenter: r.o.Experimenter}
		for _, c := range changes {
			t.Changed = append(t.Changed, c.diff.NewPath)
			if c.diff.NewFile {
				t.Added = append(t.Added, c.diff.NewPath)
			}
		}
		rep, err = ReviewTree(ctx, t)
		if errors.As(err, new(configError)) {
			cfgErr = err // said on the MR, like an invalid .pgai.yml
		} else if err != nil {
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
	res := &Result{Outcome: OutcomeReviewed, Report: rep, MR: m, Source: src}
	for _, c := range changes {
		res.Changed = append(res.Changed, c.diff.NewPath)
	}
	var threadErrs []error
	var body string
	if rep == nil {
		res.Outcome = OutcomeConfigError
		body = configErrorBody(cfgErr, job.HeadSHA)
	} else {
		ds, err := gl.Discussions(ctx, mr)
		if err != nil {
			return nil, classify(err)
		}
		var prev *seenState
		if len(notes) > 0 {
			prev = parseSeen(notes[0].Body)
		}
		measured := r.o.Experimenter != nil
		explain := r.explainer(ctx, rep)
		tr := r.syncThreads(ctx, threadRun{mr: mr, webURL: m.WebURL, version: version, rep: rep, changes: changes,
			inline: cfg.Inline, botID: bot.ID, existing: findingThreads(ds, bot.ID), previous: seenMap(prev), measured: measured, explain: explain})
		res.Inline, res.Resolved, threadErrs = tr.opened, tr.resolved, tr.errs
		s := summaryRun{rep: rep, webURL: m.WebURL, sha: job.HeadSHA, links: tr.links, previous: prev,
			measured: measured, cloneSource: r.o.CloneSource, explain: explain}
		if r.o.EvidenceURL != nil {
			s.evidenceURL = r.o.EvidenceURL(job, m)
		}
		body = r.summaryBody(s)
	}
	note, err := r.upsertSummary(ctx, mr, notes, body)
	if err != nil {
		return nil, classify(errors.Join(append(threadErrs, err)...))
	}
	res.NoteURL = fmt.Sprintf("%s#note_%d", m.WebURL, note.ID)
	res.Summary = body
	state, desc := verdict(rep)
	r.setStatus(ctx, job, state, res.NoteURL, desc)
	log.InfoContext(ctx, "review posted", "findings", lenFindings(rep), "inline", res.Inline, "resolved", res.Resolved,
		"summary_chars", len(body), "duration_ms", time.Since(start).Milliseconds())
	if r.o.OnReviewed != nil {
		r.o.OnReviewed(ctx, job, res)
	}
	if len(threadErrs) > 0 {
		// The summary is up; what failed inline is retried by the queue
		// (idempotent, nothing is posted twice).
		return res, classify(errors.Join(threadErrs...))
	}
	return res, nil
}

// explainer runs the Explain hook once per blocking finding and returns
// the texts by fingerprint, as a lookup.
func (r *Reviewer) explainer(ctx context.Context, rep *report.Report) func(checks.Finding) string {
	if r.o.ExplainAll != nil {
		var blocking []checks.Finding
		for _, f := range rep.Findings {
			if f.Blocking && !f.Refuted && f.Fingerprint != "" {
				blocking = append(blocking, f)
			}
		}
		texts := r.o.ExplainAll(ctx, rep.PGVersion, blocking)
		return func(f checks.Finding) string { return texts[f.Fingerprint] }
	}
	if r.o.Explain == nil {
		return nil
	}
	texts := map[string]string{}
	for _, f := range rep.Findings {
		if f.Blocking && !f.Refuted && f.Fingerprint != "" {
			if _, ok := texts[f.Fingerprint]; !ok {
				texts[f.Fingerprint] = r.o.Explain(ctx, f)
			}
		}
	}
	return func(f checks.Finding) string { return texts[f.Fingerprint] }
}

func seenMap(s *seenState) map[string]string {
	if s == nil {
		return nil
	}
	return s.findings
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
