package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/internal/config"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/internal/review"
)

// ciEnv is what `reviewer ci` reads from GitLab CI's predefined variables.
type ciEnv struct {
	serverURL  string
	projectID  int64
	mrIID      int64
	commitSHA  string // the checked-out commit
	headSHA    string // the MR head (differs in merged-results pipelines)
	diffBase   string
	projectDir string
	token      secret
}

func readCIEnv(getenv func(string) string) (ciEnv, error) {
	e := ciEnv{
		serverURL:  getenv("PGAI_GITLAB_URL"),
		commitSHA:  getenv("CI_COMMIT_SHA"),
		headSHA:    getenv("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"),
		diffBase:   getenv("CI_MERGE_REQUEST_DIFF_BASE_SHA"),
		projectDir: getenv("CI_PROJECT_DIR"),
		token:      secret(getenv("PGAI_GITLAB_TOKEN")),
	}
	if e.serverURL == "" {
		e.serverURL = getenv("CI_SERVER_URL")
	}
	if e.headSHA == "" {
		e.headSHA = e.commitSHA
	}
	if e.projectDir == "" {
		e.projectDir = "."
	}
	var errs []error
	num := func(name string, dst *int64) {
		if v := getenv(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want a number", name, v))
			}
			*dst = n
		}
	}
	num("CI_MERGE_REQUEST_PROJECT_ID", &e.projectID)
	if e.projectID == 0 {
		num("CI_PROJECT_ID", &e.projectID)
	}
	num("CI_MERGE_REQUEST_IID", &e.mrIID)
	return e, errors.Join(errs...)
}

// canPost says whether the job can comment on the MR.
func (e ciEnv) canPost() bool {
	return e.token != "" && e.serverURL != "" && e.projectID != 0 && e.mrIID != 0 && e.headSHA != ""
}

// runCI is the GitLab CI gate. A .gitlab-ci.yml job:
//
//	pgai-migrations:
//	  image: registry.example.com/pgai/reviewer:latest
//	  variables:
//	    GIT_DEPTH: "0"                # the MR base must be in the clone
//	  script:
//	    - reviewer ci                 # PGAI_GITLAB_TOKEN: masked CI variable, project access token (api scope)
//	  artifacts:
//	    when: always
//	    reports:
//	      codequality: gl-code-quality-report.json
//	      junit: pgai-junit.xml
//	  rules:
//	    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
//	    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH   # Code Quality compares with the target branch's report
//
// It reviews the merge request's changed
// migrations in the checked-out tree, posts or updates the same summary
// note and inline discussions as the webhook service (with a project
// access token in PGAI_GITLAB_TOKEN: CI_JOB_TOKEN cannot write notes),
// writes the Code Quality and JUnit reports, and exits with the gate's
// code: 0 pass, 1 blocking findings, 2 error.
func runCI(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return ciMain(ctx, args, os.Getenv, stdout, stderr)
}

func ciMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ci", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cqFile    = fs.String("codequality", "gl-code-quality-report.json", "Code Quality report file (\"\" to skip)")
		junitFile = fs.String("junit", "pgai-junit.xml", "JUnit report file (\"\" to skip)")
		noPost    = fs.Bool("no-post", false, "do not comment on the merge request, only write the reports")
		verbose   = fs.Bool("v", false, "log progress to standard error")
	)
	clone := addCloneFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: reviewer ci [flags]\n\nRuns in a GitLab CI merge-request pipeline (CI_MERGE_REQUEST_IID, CI_PROJECT_ID, CI_COMMIT_SHA,")
		fmt.Fprintln(stderr, "CI_SERVER_URL, CI_PROJECT_DIR). With PGAI_GITLAB_TOKEN (a project access token with api scope) it posts")
		fmt.Fprintln(stderr, "the review on the merge request. Exit status: 0 pass, 1 blocking findings, 2 error.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	env, err := readCIEnv(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "reviewer ci: %v\n", err)
		return exitError
	}
	var exp review.Experimenter
	if clone.enabled() {
		r, err := clone.runner(logger)
		if err != nil {
			fmt.Fprintf(stderr, "reviewer ci: %v\n", err)
			return exitError
		}
		exp = r
	}
	rep, noteURL, err := ciReview(ctx, env, !*noPost, exp, clone.source(), logger, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "reviewer ci: %v\n", err)
		return exitError
	}
	if err := writeReport(*cqFile, rep, report.WriteCodeQuality); err != nil {
		fmt.Fprintf(stderr, "reviewer ci: %v\n", err)
		return exitError
	}
	if err := writeReport(*junitFile, rep, report.WriteJUnit); err != nil {
		fmt.Fprintf(stderr, "reviewer ci: %v\n", err)
		return exitError
	}
	if err := report.WriteText(stdout, rep, report.TextOptions{}); err != nil {
		fmt.Fprintf(stderr, "reviewer ci: %v\n", err)
		return exitError
	}
	if noteURL != "" {
		fmt.Fprintf(stdout, "\nReview posted: %s\n", noteURL)
	}
	if rep.Summary.Blocking > 0 {
		return exitBlocking
	}
	return exitOK
}

// ciReview reviews through the MR (posting) when it can, else locally.
func ciReview(ctx context.Context, env ciEnv, post bool, exp review.Experimenter, cloneSource string, logger *slog.Logger, stderr io.Writer) (*report.Report, string, error) {
	files := mrreview.Checkout(env.projectDir)
	if post && env.canPost() {
		gl, err := gitlab.New(gitlab.Options{BaseURL: env.serverURL, Token: env.token.reveal(), Logger: logger, CreateRetryWait: 2 * time.Second})
		if err != nil {
			return nil, "", err
		}
		rev := mrreview.New(mrreview.Options{GitLab: gl, Logger: logger, Experimenter: exp, CloneSource: cloneSource, NoStatus: true})
		res, err := rev.Run(ctx, review.Job{ProjectID: env.projectID, MRIID: env.mrIID, HeadSHA: env.headSHA}, files)
		if err != nil {
			return nil, "", fmt.Errorf("review merge request !%d: %w", env.mrIID, err)
		}
		switch {
		case res.Report != nil:
			return res.Report, res.NoteURL, nil
		case res.Outcome == mrreview.OutcomeNoMigrations:
			rep := report.New(nil, nil, nil)
			rep.Commit = env.headSHA
			return rep, "", nil
		}
		// Stale (a newer push exists) or invalid config: review the
		// checkout without posting.
		fmt.Fprintf(stderr, "reviewer ci: not posting (%s); reviewing the checkout only\n", res.Outcome)
	} else if post && env.mrIID != 0 && env.token == "" {
		fmt.Fprintln(stderr, "reviewer ci: PGAI_GITLAB_TOKEN is not set, so nothing is posted on the merge request (CI_JOB_TOKEN cannot write notes); writing the reports only")
	}
	rep, err := localCIReview(ctx, env, exp)
	return rep, "", err
}

// localCIReview reviews the changed migrations of the checkout as the
// merge-request review does (every migration of their directories as
// context): those git reports changed since the MR's diff base, or every
// migration under the configured paths when there is no base.
func localCIReview(ctx context.Context, env ciEnv, exp review.Experimenter) (*report.Report, error) {
	src := mrreview.Checkout(env.projectDir)
	cfg, err := config.Load("")
	if err != nil {
		return nil, err
	}
	if b, err := src.ReadFile(ctx, config.FileName); err == nil {
		if cfg, err = config.Parse(config.FileName, b); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", config.FileName, err)
	}
	if env.diffBase == "" {
		paths := cfg.Paths
		if len(paths) == 0 {
			paths = []string{"."}
		}
		return review.Run(ctx, review.Request{FS: os.DirFS(env.projectDir), Paths: paths, Config: cfg, Experimenter: exp, Commit: env.commitSHA, Schema: cfg.Schema})
	}
	changed, err := gitChanged(ctx, env.projectDir, env.diffBase, "AMR")
	if err != nil {
		return nil, err
	}
	added, err := gitChanged(ctx, env.projectDir, env.diffBase, "A")
	if err != nil {
		return nil, err
	}
	t := mrreview.Tree{Source: src, Config: cfg, Commit: env.commitSHA, Experimenter: exp}
	for _, p := range changed {
		if mrreview.IsMigration(p, cfg) {
			t.Changed = append(t.Changed, p)
		}
	}
	for _, p := range added {
		if mrreview.IsMigration(p, cfg) {
			t.Added = append(t.Added, p)
		}
	}
	return mrreview.ReviewTree(ctx, t)
}

// cloneSource names what the clones are made from, for the summary: the
// DBLab Engine's host, or the source database's host and name (never
// its credentials).
func (c *cloneFlags) source() string {
	if !c.enabled() {
		return ""
	}
	c.resolve()
	raw := c.sourceDSN
	if c.mode == "dblab" {
		raw = c.dblabURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return c.mode
	}
	return c.mode + ": " + u.Host + u.Path
}

// gitChanged lists the files changed since base, filtered by git diff --diff-filter
// letters (A added, M modified, R renamed) (the checkout needs
// the base commit: GIT_DEPTH 0 or deep enough).
func gitChanged(ctx context.Context, dir, base, filter string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "diff", "--name-only", "--diff-filter="+filter, base+"...HEAD")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git diff %s...HEAD: %v: %s (set GIT_DEPTH: 0 so the MR base is fetched)", base, err, strings.TrimSpace(errb.String()))
	}
	var files []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			files = append(files, l)
		}
	}
	return files, nil
}

func writeReport(path string, rep *report.Report, write func(io.Writer, *report.Report) error) error {
	if path == "" {
		return nil
	}
	var b bytes.Buffer
	if err := write(&b, rep); err != nil {
		return fmt.Errorf("render %s: %w", path, err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
