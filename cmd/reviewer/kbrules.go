package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
)

// ruleDocsDir is where the rule pages live in the repository; their
// published URL is kb.DefaultRulesURL.
const ruleDocsDir = "docs/rules"

const ruleDocsHeader = "<!-- Generated from the rule catalogue (checks/) by `go run ./cmd/reviewer kb rule-docs`; do not edit. -->\n\n"

// ruleDocPages renders one Markdown page per rule of the catalogue, and an
// index (README.md), keyed by file name.
func ruleDocPages() map[string]string {
	pages := map[string]string{}
	var index strings.Builder
	index.WriteString(ruleDocsHeader)
	index.WriteString("# pgai reviewer rules\n\nOne page per rule: what it flags, why (the lock, rewrite or scan PostgreSQL does), the fix, examples and the PostgreSQL docs.\n\n| rule | severity | summary |\n| --- | --- | --- |\n")
	for _, r := range checks.All() {
		pages[r.ID+".md"] = ruleDocsHeader + RuleDoc(r)
		fmt.Fprintf(&index, "| [%s](%s.md) | %s | %s |\n", r.ID, r.ID, r.Severity, strings.ReplaceAll(r.Summary, "|", "\\|"))
	}
	pages["README.md"] = index.String()
	return pages
}

// kbRuleDocs writes docs/rules/<id>.md for every rule and removes the
// pages of rules that no longer exist.
func kbRuleDocs(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reviewer kb rule-docs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ruleDocsDir, "folder of the rule pages (run from the repository root)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	pages := ruleDocPages()
	old, err := filepath.Glob(filepath.Join(*dir, "*.md"))
	if err != nil {
		return err
	}
	removed := 0
	for _, f := range old {
		if _, ok := pages[filepath.Base(f)]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
			removed++
		}
	}
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	sort.Strings(names)
	written := 0
	for _, n := range names {
		p := filepath.Join(*dir, n)
		if b, err := os.ReadFile(p); err == nil && string(b) == pages[n] {
			continue
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.WriteFile(p, []byte(pages[n]), 0o644); err != nil {
			return err
		}
		written++
	}
	fmt.Fprintf(stdout, "%s: %d rule pages, %d written, %d removed\n", *dir, len(pages)-1, written, removed)
	return nil
}
