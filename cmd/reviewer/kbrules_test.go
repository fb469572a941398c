package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/kb"
)

// TestRuleDocPagesCurrent keeps docs/rules in step with the rule catalogue:
// every rule the registry holds has its page, with the current text, and
// no page is left for a rule that is gone.
func TestRuleDocPagesCurrent(t *testing.T) {
	const regen = "regenerate with `go run ./cmd/reviewer kb rule-docs` from the repository root and commit docs/rules"
	dir := filepath.Join("..", "..", ruleDocsDir)
	pages := ruleDocPages()
	if len(pages) != len(checks.All())+1 {
		t.Fatalf("%d pages for %d rules", len(pages), len(checks.All()))
	}
	for name, want := range pages {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s/%s is missing: %s", ruleDocsDir, name, regen)
			continue
		}
		if string(got) != want {
			t.Errorf("%s/%s is out of date with the rule catalogue: %s", ruleDocsDir, name, regen)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := pages[filepath.Base(f)]; !ok {
			t.Errorf("%s/%s belongs to no rule: %s", ruleDocsDir, filepath.Base(f), regen)
		}
	}
	// Every rule cites its own page.
	docs, err := kb.RuleDocuments(ruleDocs(), kb.DefaultRulesURL, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, d := range docs {
		id := strings.TrimPrefix(d.Key, "rules:")
		if !strings.HasSuffix(d.URL, "/docs/rules/"+id+".md") {
			t.Errorf("rule %s cites %s", id, d.URL)
		}
		if other, ok := seen[d.URL]; ok {
			t.Errorf("rules %s and %s share %s", id, other, d.URL)
		}
		seen[d.URL] = id
	}
}
