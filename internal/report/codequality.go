package report

import (
	"encoding/json"
	"io"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
)

// codeQualityIssue is one entry of GitLab's Code Quality report (a subset
// of the Code Climate spec that GitLab reads):
// https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format
type codeQualityIssue struct {
	Description string              `json:"description"`
	CheckName   string              `json:"check_name"`
	Fingerprint string              `json:"fingerprint"`
	Severity    string              `json:"severity"`
	Location    codeQualityLocation `json:"location"`
	Categories  []string            `json:"categories,omitempty"`
	Content     *codeQualityContent `json:"content,omitempty"`
	Type        string              `json:"type"`
}

type codeQualityLocation struct {
	Path  string `json:"path"`
	Lines struct {
		Begin int `json:"begin"`
		End   int `json:"end,omitempty"`
	} `json:"lines"`
}

type codeQualityContent struct {
	Body string `json:"body"`
}

// codeQualitySeverity maps our severities onto GitLab's five levels:
// blocking findings are critical, other errors major, warnings minor.
func codeQualitySeverity(f checks.Finding) string {
	switch {
	case f.Blocking && f.Severity == checks.Error:
		return "critical"
	case f.Severity == checks.Error:
		return "major"
	case f.Severity == checks.Warning:
		return "minor"
	}
	return "info"
}

// WriteCodeQuality writes GitLab Code Quality JSON. Lines are 1-based; the
// fingerprint is the finding's, which survives lines inserted above it.
func WriteCodeQuality(w io.Writer, r *Report) error {
	// One issue at a time, as an indenting json.Encoder would write the
	// array, so that memory does not hold every issue's body at once.
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	for i, f := range r.Findings {
		is := codeQualityIssue{
			Description: "[" + f.Rule + "] " + f.Message + measuredSuffix(f),
			CheckName:   f.Rule,
			Fingerprint: f.Fingerprint,
			Severity:    codeQualitySeverity(f),
			Type:        "issue",
			Categories:  []string{categoryOf(f.Rule)},
		}
		is.Location.Path = relPath(f.Path)
		is.Location.Lines.Begin = max(f.Line, 1)
		if f.EndLine >= f.Line {
			is.Location.Lines.End = f.EndLine
		}
		body := strings.TrimSpace(f.Why + "\n\n" + f.Fix)
		if f.DocsURL != "" {
			body += "\n\n" + f.DocsURL
		}
		is.Content = &codeQualityContent{Body: body}
		b, err := json.MarshalIndent(&is, "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if i == 0 {
			sep = "\n  "
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	closing := "]\n"
	if len(r.Findings) > 0 {
		closing = "\n]\n"
	}
	_, err := io.WriteString(w, closing)
	return err
}

func categoryOf(rule string) string {
	if r := checks.Lookup(rule); r != nil {
		switch r.Group {
		case "locks", "transactions":
			return "Performance"
		case "compatibility":
			return "Compatibility"
		case "types", "style":
			return "Style"
		}
	}
	return "Bug Risk"
}

// measuredSuffix adds a finding's measurement (or that it was refuted)
// to a one-line description.
func measuredSuffix(f checks.Finding) string {
	switch {
	case f.Refuted && f.Measured != "":
		return " (refuted on the clone: " + f.Measured + ")"
	case f.Refuted:
		return " (refuted on the clone)"
	case f.Measured != "":
		return " (measured: " + f.Measured + ")"
	}
	return ""
}
