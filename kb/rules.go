package kb

import (
	"errors"
	"strings"
)

// RuleDoc is the documentation of one of the reviewer's rules, as the
// checks package describes it (kb does not import checks; the CLI converts).
type RuleDoc struct {
	ID, Summary, Why, Fix, DocsURL string
	Examples                       []RuleExample
}

// RuleExample is a bad/good pair from a rule's test fixture.
type RuleExample struct {
	Name, Bad, Good string
}

// DefaultRulesURL is where docs/rules/<id>.md, one generated page per
// rule, is published.
const DefaultRulesURL = "https://gitlab.com/pgai/reviewer/-/blob/main/docs/rules/{id}.md"

// maxRuleExampleLines bounds the flagged example kept in a rule's chunk.
const maxRuleExampleLines = 8

// RuleDocuments turns rule docs into documents, each citing its own page:
// urlTemplate must contain "{id}" (replaced by the rule id) so that no two
// rules share a URL. A rule is one chunk (summary, why, fix, docs link and
// its first flagged example, cut to a few lines): examples are not
// separate results. Rules have trust "reviewer", below the official docs.
func RuleDocuments(rules []RuleDoc, urlTemplate, author string) ([]Document, error) {
	if err := ValidateURLTemplate(urlTemplate, "{id}"); err != nil {
		return nil, err
	}
	if !strings.Contains(urlTemplate, "{id}") {
		return nil, errors.New("rules URL template " + urlTemplate + " has no {id}: every rule needs its own URL")
	}
	if author == "" {
		author = "pgai reviewer"
	}
	var docs []Document
	for _, r := range rules {
		url := strings.ReplaceAll(urlTemplate, "{id}", r.ID)
		var b strings.Builder
		b.WriteString(r.Summary + "\n")
		if r.Why != "" {
			b.WriteString("Why: " + r.Why + "\n")
		}
		if r.Fix != "" {
			b.WriteString("Fix: " + r.Fix + "\n")
		}
		if r.DocsURL != "" {
			b.WriteString("PostgreSQL docs: " + r.DocsURL + "\n")
		}
		for _, ex := range r.Examples {
			if s := strings.TrimSpace(ex.Bad); s != "" {
				lines := strings.Split(s, "\n")
				if len(lines) > maxRuleExampleLines {
					lines = append(lines[:maxRuleExampleLines], "…")
				}
				b.WriteString("Flagged example:\n" + strings.Join(lines, "\n") + "\n")
				break
			}
		}
		title := "Rule " + r.ID
		docs = append(docs, Document{
			Key: "rules:" + r.ID, Kind: KindRules, Title: title + ": " + r.Summary, URL: url,
			Author: author, Trust: TrustReviewer,
			Chunks: []Chunk{{Heading: []string{"pgai reviewer rules", title}, URL: url, Text: strings.TrimSpace(b.String())}},
		})
	}
	return docs, nil
}
