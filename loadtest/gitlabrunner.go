package loadtest

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/internal/gitlab"
)

// CI variables the runner project's pipeline reads (see
// examples/bench-runner/.gitlab-ci.yml).
const (
	// RunnerSpecVariable carries the spec as JSON, without a DSN.
	RunnerSpecVariable = "PGAI_BENCH_SPEC"
	// RunnerDSNVariable is the runner project's own (masked) CI variable
	// with the DSN of the server under test; the spec only names it.
	RunnerDSNVariable = "PGAI_BENCH_DSN"
	// RunnerJob is the job whose artifacts hold the run folder.
	RunnerJob = "pgai-bench"
)

// CI is the part of the GitLab API the GitLab runner uses
// (*gitlab.Client).
type CI interface {
	CreatePipeline(ctx context.Context, project, ref string, variables map[string]string) (gitlab.Pipeline, error)
	Pipeline(ctx context.Context, project string, id int64) (gitlab.Pipeline, error)
	CancelPipeline(ctx context.Context, project string, id int64) error
	PipelineJobs(ctx context.Context, project string, id int64) ([]gitlab.Job, error)
	JobArtifacts(ctx context.Context, project string, jobID int64) ([]byte, error)
}

// GitLabRunner runs a benchmark as a pipeline of a runner project: any
// GitLab runner the user registered for that project is the dedicated
// hardware. It triggers the pipeline with the spec as a CI variable,
// polls it, downloads the job's artifacts (the run folder) and returns
// the run they describe. A pipeline that fails, or does not finish in
// time, is canceled; what its job uploaded is still imported.
type GitLabRunner struct {
	CI CI
	// Project is the runner project (id or "group/name"); Ref its branch
	// (default main); Job the job with the run folder (default
	// pgai-bench).
	Project, Ref, Job string
	// Poll is the status polling interval (default 10s).
	Poll time.Duration
	// Timeout bounds the pipeline (default: the spec's pgbench time +
	// 30 minutes for queueing, set-up and collection).
	Timeout time.Duration
	// MaxArtifactBytes caps the downloaded archive, unpacked (default
	// 4 GiB).
	MaxArtifactBytes int64
	Logger           *slog.Logger
}

// Name implements Runner.
func (GitLabRunner) Name() string { return "gitlab" }

// AllowsShell implements Runner: the runner project's machine is
// dedicated.
func (GitLabRunner) AllowsShell() bool { return true }

// Run implements Runner.
func (g GitLabRunner) Run(ctx context.Context, spec Spec, dir string, onEvent func(Event)) (*Run, error) {
	spec.Defaults()
	if g.Ref == "" {
		g.Ref = "main"
	}
	if g.Job == "" {
		g.Job = RunnerJob
	}
	if g.Poll == 0 {
		g.Poll = 10 * time.Second
	}
	if g.Timeout == 0 {
		g.Timeout = spec.Budget() + 30*time.Minute
	}
	if g.MaxArtifactBytes == 0 {
		g.MaxArtifactBytes = 4 << 30
	}
	log := g.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	event := func(e Event) {
		if onEvent != nil {
			onEvent(e)
		}
	}
	run := &Run{Name: spec.Name, Spec: spec, Runner: "gitlab", Status: StatusRunning, StartedAt: time.Now().UTC(), Target: "runner project " + g.Project}
	run.Spec.Target.DSN = ""
	fail := func(err error) (*Run, error) {
		run.FinishedAt = time.Now().UTC()
		run.Status, run.Error = StatusFailed, err.Error()
		if errors.Is(err, context.Canceled) {
			run.Status = StatusCanceled
		}
		if dir != "" {
			_ = writeRunFiles(dir, run)
		}
		return run, err
	}
	if g.CI == nil || g.Project == "" {
		return fail(errors.New("gitlab runner: no GitLab client or runner project configured"))
	}
	// The DSN never travels in a pipeline variable (maintainers of the
	// runner project could read it): the job has its own.
	send := spec
	send.Target.DSN = ""
	if send.Target.DSNEnv == "" {
		send.Target.DSNEnv = RunnerDSNVariable
	}
	if err := send.Validate(true); err != nil {
		return fail(err)
	}
	body, err := send.JSON(false)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(fmt.Errorf("output folder: %w", err))
	}
	p, err := g.CI.CreatePipeline(ctx, g.Project, g.Ref, map[string]string{RunnerSpecVariable: string(body)})
	if err != nil {
		return fail(fmt.Errorf("trigger the runner pipeline in %s@%s: %w", g.Project, g.Ref, err))
	}
	run.PipelineURL = p.WebURL
	log.InfoContext(ctx, "benchmark pipeline started", "project", g.Project, "pipeline", p.ID, "url", p.WebURL)
	event(Event{Phase: "pipeline", Of: len(spec.Plan()), Message: "pipeline " + p.WebURL})

	deadline := time.Now().Add(g.Timeout)
	var waitErr error
	for !p.Finished() {
		if time.Now().After(deadline) {
			waitErr = fmt.Errorf("the runner pipeline %s did not finish within %s: canceled it", p.WebURL, g.Timeout)
			break
		}
		if err := sleepCtx(ctx, g.Poll); err != nil {
			waitErr = fmt.Errorf("waiting for the runner pipeline %s: %w (canceled it)", p.WebURL, err)
			break
		}
		np, err := g.CI.Pipeline(ctx, g.Project, p.ID)
		if err != nil {
			if gitlab.Retryable(err) && ctx.Err() == nil {
				log.WarnContext(ctx, "poll pipeline", "err", err)
				continue
			}
			waitErr = fmt.Errorf("poll the runner pipeline %s: %w", p.WebURL, err)
			break
		}
		p = np
		event(Event{Phase: "pipeline", Of: len(spec.Plan()), Message: p.Status})
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if waitErr != nil {
		// Nothing left running: cancel the pipeline, then take what its
		// job uploaded.
		if err := g.CI.CancelPipeline(bg, g.Project, p.ID); err != nil {
			waitErr = fmt.Errorf("%w; cancel failed too: %v", waitErr, err)
		}
	}
	imported, ierr := g.importArtifacts(bg, p.ID, dir)
	if imported != nil {
		imported.Runner, imported.PipelineURL = "gitlab", p.WebURL
		if imported.Target == "" {
			imported.Target = run.Target
		}
		run = imported
	}
	switch {
	case waitErr != nil:
		return fail(waitErr)
	case p.Status != "success":
		msg := fmt.Sprintf("the runner pipeline %s ended %s", p.WebURL, p.Status)
		if jobs, err := g.CI.PipelineJobs(bg, g.Project, p.ID); err == nil {
			for _, j := range jobs {
				if j.Status == "failed" {
					msg += fmt.Sprintf("; job %s failed", j.Name)
					if j.FailureReason != "" {
						msg += " (" + j.FailureReason + ")"
					}
					msg += ": " + j.WebURL
				}
			}
		}
		if run.Error != "" {
			msg += "; the benchmark said: " + run.Error
		}
		return fail(errors.New(msg))
	case ierr != nil:
		return fail(ierr)
	}
	if run.Status == StatusRunning {
		run.Status = StatusDone
	}
	if run.FinishedAt.IsZero() {
		run.FinishedAt = time.Now().UTC()
	}
	// Rewrite run.json with the pipeline link (and the plots, made here
	// when the job's were missing).
	if err := writeRunFiles(dir, run); err != nil {
		return fail(err)
	}
	if run.Status == StatusFailed {
		return run, fmt.Errorf("benchmark failed on the runner: %s", run.Error)
	}
	return run, nil
}

// importArtifacts downloads the job's archive and unpacks the run folder
// (the directory holding run.json) into dir.
func (g GitLabRunner) importArtifacts(ctx context.Context, pipelineID int64, dir string) (*Run, error) {
	jobs, err := g.CI.PipelineJobs(ctx, g.Project, pipelineID)
	if err != nil {
		return nil, fmt.Errorf("list the runner pipeline's jobs: %w", err)
	}
	var job *gitlab.Job
	for i := range jobs {
		if jobs[i].Name == g.Job {
			job = &jobs[i]
		}
	}
	if job == nil {
		return nil, fmt.Errorf("the runner pipeline has no job %q (is examples/bench-runner/.gitlab-ci.yml in the runner project?)", g.Job)
	}
	if !job.HasArtifacts {
		return nil, fmt.Errorf("job %s (%s) uploaded no artifacts: %s", job.Name, job.Status, job.WebURL)
	}
	zb, err := g.CI.JobArtifacts(ctx, g.Project, job.ID)
	if err != nil {
		return nil, fmt.Errorf("download the artifacts of job %s: %w", job.Name, err)
	}
	if err := unpackRunFolder(zb, dir, g.MaxArtifactBytes); err != nil {
		return nil, fmt.Errorf("artifacts of job %s: %w", job.Name, err)
	}
	return LoadRunDir(dir)
}

// unpackRunFolder extracts the folder of the archive that holds run.json
// into dir, refusing paths that leave it and archives larger than limit.
func unpackRunFolder(zb []byte, dir string, limit int64) error {
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		return fmt.Errorf("not a zip archive: %w", err)
	}
	root := "-"
	for _, f := range zr.File {
		if path.Base(f.Name) == "run.json" {
			d := path.Dir(f.Name)
			if root == "-" || len(d) < len(root) {
				root = d
			}
		}
	}
	if root == "-" {
		return errors.New("no run.json in the archive (the job did not get to write its run folder)")
	}
	prefix := ""
	if root != "." {
		prefix = root + "/"
	}
	var total int64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.HasPrefix(f.Name, prefix) {
			continue
		}
		dst, err := safeJoin(dir, strings.TrimPrefix(f.Name, prefix))
		if err != nil {
			return err
		}
		total += int64(f.UncompressedSize64)
		if total > limit {
			return fmt.Errorf("the archive unpacks to more than %d bytes", limit)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		out, err := os.Create(dst)
		if err != nil {
			rc.Close()
			return err
		}
		_, err = io.Copy(out, io.LimitReader(rc, int64(f.UncompressedSize64)+1))
		rc.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

// ZipRunFolder packs a run folder as a CI job's artifacts archive would
// hold it (under prefix/), for tests and for `reviewer bench import`.
func ZipRunFolder(dir, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		w, err := zw.Create(path.Join(prefix, filepath.ToSlash(rel)))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("zip run folder: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip run folder: %w", err)
	}
	return buf.Bytes(), nil
}
