package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
