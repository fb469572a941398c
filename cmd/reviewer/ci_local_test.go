package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCILocalReviewSeesSiblingsAndOrder: `reviewer ci` without a GitLab
// token reviews the files the MR changed, among their siblings, and flags
// a new migration that sorts before existing ones.
func TestCILocalReviewSeesSiblingsAndOrder(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "db/1_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(50));\n")
	writeFile(t, dir, "db/3_orders.up.sql", "CREATE TABLE orders (id bigint PRIMARY KEY);\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	base := git(t, dir, "rev-parse", "HEAD")
	// The MR adds version 2 after version 3 already exists, and widens a
	// varchar created by the base (no rewrite: the rule must know the type).
	writeFile(t, dir, "db/2_email.up.sql", "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\nALTER TABLE users ALTER COLUMN email TYPE varchar(100);\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "mr")
	env := ciEnv{projectDir: dir, diffBase: base, commitSHA: git(t, dir, "rev-parse", "HEAD")}
	rep, err := localCIReview(context.Background(), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 1 || !strings.HasSuffix(rep.Files[0].Path, filepath.FromSlash("db/2_email.up.sql")) {
		t.Fatalf("files = %+v, want only the added one", rep.Files)
	}
	var rules []string
	for _, f := range rep.Findings {
		rules = append(rules, f.Rule)
	}
	got := strings.Join(rules, ",")
	if !strings.Contains(got, "non-linear-history") {
		t.Errorf("findings %s: want non-linear-history", got)
	}
	if strings.Contains(got, "alter-column-type") {
		t.Errorf("findings %s: varchar widening does not rewrite, and the base schema was in reach", got)
	}
}

// TestCIWideningPasses: in CI too, a merge request that widens a varchar
// its history declares gets no error and no thread, and the job passes.
func TestCIWideningPasses(t *testing.T) {
	t.Parallel()
	const (
		tok  = "glpat-ci"
		pid  = 12
		iid  = 35
		base = "b000000000000000000000000000000000000000"
		head = "h222222222222222222222222222222222222222"
	)
	create := "CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(100));\n"
	widen := "SET lock_timeout = '2s';\nALTER TABLE customers ALTER COLUMN name TYPE varchar(200);\n"
	gl := gitlabtest.New(t)
	gl.AddUser(tok, gitlabtest.User{ID: 9, Username: "project_12_bot"})
	gl.SetFile(pid, base, "db/migrations/001_customers.sql", create)
	gl.AddMR(gitlabtest.MR{ProjectID: pid, IID: iid, BaseSHA: base})
	gl.Push(pid, iid, head, gitlabtest.Change{Path: "db/migrations/002_widen.sql", Content: widen})
	dir := t.TempDir()
	writeFile(t, dir, "db/migrations/001_customers.sql", create)
	writeFile(t, dir, "db/migrations/002_widen.sql", widen)
	env := map[string]string{"CI_SERVER_URL": gl.URL, "CI_PROJECT_ID": "12", "CI_MERGE_REQUEST_IID": "35",
		"CI_COMMIT_SHA": head, "CI_PROJECT_DIR": dir, "PGAI_GITLAB_TOKEN": tok}
	var stdout, stderr bytes.Buffer
	code := ciMain(t.Context(), []string{"-codequality", "", "-junit", ""}, func(k string) string { return env[k] }, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout.String(), stderr.String())
	}
	notes := gl.Notes(pid, iid)
	if len(notes) != 1 || strings.Contains(notes[0].Body, "🔴") {
		t.Errorf("%d notes, want the summary alone, without an error:\n%v", len(notes), notes)
	}
	if strings.Contains(stdout.String(), "alter-column-type") {
		t.Errorf("the widening is reported as a rewrite:\n%s", stdout.String())
	}
}
