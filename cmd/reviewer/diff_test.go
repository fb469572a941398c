package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/checks"
)

// reviewer check --diff prints the findings' edits as a diff that git
// apply takes; after applying it, checking again no longer reports what
// it fixed, and a few rounds leave no edit at all (two edits on the same
// lines come one round after the other).
func TestCheckDiffAppliesAndFixes(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed for this test:", err)
	}
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("init", "-q", ".")
	writeFile(t, repo, "db/migrations/001_orders.sql",
		"CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, status text, total_cents bigint);\n")
	// Plain SQL files run statement by statement, without a transaction:
	// CONCURRENTLY and NOT VALID + VALIDATE are drop-in replacements here.
	writeFile(t, repo, "db/migrations/002_orders_status.sql", "-- orders by status, for the dashboard\n"+
		"  CREATE INDEX orders_status_idx\n    ON orders (status); -- keep\n\n"+
		"ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total_cents >= 0);\n"+
		"DROP INDEX orders_status_old_idx")
	git("add", "-A")
	git("commit", "-qm", "migrations")

	check := func() []checks.Finding {
		t.Helper()
		_, out, errOut := runCLI(t, "", "check", "--format", "json", filepath.Join(repo, "db/migrations"))
		var rep struct{ Findings []checks.Finding }
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("check --format json: %v\n%s\n%s", err, out, errOut)
		}
		return rep.Findings
	}
	before := check()
	fixed := map[string]bool{}
	for _, f := range before {
		if f.Edit != nil {
			fixed[f.Rule] = true
		}
	}
	for _, want := range []string{"index-create-nonconcurrent", "check-validated-inline"} {
		if !fixed[want] {
			t.Fatalf("no %s finding with an edit before the fix: %+v", want, before)
		}
	}
	round := 0
	for ; round < 5; round++ {
		_, diff, errOut := runCLI(t, "", "check", "--diff", filepath.Join(repo, "db/migrations"))
		if diff == "" {
			break
		}
		if !strings.Contains(diff, "--- a/db/migrations/002_orders_status.sql\n") {
			t.Fatalf("diff paths are not relative to the repository root:\n%s", diff)
		}
		patch := filepath.Join(t.TempDir(), "fix.patch")
		if err := os.WriteFile(patch, []byte(diff), 0o644); err != nil {
			t.Fatal(err)
		}
		git("apply", "--check", patch)
		git("apply", patch)
		t.Logf("round %d: %s\n%s", round+1, strings.TrimSpace(errOut), diff)
	}
	if round == 0 || round == 5 {
		t.Fatalf("the diff did not converge (%d rounds)", round)
	}
	for _, f := range check() {
		if fixed[f.Rule] {
			t.Errorf("%s still reported after applying its edit: %s", f.Rule, f.Message)
		}
		if f.Edit != nil {
			t.Errorf("%s still has an edit after the last round", f.Rule)
		}
	}
	got, err := os.ReadFile(filepath.Join(repo, "db/migrations/002_orders_status.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  CREATE INDEX CONCURRENTLY orders_status_idx\n    ON orders (status); -- keep\n",
		"SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total_cents >= 0) NOT VALID;\nRESET lock_timeout;\n",
		"ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;\n",
		"DROP INDEX CONCURRENTLY orders_status_old_idx;\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("fixed file lacks %q:\n%s", want, got)
		}
	}
}
