package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"gitlab.com/pgai/reviewer/checks"
)

func runRules(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	markdown := fs.Bool("markdown", false, "print the rule catalogue as Markdown (the README's rule list)")
	asJSON := fs.Bool("json", false, "print the rules as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: reviewer rules [--markdown|--json] [RULE-ID]")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if code, ok := flagResult(err); !ok {
		return code
	}
	if len(rest) > 1 {
		fs.Usage()
		return exitError
	}
	if len(rest) == 1 {
		r := checks.Lookup(rest[0])
		if r == nil {
			fmt.Fprintf(stderr, "reviewer rules: no rule %q (run `reviewer rules` for the list)\n", rest[0])
			return exitError
		}
		if *asJSON {
			return writeRulesJSON(stdout, []*checks.Rule{r})
		}
		fmt.Fprint(stdout, RuleDoc(r))
		return exitOK
	}
	switch {
	case *asJSON:
		return writeRulesJSON(stdout, checks.All())
	case *markdown:
		fmt.Fprint(stdout, rulesMarkdown())
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tGROUP\tSUMMARY")
	for _, r := range checks.All() {
		sev := r.Severity.String()
		if r.Off {
			sev += " (off)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, sev, r.Group, r.Summary)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d rules. `reviewer rules RULE-ID` prints one rule's documentation.\n", len(checks.All()))
	return exitOK
}

type ruleJSON struct {
	ID       string `json:"id"`
	Group    string `json:"group"`
	Severity string `json:"severity"`
	Default  bool   `json:"enabled_by_default"`
	Summary  string `json:"summary"`
	Why      string `json:"why"`
	Fix      string `json:"fix"`
	DocsURL  string `json:"docs_url"`
	Bad      string `json:"bad_example,omitempty"`
	Good     string `json:"good_example,omitempty"`
}

func writeRulesJSON(w io.Writer, rules []*checks.Rule) int {
	out := make([]ruleJSON, 0, len(rules))
	for _, r := range rules {
		bad, good := examples(r)
		out = append(out, ruleJSON{r.ID, r.Group, r.Severity.String(), !r.Off, r.Summary, r.Why, r.Fix, r.DocsURL, bad, good})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return exitError
	}
	return exitOK
}

// examples returns a rule's bad and good SQL from its first fixture.
func examples(r *checks.Rule) (bad, good string) {
	for _, fx := range checks.Fixtures(r.ID) {
		if bad == "" {
			bad = strings.TrimSpace(fx.Sections["bad.sql"])
		}
		if good == "" {
			good = strings.TrimSpace(fx.Sections["good.sql"])
		}
	}
	return bad, good
}

// RuleDoc renders one rule's documentation as Markdown-flavoured text:
// summary, why, fix, bad and good examples, docs link.
func RuleDoc(r *checks.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\nSeverity: %s · group: %s", r.ID, r.Summary, r.Severity, r.Group)
	if r.Off {
		b.WriteString(" · off by default (enable with `rules: {" + r.ID + ": on}` in .pgai.yml)")
	}
	fmt.Fprintf(&b, "\n\n## Why\n\n%s\n\n## Fix\n\n%s\n", r.Why, r.Fix)
	bad, good := examples(r)
	if bad != "" {
		fmt.Fprintf(&b, "\n## Bad\n\n```sql\n%s\n```\n", bad)
	}
	if good != "" {
		fmt.Fprintf(&b, "\n## Good\n\n```sql\n%s\n```\n", good)
	}
	fmt.Fprintf(&b, "\nDocs: %s\n", r.DocsURL)
	return b.String()
}

// rulesMarkdown is the rule list of the README, generated so it cannot
// drift from the code.
func rulesMarkdown() string {
	var b strings.Builder
	groups := []struct{ id, title string }{
		{"locks", "Locks, scans and rewrites"},
		{"compatibility", "Backward compatibility and destructive changes"},
		{"types", "Types and schema design"},
		{"transactions", "Script and transaction hygiene"},
		{"measured", "Measured on a clone (reported only with --clone)"},
		{"syntax", "Parsing"},
		{"style", "Style"},
	}
	seen := map[string]bool{}
	for _, g := range groups {
		var rows []string
		for _, r := range checks.All() {
			if r.Group != g.id {
				continue
			}
			seen[r.ID] = true
			sev := r.Severity.String()
			if r.Off {
				sev += ", off by default"
			}
			rows = append(rows, fmt.Sprintf("| [`%s`](%s) | %s | %s |", r.ID, r.DocsURL, sev, strings.ReplaceAll(r.Summary, "|", "\\|")))
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "#### %s\n\n| rule | severity | flags |\n|---|---|---|\n%s\n\n", g.title, strings.Join(rows, "\n"))
	}
	for _, r := range checks.All() {
		if !seen[r.ID] {
			fmt.Fprintf(&b, "- `%s` (%s): %s\n", r.ID, r.Severity, r.Summary)
		}
	}
	return b.String()
}
