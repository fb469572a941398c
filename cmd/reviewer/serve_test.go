package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
)

func TestServiceConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "reviewer.yml")
	if err := os.WriteFile(file, []byte("gitlab_url: https://file.example\nworkers: 2\nlisten_addr: \":9000\"\nwebhook_secret: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PGAI_GITLAB_URL": "https://env.example", "PGAI_GITLAB_TOKEN": "glpat-secret-token",
		"PGAI_DATABASE_URL": "postgres://u:pw@db/x", "PGAI_WORKERS": "3",
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	sf := addServiceFlags(fs, true)
	if err := fs.Parse([]string{"-config", file, "-listen", "127.0.0.1:8123", "-workers", "6"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := sf.load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(true); err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.GitLabURL, cfg.ListenAddr, fmt.Sprint(cfg.Workers), cfg.WebhookSecret.reveal(), cfg.MinAccess}
	want := []string{"https://env.example", "127.0.0.1:8123", "6", "from-file", "developer"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	// Secrets never print.
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg, "token", cfg.GitLabToken)
	printed := logs.String() + fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.DatabaseURL)
	for _, s := range []string{"glpat-secret-token", "pw@db", "from-file"} {
		if strings.Contains(printed, s) {
			t.Errorf("a secret was printed: %q in %s", s, printed)
		}
	}
}

func TestServiceConfigErrors(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	sf := addServiceFlags(fs, true)
	if err := fs.Parse([]string{"-min-access", "boss"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := sf.load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.validate(true)
	for _, want := range []string{"no GitLab URL", "no GitLab token", "no webhook secret", "no database", `unknown access level "boss"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestCIEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"CI_SERVER_URL": "https://gitlab.example", "CI_PROJECT_ID": "12", "CI_MERGE_REQUEST_IID": "34",
		"CI_COMMIT_SHA": "merge-commit", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": "head-sha",
		"CI_PROJECT_DIR": "/builds/x", "PGAI_GITLAB_TOKEN": "tok",
	}
	e, err := readCIEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if e.projectID != 12 || e.mrIID != 34 || e.headSHA != "head-sha" || e.commitSHA != "merge-commit" || !e.canPost() {
		t.Errorf("ci env = %+v", e)
	}
	delete(env, "PGAI_GITLAB_TOKEN")
	e, _ = readCIEnv(func(k string) string { return env[k] })
	if e.canPost() {
		t.Error("canPost without a token")
	}
	env["CI_MERGE_REQUEST_IID"] = "x"
	if _, err := readCIEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("bad CI_MERGE_REQUEST_IID accepted")
	}
}

func TestCI(t *testing.T) {
	t.Parallel()
	const (
		tok  = "glpat-ci"
		pid  = 12
		iid  = 34
		base = "b000000000000000000000000000000000000000"
		head = "h111111111111111111111111111111111111111"
	)
	mig := "SET lock_timeout = '2s';\nCREATE INDEX idx_a ON orders (a);\n"
	var cfg strings.Builder
	cfg.WriteString("rules:\n")
	for _, r := range checks.All() {
		if r.ID != "index-create-nonconcurrent" {
			fmt.Fprintf(&cfg, "  %s: off\n", r.ID)
		}
	}
	for _, tt := range []struct {
		name      string
		token     string
		wantNotes int
	}{{"posts with a token", tok, 2}, {"reports only without a token", "", 0}} { // summary + one inline thread
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gl := gitlabtest.New(t)
			gl.AddUser(tok, gitlabtest.User{ID: 9, Username: "project_12_bot"})
			gl.SetFile(pid, base, ".pgai.yml", cfg.String())
			gl.AddMR(gitlabtest.MR{ProjectID: pid, IID: iid, BaseSHA: base})
			gl.Push(pid, iid, head, gitlabtest.Change{Path: "db/migrations/002_idx.sql", Content: mig})
			dir := t.TempDir()
			for p, c := range map[string]string{".pgai.yml": cfg.String(), "db/migrations/002_idx.sql": mig} {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{"CI_SERVER_URL": gl.URL, "CI_PROJECT_ID": "12", "CI_MERGE_REQUEST_IID": "34",
				"CI_COMMIT_SHA": head, "CI_PROJECT_DIR": dir, "PGAI_GITLAB_TOKEN": tt.token}
			cq, junit := filepath.Join(dir, "cq.json"), filepath.Join(dir, "junit.xml")
			var stdout, stderr bytes.Buffer
			code := ciMain(t.Context(), []string{"-codequality", cq, "-junit", junit}, func(k string) string { return env[k] }, &stdout, &stderr)
			if code != exitBlocking {
				t.Fatalf("exit %d, want %d (blocking)\nstdout:\n%s\nstderr:\n%s", code, exitBlocking, stdout.String(), stderr.String())
			}
			b, err := os.ReadFile(cq)
			if err != nil || !strings.Contains(string(b), "index-create-nonconcurrent") {
				t.Errorf("code quality report: %v\n%s", err, b)
			}
			if _, err := os.Stat(junit); err != nil {
				t.Errorf("junit report: %v", err)
			}
			if n := len(gl.Notes(pid, iid)); n != tt.wantNotes {
				t.Errorf("%d notes, want %d", n, tt.wantNotes)
			}
			if tt.token == "" && !strings.Contains(stderr.String(), "PGAI_GITLAB_TOKEN is not set") {
				t.Errorf("no hint about the token:\n%s", stderr.String())
			}
		})
	}
}
