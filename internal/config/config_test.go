package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/sqlparse"
)

func TestParse(t *testing.T) {
	t.Parallel()
	c, err := Parse(".pgai.yml", []byte(`
pg_version: "14.2"
framework: goose
rules:
  syntax-error: warning
  unused-ignore: off
fail_on: warning
vars: {schema: app}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Settings.PGVersion != (checks.Version{Major: 14, Minor: 2}) {
		t.Errorf("pg_version = %v", c.Settings.PGVersion)
	}
	if c.Parse.Framework != sqlparse.FrameworkGoose {
		t.Errorf("framework = %q", c.Parse.Framework)
	}
	if c.Settings.Severity["syntax-error"] != checks.Warning || !c.Settings.Disabled["unused-ignore"] {
		t.Errorf("rules not applied: %+v", c.Settings)
	}
	if c.Settings.FailOn != checks.Warning || c.Parse.Vars["schema"] != "app" {
		t.Errorf("fail_on/vars not applied")
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := Parse(".pgai.yml", []byte("pg_version: banana\nframework: rails\nrules: {no-such-rule: error}\nfail_on: fatal\n"))
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"pg_version", "framework", "no-such-rule", "fail_on"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := Parse(".pgai.yml", []byte("pg_versoin: 15\n")); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestFindUpward(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "db", "migrations")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Find(deep); got != "" {
		t.Fatalf("found %q with no config", got)
	}
	p := filepath.Join(root, "db", FileName)
	if err := os.WriteFile(p, []byte("pg_version: 13\npaths: [migrations]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Find(deep); got != p {
		t.Fatalf("Find = %q, want %q", got, p)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Paths) != 1 || c.Paths[0] != deep {
		t.Errorf("paths = %v, want [%s]", c.Paths, deep)
	}
}
