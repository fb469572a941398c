package loadtest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/pgtest"
)

const runnerProject = "perf/bench-runner"

func fakeCI(t *testing.T) (*gitlabtest.Server, *gitlab.Client) {
	t.Helper()
	srv := gitlabtest.New(t)
	srv.AddUser("tok", gitlabtest.User{ID: 5, Username: "pgai_bot"})
	srv.SetProjectPath(42, runnerProject)
	gl, err := gitlab.New(gitlab.Options{BaseURL: srv.URL, Token: "tok", HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, gl
}

// runnerJob plays the runner project's job: the spec from the pipeline
// variable, the DSN from the runner's own variable, the run folder zipped
// as the job's artifacts.
func runnerJob(t *testing.T, dsn string, fail bool) gitlabtest.PipelineHandler {
	return func(ctx context.Context, p gitlabtest.PipelineRun) gitlabtest.PipelineResult {
		spec, err := ParseSpec([]byte(p.Variables[RunnerSpecVariable]))
		if err != nil || spec.Target.DSN != "" || spec.Target.DSNEnv != RunnerDSNVariable {
			t.Errorf("pipeline spec: %+v %v", spec, err)
			return gitlabtest.PipelineResult{Status: "failed", Jobs: []gitlabtest.FakeJob{{Name: RunnerJob, Status: "failed", FailureReason: "script_failure"}}}
		}
		spec.Target.DSN = dsn
		if fail {
			no := false
			spec.Workload.Init = &no // no tables: pgbench fails
		}
		dir := t.TempDir()
		_, runErr := RunLocal(ctx, *spec, LocalOptions{Dir: dir, AllowShell: true})
		zb, err := ZipRunFolder(dir, "pgai-bench")
		if err != nil {
			t.Error(err)
		}
		if runErr != nil {
			return gitlabtest.PipelineResult{Status: "failed", Jobs: []gitlabtest.FakeJob{{Name: RunnerJob, Stage: "bench", Status: "failed", FailureReason: "script_failure", Artifacts: zb}}}
		}
		return gitlabtest.PipelineResult{Status: "success", Jobs: []gitlabtest.FakeJob{{Name: RunnerJob, Stage: "bench", Status: "success", Artifacts: zb}}}
	}
}

func TestGitLabRunner(t *testing.T) {
	needPgbench(t)
	db := pgtest.New(t)
	srv, gl := fakeCI(t)
	srv.SetPipelineHandler(runnerJob(t, db.URL, false))
	r := GitLabRunner{CI: gl, Project: runnerProject, Poll: 200 * time.Millisecond}
	spec := smallSpec("", 1)
	spec.Target.DSNEnv = RunnerDSNVariable
	dir := t.TempDir()
	run, err := r.Run(context.Background(), spec, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Runner != "gitlab" || !strings.Contains(run.PipelineURL, "/pipelines/") || run.Status != StatusDone || len(run.Iterations) != 1 || run.Iterations[0].TPS() <= 0 {
		t.Fatalf("run = %+v", run)
	}
	if len(run.Iterations[0].Artifacts) < 70 {
		t.Errorf("%d artifacts imported", len(run.Iterations[0].Artifacts))
	}
	for _, f := range []string{"run.json", SummaryPlot, run.Iterations[0].Dir + "/pg/settings.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	back, _ := LoadRunDir(dir)
	if back == nil || back.PipelineURL != run.PipelineURL {
		t.Errorf("run.json lacks the pipeline link: %+v", back)
	}
	for _, route := range []string{gitlabtest.RouteCreatePipeline, gitlabtest.RouteGetPipeline, gitlabtest.RoutePipelineJobs, gitlabtest.RouteJobArtifacts} {
		if srv.CountCalls(route) == 0 {
			t.Errorf("no call of %s", route)
		}
	}
	for _, c := range srv.Calls() {
		if strings.Contains(c.Body, db.URL) {
			t.Errorf("the DSN was sent to GitLab: %s %s", c.Route, c.Body)
		}
	}
}

// A failing job: a clear error naming the job and its failure, and the
// partial artifacts it uploaded are imported.
func TestGitLabRunnerFailedPipeline(t *testing.T) {
	needPgbench(t)
	db := pgtest.New(t)
	srv, gl := fakeCI(t)
	srv.SetPipelineHandler(runnerJob(t, db.URL, true))
	dir := t.TempDir()
	run, err := GitLabRunner{CI: gl, Project: runnerProject, Poll: 200 * time.Millisecond}.Run(context.Background(), smallSpec("", 1), dir, nil)
	if err == nil || !strings.Contains(err.Error(), "ended failed") || !strings.Contains(err.Error(), "job pgai-bench failed (script_failure)") {
		t.Fatalf("err = %v", err)
	}
	if run.Status != StatusFailed || len(run.Iterations) != 1 || len(run.Iterations[0].Artifacts) < 60 {
		t.Fatalf("partial run not imported: %+v", run)
	}
	if _, err := os.Stat(filepath.Join(dir, run.Iterations[0].Dir, "pgbench/stderr.txt")); err != nil {
		t.Error(err)
	}
}

// A pipeline that does not finish in time is canceled: nothing is left
// running on the runner.
func TestGitLabRunnerTimeout(t *testing.T) {
	srv, gl := fakeCI(t)
	stopped := make(chan struct{})
	srv.SetPipelineHandler(func(ctx context.Context, p gitlabtest.PipelineRun) gitlabtest.PipelineResult {
		<-ctx.Done() // a job that hangs until canceled
		close(stopped)
		return gitlabtest.PipelineResult{Status: "canceled", Jobs: []gitlabtest.FakeJob{{Name: RunnerJob, Status: "canceled"}}}
	})
	dir := t.TempDir()
	run, err := GitLabRunner{CI: gl, Project: runnerProject, Poll: 100 * time.Millisecond, Timeout: time.Second}.Run(context.Background(), smallSpec("", 1), dir, nil)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 1s: canceled it") {
		t.Fatalf("err = %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the pipeline was not canceled")
	}
	if srv.CountCalls(gitlabtest.RouteCancelPipeline) != 1 {
		t.Errorf("cancel calls = %d", srv.CountCalls(gitlabtest.RouteCancelPipeline))
	}
	if run.Status != StatusFailed || run.PipelineURL == "" {
		t.Errorf("run = %+v", run)
	}
	if _, err := os.Stat(filepath.Join(dir, "run.json")); err != nil {
		t.Errorf("no run.json for the failed run: %v", err)
	}
}

func TestGitLabRunnerNoPipeline(t *testing.T) {
	_, gl := fakeCI(t) // no handler: GitLab refuses to create the pipeline
	_, err := GitLabRunner{CI: gl, Project: runnerProject}.Run(context.Background(), smallSpec("", 1), t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "trigger the runner pipeline in perf/bench-runner@main") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnpackRunFolderRefusesEscapes(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "run.json"), []byte(`{"spec":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	zb, err := ZipRunFolder(src, "../evil")
	if err != nil {
		t.Fatal(err)
	}
	// The folder with run.json is the root: "../evil/" is stripped, so
	// nothing leaves dir; a name with .. inside the root is refused.
	dir := t.TempDir()
	if err := unpackRunFolder(zb, dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "run.json")); err != nil {
		t.Error(err)
	}
	if err := unpackRunFolder([]byte("not a zip"), dir, 1<<20); err == nil {
		t.Error("garbage accepted")
	}
}
