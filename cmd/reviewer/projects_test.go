package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestFrameworkProjects runs `reviewer check` on the testdata project of
// every framework and compares its findings with the tables in
// sqlparse/testdata/projects/README.md, which list each dangerous
// statement with the rule that must fire and its 1-based line (and, for
// syntax errors, the column where the parser stopped).
func TestFrameworkProjects(t *testing.T) {
	t.Parallel()
	const root = "../../sqlparse/testdata/projects"
	doc, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		file      string
		line, col int
		rule      string // "" = none of the dangerous rules here
	}
	dangerous := []string{"index-create-nonconcurrent", "concurrent-in-transaction", "fk-validated-inline", "syntax-error"}
	projects := map[string][]want{}
	var order []string
	cur := ""
	pos := regexp.MustCompile(`^(\d+):(\d+)`)
	at := regexp.MustCompile(`syntax-error at (\d+):(\d+)`)
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "## ") {
			cur = strings.Fields(line)[1]
			order = append(order, cur)
			continue
		}
		cells := strings.Split(line, "|")
		if cur == "" || len(cells) < 7 || strings.HasPrefix(strings.TrimSpace(cells[1]), "file") || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		file := strings.Fields(strings.TrimSpace(cells[1]))[0]
		m := pos.FindStringSubmatch(strings.TrimSpace(cells[2]))
		if m == nil {
			continue
		}
		w := want{file: file}
		w.line, _ = strconv.Atoi(m[1])
		danger := strings.TrimSpace(cells[5])
		if s := at.FindStringSubmatch(danger); s != nil {
			w.rule = "syntax-error"
			w.line, _ = strconv.Atoi(s[1])
			w.col, _ = strconv.Atoi(s[2])
		} else if f := strings.Fields(danger); len(f) > 0 && !strings.HasPrefix(f[0], "(") {
			w.rule = f[0]
		}
		projects[cur] = append(projects[cur], w)
	}
	if len(order) < 10 {
		t.Fatalf("found %d projects in the README, want 10: %v", len(order), order)
	}
	for _, name := range order {
		args := []string{"check", "--format", "json", filepath.Join(root, name)}
		if name == "flyway" {
			args = append(args, "--var", "app_schema=app")
		}
		code, out, errOut := runCLI(t, "", args...)
		if code != exitBlocking {
			t.Errorf("%s: exit %d, want 1 (blocking findings)\n%s", name, code, errOut)
			continue
		}
		var rep struct {
			Files []struct {
				Path      string `json:"path"`
				Framework string `json:"framework"`
			} `json:"files"`
			Findings []struct {
				Rule   string `json:"rule"`
				Path   string `json:"path"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: bad JSON: %v", name, err)
		}
		for _, f := range rep.Files {
			if f.Framework != name && !(name == "sqitch" && strings.HasSuffix(f.Path, "unlisted.sql")) {
				t.Errorf("%s: %s detected as %q", name, f.Path, f.Framework)
			}
		}
		for _, f := range rep.Findings {
			// down parts (rollbacks) are only syntax-checked
			if strings.HasSuffix(f.Path, "down.sql") && f.Rule != "syntax-error" {
				t.Errorf("%s: %s:%d: %s reported on a down migration", name, f.Path, f.Line, f.Rule)
			}
		}
		found := func(file string, line int, rule string) (bool, int) {
			for _, f := range rep.Findings {
				if f.Rule == rule && f.Line == line && (filepath.Base(f.Path) == filepath.Base(file) && strings.HasSuffix(f.Path, file)) {
					return true, f.Column
				}
			}
			return false, 0
		}
		for _, w := range projects[name] {
			if w.rule == "" {
				for _, r := range dangerous {
					if ok, _ := found(w.file, w.line, r); ok {
						t.Errorf("%s: %s:%d: unexpected %s", name, w.file, w.line, r)
					}
				}
				continue
			}
			ok, col := found(w.file, w.line, w.rule)
			if !ok {
				t.Errorf("%s: %s:%d: missing %s", name, w.file, w.line, w.rule)
				continue
			}
			if w.col != 0 && col != w.col {
				t.Errorf("%s: %s:%d: %s at column %d, want %d", name, w.file, w.line, w.rule, col, w.col)
			}
		}
	}
}
