package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/loadtest"
	"gitlab.com/pgai/reviewer/webhook"
)

func needPgbench(t *testing.T) {
	t.Helper()
	if _, err := loadtest.FindPgbench(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skip(err)
	}
}

// /pgai bench in a merge request: pgbench on the dedicated target, the
// table and the plot (uploaded) in the thread, the run stored.
func TestPgaiBenchCommand(t *testing.T) {
	needPgbench(t)
	ctx := context.Background()
	target := pgtest.New(t)
	own := pgtest.New(t)
	pool := own.Pool(t)
	if err := loadtest.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	srv := gitlabtest.New(t)
	srv.AddUser("tok", gitlabtest.User{ID: 1, Username: "pgai_bot"})
	srv.AddUser("dev", gitlabtest.User{ID: 5, Username: "dev"})
	srv.SetMember(10, 5, 30)
	srv.AddMR(gitlabtest.MR{ProjectID: 10, IID: 3, Title: "add index", AuthorID: 5, BaseSHA: "base"})
	srv.SetFile(10, "base", "README", "x")
	srv.Push(10, 3, "head1", gitlabtest.Change{Path: "db/1.sql", Content: "SELECT 1;\n"})
	gl, err := gitlab.New(gitlab.Options{BaseURL: srv.URL, Token: "tok", HTTPClient: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	rev := mrreview.New(mrreview.Options{GitLab: gl})
	store := loadtest.NewStore(pool)
	m, err := loadtest.NewManager(loadtest.ManagerOptions{Runner: loadtest.LocalRunner{}, Store: store, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	bc := &benchCommand{m: m, gl: gl, dsn: target.URL, runner: "local"}
	rev.Register(bc.command())

	text := "/pgai bench --clients 1,2 --duration 2s --scale 1"
	noteID, did := srv.AddUserNote(10, 3, 5, text)
	cmd := webhook.Command{ProjectID: 10, MRIID: 3, NoteID: noteID, DiscussionID: did, AuthorID: 5, AuthorUsername: "dev", Text: text}
	if err := rev.Command(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	var reply string
	for _, d := range srv.Discussions(10, 3) {
		if d.ID == did && len(d.Notes) == 2 {
			reply = d.Notes[1].Body
		}
	}
	for _, want := range []string{"**pgbench benchmark** (run ", "PostgreSQL", "| clients | TPS", "| 1 |", "| 2 |", "![pgai-bench-", "/uploads/", "reviewer bench export --run"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply lacks %q:\n%s", want, reply)
		}
	}
	ups := srv.Uploads(10)
	if len(ups) != 1 || !strings.HasPrefix(string(ups[0].Content), "\x89PNG") {
		t.Fatalf("uploads = %d", len(ups))
	}
	runs, err := store.List(ctx, loadtest.ListOptions{ProjectID: 10, MRIID: 3})
	if err != nil || len(runs) != 1 || runs[0].Status != loadtest.StatusDone || runs[0].Origin.RequestedBy != "dev" {
		t.Fatalf("stored runs = %+v %v", runs, err)
	}

	// Bad options get an answer, not a benchmark.
	for text, want := range map[string]string{
		"/pgai bench --clients 1-64 --duration 60s": "a /pgai bench may take 5m0s",
		"/pgai bench --script /etc/passwd":          "flag provided but not defined: -script",
		"/pgai bench --help":                        "Options of `/pgai bench`",
	} {
		noteID, did := srv.AddUserNote(10, 3, 5, text)
		if err := rev.Command(ctx, webhook.Command{ProjectID: 10, MRIID: 3, NoteID: noteID, DiscussionID: did, AuthorID: 5, Text: text}); err != nil {
			t.Fatal(err)
		}
		for _, d := range srv.Discussions(10, 3) {
			if d.ID == did && (len(d.Notes) != 2 || !strings.Contains(d.Notes[1].Body, want)) {
				t.Errorf("%s: reply %+v, want %q", text, d.Notes[len(d.Notes)-1].Body, want)
			}
		}
	}
	if runs, _ := store.List(ctx, loadtest.ListOptions{}); len(runs) != 1 {
		t.Errorf("%d runs stored, want 1", len(runs))
	}
}

// ciJob is the shipped runner project's job.
type ciJob struct {
	Script    []string `yaml:"script"`
	Artifacts struct {
		When  string   `yaml:"when"`
		Paths []string `yaml:"paths"`
	} `yaml:"artifacts"`
}

// `reviewer bench --runner gitlab` end to end against the fake GitLab:
// the fake pipeline runs the shipped examples/bench-runner/.gitlab-ci.yml
// job (its reviewer command line, in-process) with the spec variable, and
// returns the job's artifacts path as the archive.
func TestBenchGitLabRunnerCLI(t *testing.T) {
	needPgbench(t)
	b, err := os.ReadFile("../../examples/bench-runner/.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(b, &top); err != nil {
		t.Fatalf(".gitlab-ci.yml: %v", err)
	}
	var wrap struct {
		Job *ciJob `yaml:"pgai-bench"`
	}
	if err := yaml.Unmarshal(b, &wrap); err != nil {
		t.Fatalf(".gitlab-ci.yml: %v", err)
	}
	jobs := map[string]ciJob{}
	if wrap.Job != nil {
		jobs[loadtest.RunnerJob] = *wrap.Job
	}
	if _, ok := top["stages"]; !ok {
		t.Error(".gitlab-ci.yml has no stages")
	}
	job, ok := jobs[loadtest.RunnerJob]
	if !ok {
		t.Fatalf(".gitlab-ci.yml has no job %s", loadtest.RunnerJob)
	}
	if job.Artifacts.When != "always" || len(job.Artifacts.Paths) != 1 {
		t.Fatalf("artifacts = %+v: want when: always and the run folder", job.Artifacts)
	}
	var benchLine string
	for _, l := range job.Script {
		if strings.Contains(l, " bench ") {
			benchLine = l
		}
	}
	if !strings.Contains(b2s(job.Script), "$"+loadtest.RunnerSpecVariable) || benchLine == "" {
		t.Fatalf("script %q does not read %s or run reviewer bench", job.Script, loadtest.RunnerSpecVariable)
	}
	args := strings.Fields(benchLine)[1:] // after ${PGAI_REVIEWER:-reviewer}
	outDir := strings.TrimSuffix(job.Artifacts.Paths[0], "/")

	target := pgtest.New(t)
	t.Setenv(loadtest.RunnerDSNVariable, target.URL)
	srv := gitlabtest.New(t)
	srv.AddUser("tok", gitlabtest.User{ID: 1, Username: "pgai_bot"})
	srv.SetProjectPath(77, "perf/runner")
	srv.SetPipelineHandler(func(ctx context.Context, p gitlabtest.PipelineRun) gitlabtest.PipelineResult {
		work := t.TempDir()
		if err := os.WriteFile(filepath.Join(work, "spec.json"), []byte(p.Variables[loadtest.RunnerSpecVariable]), 0o644); err != nil {
			t.Error(err)
		}
		jobArgs := make([]string, len(args))
		for i, a := range args {
			jobArgs[i] = a
			switch a {
			case "spec.json":
				jobArgs[i] = filepath.Join(work, "spec.json")
			case outDir:
				jobArgs[i] = filepath.Join(work, outDir)
			}
		}
		var stdout, stderr strings.Builder
		code := run(ctx, jobArgs, strings.NewReader(""), &stdout, &stderr)
		zb, err := loadtest.ZipRunFolder(filepath.Join(work, outDir), outDir)
		if err != nil {
			t.Error(err)
		}
		st := "success"
		if code != 0 {
			st = "failed"
			t.Logf("job: %s", stderr.String())
		}
		return gitlabtest.PipelineResult{Status: st, Jobs: []gitlabtest.FakeJob{{Name: loadtest.RunnerJob, Stage: "bench", Status: st, Artifacts: zb}}}
	})
	t.Setenv("PGAI_GITLAB_TOKEN", "tok")
	out := t.TempDir()
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"bench", "--runner", "gitlab", "--gitlab-url", srv.URL, "--runner-project", "perf/runner",
		"--clients", "1", "--duration", "2s", "--scale", "1", "--out", out, "-q"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"| 1 |", "Pipeline: " + srv.URL} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	run, err := loadtest.LoadRunDir(out)
	if err != nil || run.Runner != "gitlab" || len(run.Iterations) != 1 || len(run.Iterations[0].Artifacts) < 70 {
		t.Fatalf("imported run = %+v %v", run, err)
	}
	if _, err := os.Stat(filepath.Join(out, loadtest.SummaryPlot)); err != nil {
		t.Error(err)
	}
}

func b2s(ss []string) string { return strings.Join(ss, "\n") }

func TestBenchCLIBadInput(t *testing.T) {
	needPgbench(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--dsn", "postgres://u:pw@127.0.0.1:1/x?connect_timeout=2", "--clients", "1", "--duration", "1s", "-q"}, "cannot connect to the target postgres://u:REDACTED@127.0.0.1:1/x"},
		{[]string{"bench", "--dsn", "postgres://x/y", "--clients", "0"}, "clients"},
		{[]string{"bench", "--clients", "1"}, "target: no dsn"},
		{[]string{"bench", "--dsn", "postgres://x/y", "--ab", "nonsense"}, "want pg_stat_statements or SETTING=VALUE1,VALUE2"},
		{[]string{"bench", "--runner", "gitlab", "--dsn", "postgres://x/y"}, "no runner project"},
	} {
		t.Setenv("PGAI_BENCH_DSN", "")
		var stdout, stderr strings.Builder
		out := t.TempDir()
		code := run(context.Background(), append(tc.args, "--out", out), strings.NewReader(""), &stdout, &stderr)
		if code != exitError || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, stderr.String(), tc.want)
		}
		if strings.Contains(stderr.String()+stdout.String(), ":pw@") {
			t.Errorf("%v: the password was printed", tc.args)
		}
	}
}
