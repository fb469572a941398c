package kb

import (
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

// RuleDocuments turns rule docs into documents citing urlTemplate, where
// the rule catalogue is published; "{id}" in it is replaced by the rule id.
func RuleDocuments(rules []RuleDoc, urlTemplate, author string) []Document {
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
		chunks := []Chunk{{Heading: []string{"Rule " + r.ID}, URL: url, Text: strings.TrimSpace(b.String())}}
		for _, ex := range r.Examples {
			var e strings.Builder
			if s := strings.TrimSpace(ex.Bad); s != "" {
				e.WriteString("Flagged (bad):\n" + s + "\n")
			}
			if s := strings.TrimSpace(ex.Good); s != "" {
				e.WriteString("Safe (good):\n" + s + "\n")
			}
			if e.Len() == 0 {
				continue
			}
			chunks = append(chunks, Chunk{Heading: []string{"Rule " + r.ID, "Example " + ex.Name}, URL: url, Text: strings.TrimSpace(e.String())})
		}
		docs = append(docs, Document{
			Key: "rules:" + r.ID, Kind: KindRules, Title: "Rule " + r.ID + ": " + r.Summary, URL: url,
			Author: author, Trust: TrustHigh, Chunks: chunks,
		})
	}
	return docs
}
