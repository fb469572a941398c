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
