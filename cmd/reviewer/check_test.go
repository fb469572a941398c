package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the reviewer in-process and returns its exit code and output.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad/001_index.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a (x);\nCREATE INDEX b_idx ON b (y);\n")
	good := writeFile(t, dir, "good/001_table.sql", "SET lock_timeout = '2s';\nSET statement_timeout = '5min';\nCREATE TABLE IF NOT EXISTS t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);\n")
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"blocking", []string{"check", bad}, exitBlocking},
		{"clean", []string{"check", good}, exitOK},
		{"missing path", []string{"check", filepath.Join(dir, "nope")}, exitError},
		{"bad flag", []string{"check", "--no-such-flag", good}, exitError},
		{"bad format", []string{"check", "--format", "xml", good}, exitError},
		{"bad version", []string{"check", "--pg-version", "banana", good}, exitError},
		{"no paths", []string{"check"}, exitError},
		{"unknown command", []string{"frobnicate"}, exitError},
	} {
		code, out, errOut := runCLI(t, "", tc.args...)
		if code != tc.want {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tc.name, code, tc.want, out, errOut)
		}
	}
}

func TestCheckTextAndStdin(t *testing.T) {
	t.Parallel()
	sql := "ALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX orders_note_idx ON orders (note);\nSELEC 1;\n"
	code, out, _ := runCLI(t, sql, "check", "--stdin-filename", "db/V7__note.sql", "-")
	if code != exitBlocking {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"db/V7__note.sql:2:1: error [index-create-nonconcurrent]",
		"db/V7__note.sql:3:1: error [syntax-error]",
		"why: ", "fix: ", "docs: https://www.postgresql.org/docs/",
		"CREATE INDEX CONCURRENTLY orders_note_idx ON orders",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes written to a non-terminal")
	}
}

func TestCheckJSONContract(t *testing.T) {
	t.Parallel()
	sql := "CREATE INDEX i ON t (x);\n"
	_, out, _ := runCLI(t, sql, "check", "--format", "json", "-")
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	if doc["version"] != float64(1) {
		t.Errorf("version = %v", doc["version"])
	}
	files := doc["files"].([]any)
	for _, k := range []string{"path", "framework", "in_transaction", "statements", "analysed", "skipped_reason"} {
		if _, ok := files[0].(map[string]any)[k]; !ok {
			t.Errorf("files[0] lacks %q", k)
		}
	}
	f := doc["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"rule", "severity", "path", "line", "column", "end_line", "end_column", "statement", "message", "why", "fix", "docs_url", "fingerprint", "evidence"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %q", k)
		}
	}
	s := doc["summary"].(map[string]any)
	for _, k := range []string{"files", "statements", "errors", "warnings", "infos", "blocking"} {
		if _, ok := s[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
}

type cqIssue struct {
	Description string `json:"description"`
	CheckName   string `json:"check_name"`
	Fingerprint string `json:"fingerprint"`
	Severity    string `json:"severity"`
	Location    struct {
		Path  string `json:"path"`
		Lines struct {
			Begin int `json:"begin"`
		} `json:"lines"`
	} `json:"location"`
}

func codeQuality(t *testing.T, path string) []cqIssue {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var issues []cqIssue
	if err := json.Unmarshal(b, &issues); err != nil {
		t.Fatalf("invalid Code Quality JSON: %v", err)
	}
	for _, is := range issues {
		if is.Description == "" || is.CheckName == "" || is.Fingerprint == "" || is.Location.Path == "" || is.Location.Lines.Begin < 1 {
			t.Errorf("incomplete issue %+v", is)
		}
		switch is.Severity {
		case "info", "minor", "major", "critical", "blocker":
		default:
			t.Errorf("severity %q is not a GitLab Code Quality severity", is.Severity)
		}
	}
	return issues
}

// TestCodeQualityFingerprintsSurviveInsertedLines: GitLab compares Code
// Quality reports of the source and target branch by fingerprint; a
// fingerprint that moved with its line would show every finding as new.
func TestCodeQualityFingerprintsSurviveInsertedLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	body := "CREATE INDEX a_idx ON a (x);\nALTER TABLE a ADD CONSTRAINT a_fk FOREIGN KEY (b_id) REFERENCES b (id);\nCREATE INDEX a_idx2 ON a (x);\n"
	p := writeFile(t, dir, "m/001.sql", body)
	before := filepath.Join(dir, "before.json")
	after := filepath.Join(dir, "after.json")
	runCLI(t, "", "check", "--format", "codequality="+before, p)
	writeFile(t, dir, "m/001.sql", "-- a comment\n\n-- and another\nSELECT 1;\n"+body)
	runCLI(t, "", "check", "--format", "codequality="+after, p)
	b, a := codeQuality(t, before), codeQuality(t, after)
	if len(b) == 0 || len(b) != len(a) {
		t.Fatalf("before %d issues, after %d", len(b), len(a))
	}
	seen := map[string]bool{}
	for i := range b {
		if b[i].Fingerprint != a[i].Fingerprint {
			t.Errorf("fingerprint of %s changed: %s → %s", b[i].CheckName, b[i].Fingerprint, a[i].Fingerprint)
		}
		if a[i].Location.Lines.Begin != b[i].Location.Lines.Begin+4 {
			t.Errorf("line %d → %d, want +4", b[i].Location.Lines.Begin, a[i].Location.Lines.Begin)
		}
		if seen[b[i].Fingerprint] {
			t.Errorf("duplicate fingerprint %s", b[i].Fingerprint)
		}
		seen[b[i].Fingerprint] = true
	}
}

func TestCheckSeveralFormatsInOneRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := writeFile(t, dir, "001.sql", "CREATE INDEX i ON t (x);\n")
	junit := filepath.Join(dir, "out", "junit.xml")
	md := filepath.Join(dir, "out", "review.md")
	code, out, errOut := runCLI(t, "", "check", p, "--format", "text", "--format", "junit="+junit, "--format", "markdown="+md)
	if code != exitBlocking {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "[index-create-nonconcurrent]") {
		t.Errorf("text output missing: %s", out)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name     string `xml:"name,attr"`
				Failures []struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("invalid JUnit XML: %v", err)
	}
	if suites.Failures != 1 || len(suites.Suites[0].Cases) != 1 || len(suites.Suites[0].Cases[0].Failures) != 1 {
		t.Errorf("junit = %+v", suites)
	}
	m, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m), "index-create-nonconcurrent") || !strings.Contains(string(m), "```sql") {
		t.Errorf("markdown report:\n%s", m)
	}
	for _, line := range strings.Split(string(m), "\n") {
		if strings.HasPrefix(line, "/") {
			t.Errorf("markdown line starts with / (a GitLab quick action): %q", line)
		}
	}
	if code, _, errOut := runCLI(t, "", "check", p, "--format", "text", "--format", "json"); code != exitError || !strings.Contains(errOut, "standard output") {
		t.Errorf("two formats on stdout: exit %d, %s", code, errOut)
	}
}

func TestIgnoreDirectives(t *testing.T) {
	t.Parallel()
	sql := "-- pgai:ignore index-create-nonconcurrent the table has 10 rows\nCREATE INDEX i ON t (x);\n-- pgai:ignore drop-everything\nCREATE INDEX CONCURRENTLY j ON t (y);\n"
	_, out, _ := runCLI(t, sql, "check", "--format", "json", "-")
	var doc struct {
		Findings []struct{ Rule, Message string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range doc.Findings {
		rules = append(rules, f.Rule)
		if f.Rule == "index-create-nonconcurrent" {
			t.Errorf("ignored finding reported: %s", f.Message)
		}
	}
	if !strings.Contains(strings.Join(rules, ","), "unused-ignore") {
		t.Errorf("unused ignore not reported; findings: %v", rules)
	}
}

func TestConfigFileAndFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, ".git/HEAD", "ref: refs/heads/main\n")
	writeFile(t, dir, ".pgai.yml", "paths: [db]\nrules:\n  index-create-nonconcurrent: warning\n")
	writeFile(t, dir, "db/001.sql", "CREATE INDEX i ON t (x);\n")
	cfg := filepath.Join(dir, ".pgai.yml")
	// downgraded to a warning by the config: the gate passes
	if code, out, errOut := runCLI(t, "", "check", "--config", cfg); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// --fail-on warning makes it block again
	if code, _, _ := runCLI(t, "", "check", "--config", cfg, "--fail-on", "warning"); code != exitBlocking {
		t.Fatalf("--fail-on warning: exit %d, want 1", code)
	}
	writeFile(t, dir, "bad/.pgai.yml", "rules: {nope: error}\n")
	if code, _, errOut := runCLI(t, "", "check", "--config", filepath.Join(dir, "bad/.pgai.yml"), filepath.Join(dir, "db")); code != exitError || !strings.Contains(errOut, "nope") {
		t.Fatalf("bad config: exit %d, %s", code, errOut)
	}
}

func TestRulesCommand(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, "", "rules")
	if code != exitOK || !strings.Contains(out, "index-create-nonconcurrent") {
		t.Fatalf("rules: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "rules", "index-create-nonconcurrent")
	if code != exitOK || !strings.Contains(out, "## Why") || !strings.Contains(out, "## Bad") || !strings.Contains(out, "CONCURRENTLY") {
		t.Fatalf("rule doc: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "", "rules", "no-such-rule"); code != exitError {
		t.Errorf("unknown rule: exit %d", code)
	}
	code, out, _ = runCLI(t, "", "rules", "--markdown")
	if code != exitOK || !strings.Contains(out, "| rule | severity | flags |") {
		t.Fatalf("markdown: %s", out)
	}
}

// TestReadmeRuleListIsCurrent keeps the README's generated rule list in
// step with the code (`reviewer rules --markdown`).
func TestReadmeRuleListIsCurrent(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- rules:begin (generated by `reviewer rules --markdown`) -->\n", "<!-- rules:end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README lacks the %q … %q block", begin, end)
	}
	if got, want := s[i+len(begin):j], rulesMarkdown(); got != want {
		t.Errorf("README rule list is stale: run\n  go run ./cmd/reviewer rules --markdown\nor just run scripts/update-readme")
	}
}
