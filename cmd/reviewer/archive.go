package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/internal/ui"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// maxArchivedFile caps the text kept of one migration (the review page
// shows it whole); maxArchivedFiles caps how many are kept per review.
const (
	maxArchivedFile  = 1 << 20
	maxArchivedFiles = 300
)

// visibility reads private_projects.
func (c *serviceConfig) visibility() (archive.Visibility, error) {
	v, err := archive.ParseVisibility(c.PrivateProjects)
	if err != nil {
		return v, fmt.Errorf("private_projects: %w", err)
	}
	return v, nil
}

// checkPublicURL says what is wrong with public_url, if anything.
func checkPublicURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("public_url %q: want the reviewer's address as seen from GitLab, e.g. https://reviewer.example.com", s)
	}
	return nil
}

// archiveHooks wires the archive into the reviewer: every posted review is
// stored, and the summary links its page when public_url is set and the
// project is public.
func archiveHooks(o *mrreview.Options, store *archive.Store, links archive.Links, log *slog.Logger) {
	if links.PublicURL != "" {
		o.EvidenceURL = func(job review.Job, mr gitlab.MergeRequest) string {
			return links.Review(archive.Key{ProjectID: job.ProjectID, MRIID: job.MRIID, HeadSHA: job.HeadSHA}, archive.ProjectPathOf(mr.WebURL))
		}
	}
	o.OnReviewed = func(ctx context.Context, job review.Job, res *mrreview.Result) {
		// The note is posted: keep the review even if the job's context
		// ends now, within bounds.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		rv := &archive.Review{Key: archive.Key{ProjectID: job.ProjectID, MRIID: job.MRIID, HeadSHA: job.HeadSHA},
			ProjectPath: archive.ProjectPathOf(res.MR.WebURL), MRTitle: res.MR.Title, MRURL: res.MR.WebURL,
			Report: res.Report, Markdown: res.Summary}
		if res.Report == nil {
			rv.Verdict = archive.VerdictConfigError
		}
		rv.Migrations = archivedMigrations(ctx, res, log)
		if err := store.SaveReview(ctx, rv); err != nil {
			log.ErrorContext(ctx, "archive review", "project_id", job.ProjectID, "mr_iid", job.MRIID, "sha", job.HeadSHA, "err", err)
		}
	}
}

// archivedMigrations reads the texts of the migrations the MR changes.
func archivedMigrations(ctx context.Context, res *mrreview.Result, log *slog.Logger) []archive.Migration {
	if res.Source == nil {
		return nil
	}
	var out []archive.Migration
	for i, p := range res.Changed {
		if i == maxArchivedFiles {
			break
		}
		b, err := res.Source.ReadFile(ctx, p)
		if err != nil {
			// A deleted file, or GitLab failed: the page says no text.
			log.DebugContext(ctx, "archive: read migration", "path", p, "err", err)
			continue
		}
		text := string(b)
		if len(text) > maxArchivedFile {
			text = strings.ToValidUTF8(text[:maxArchivedFile], "") + "\n-- (cut: the file is longer than 1 MiB)\n"
		}
		if !utf8.ValidString(text) {
			text = strings.ToValidUTF8(text, "\uFFFD")
		}
		out = append(out, archive.Migration{Path: p, Text: text})
	}
	return out
}

// withUI serves the UI under /ui/ next to the webhook handler.
func withUI(next http.Handler, u *ui.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix, u)
	mux.Handle("/ui", u)
	mux.Handle("/", next)
	return mux
}

// expRecorderKey carries an expRecorder in the context of one command.
type expRecorderKey struct{}

// expRecorder collects the experiments run while one command runs.
type expRecorder struct {
	mu   sync.Mutex
	runs []recordedRun
}

type recordedRun struct {
	files []*sqlparse.File
	res   *dblab.Result
}

// recordingExperimenter runs experiments and tells the command's recorder
// (if any) what ran and what was measured, so that the command can keep it
// with its merge request.
type recordingExperimenter struct{ inner agent.Experimenter }

func (e recordingExperimenter) Run(ctx context.Context, files []*sqlparse.File) (*dblab.Result, error) {
	res, err := e.inner.Run(ctx, files)
	if rec, ok := ctx.Value(expRecorderKey{}).(*expRecorder); ok && res != nil {
		rec.mu.Lock()
		rec.runs = append(rec.runs, recordedRun{files: files, res: res})
		rec.mu.Unlock()
	}
	return res, err
}

// archiveExperiments wraps a /pgai command so that every experiment it runs
// on a clone (the experiment command, the agent's experiment tool under
// ask) is archived with its merge request; the experiment command's reply
// links the page when public_url is set and the project is public.
func archiveExperiments(c *mrreview.Command, store *archive.Store, links archive.Links, log *slog.Logger) {
	if c.Run == nil || store == nil {
		return
	}
	run := c.Run
	c.Run = func(ctx context.Context, in *mrreview.Invocation) (string, error) {
		rec := &expRecorder{}
		reply, err := run(context.WithValue(ctx, expRecorderKey{}, rec), in)
		rec.mu.Lock()
		runs := rec.runs
		rec.mu.Unlock()
		var pages []string
		for _, r := range runs {
			e := &archive.Experiment{ProjectID: in.MR.ProjectID, ProjectPath: archive.ProjectPathOf(in.MR.WebURL), MRIID: in.MR.IID,
				HeadSHA: in.MR.SHA, Source: archive.SourceCommand, Measurements: r.res.Measurements, DurationMS: r.res.DurationMS, Stopped: r.res.Stopped,
				Title: fmt.Sprintf("/pgai %s on !%d", c.Name, in.MR.IID)}
			if in.Cmd.AuthorUsername != "" {
				e.Title += " by @" + in.Cmd.AuthorUsername
			}
			for _, f := range r.files {
				e.Files = append(e.Files, archive.Migration{Path: f.Path, Text: string(f.Src)})
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			id, serr := store.SaveExperiment(sctx, e)
			cancel()
			if serr != nil {
				log.ErrorContext(ctx, "archive experiment", "project_id", in.MR.ProjectID, "mr_iid", in.MR.IID, "err", serr)
				continue
			}
			if u := links.Experiment(id, e.ProjectID, e.ProjectPath); u != "" {
				pages = append(pages, u)
			}
		}
		if err == nil && c.Name == "experiment" && len(pages) > 0 {
			reply += "\n\n[Lock timeline and full measurements](" + pages[len(pages)-1] + ")."
		}
		return reply, err
	}
}
