package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
)

// MarkdownOptions control the MR comment body.
type MarkdownOptions struct {
	// Commit is the reviewed commit (shown at the bottom).
	Commit string
	// CommitURL links the commit, when known.
	CommitURL string
	// Marker is a hidden HTML comment put first, so a bot can find its
	// own note again.
	Marker string
	// MaxFindings caps the detailed list (GitLab notes are limited to
	// 1,000,000 characters); 0 means 200.
	MaxFindings int
}

var severityIcon = map[checks.Severity]string{checks.Error: "🔴", checks.Warning: "🟠", checks.Info: "🔵"}

// WriteMarkdown writes the body of the MR summary note: the verdict,
// blocking findings and warnings first, a table per migration, the
// measurements, and collapsible details with why, fix and docs.
func WriteMarkdown(w io.Writer, r *Report, o MarkdownOptions) error {
	if o.MaxFindings == 0 {
		o.MaxFindings = 200
	}
	var b strings.Builder
	if o.Marker != "" {
		b.WriteString(o.Marker + "\n")
	}
	s := r.Summary
	switch {
	case s.Blocking > 0:
		fmt.Fprintf(&b, "### 🔴 pgai reviewer: %d blocking %s in %d migration %s\n\n", s.Blocking, plural(s.Blocking, "finding", "findings"), s.Files, plural(s.Files, "file", "files"))
	case s.Errors+s.Warnings > 0:
		fmt.Fprintf(&b, "### 🟠 pgai reviewer: no blocking findings, %d to look at\n\n", s.Errors+s.Warnings)
	default:
		fmt.Fprintf(&b, "### 🟢 pgai reviewer: no problems found\n\n")
	}
	fmt.Fprintf(&b, "%d files, %d statements · **%d errors**, %d warnings, %d infos", s.Files, s.Statements, s.Errors, s.Warnings, s.Infos)
	if r.PGVersion != "" {
		fmt.Fprintf(&b, " · PostgreSQL %s", r.PGVersion)
	}
	b.WriteString("\n\n")

	sorted := r.SortedFindings()
	var top []checks.Finding
	for _, f := range sorted {
		if f.Severity >= checks.Warning {
			top = append(top, f)
		}
	}
	if len(top) > 0 {
		b.WriteString("| | rule | where | what |\n|---|---|---|---|\n")
		for i, f := range top {
			if i == o.MaxFindings {
				fmt.Fprintf(&b, "| | | | … and %d more |\n", len(top)-i)
				break
			}
			fmt.Fprintf(&b, "| %s | `%s` | `%s:%d` | %s |\n", severityIcon[f.Severity], f.Rule, relPath(f.Path), f.Line, cell(f.Message))
		}
		b.WriteString("\n")
	}

	// Per-migration table.
	byPath := map[string][]checks.Finding{}
	for _, f := range sorted {
		byPath[f.Path] = append(byPath[f.Path], f)
	}
	if len(r.Files) > 0 {
		b.WriteString("<details><summary>Migrations reviewed</summary>\n\n")
		b.WriteString("| migration | framework | transaction | statements | errors | warnings | infos |\n|---|---|---|---|---|---|---|\n")
		for _, f := range r.Files {
			var e, wn, in int
			for _, fd := range byPath[f.Path] {
				switch fd.Severity {
				case checks.Error:
					e++
				case checks.Warning:
					wn++
				default:
					in++
				}
			}
			tx := "no"
			if f.InTransaction {
				tx = "yes"
			}
			if !f.Analysed {
				tx = "not analysed: " + cell(f.SkippedReason)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %d | %d | %d | %d |\n", relPath(f.Path), f.Framework, tx, f.Statements, e, wn, in)
		}
		b.WriteString("\n</details>\n\n")
	}

	if len(r.Measurements) > 0 {
		b.WriteString(measurementsMarkdown(r))
	}

	if len(sorted) > 0 {
		b.WriteString("<details><summary>Details: why, and how to fix</summary>\n\n")
		for i, f := range sorted {
			if i == o.MaxFindings {
				fmt.Fprintf(&b, "… %d more findings not shown; run `reviewer check` locally for the full list.\n\n", len(sorted)-i)
				break
			}
			b.WriteString(FindingMarkdown(f))
			b.WriteString("\n")
		}
		b.WriteString("</details>\n\n")
	}
	if o.Commit != "" {
		c := "`" + shortSHA(o.Commit) + "`"
		if o.CommitURL != "" {
			c = "[" + c + "](" + o.CommitURL + ")"
		}
		fmt.Fprintf(&b, "<sub>Reviewed commit %s. Findings come from deterministic rules%s; silence one with `-- pgai:ignore RULE-ID reason` above the statement.</sub>\n",
			c, map[bool]string{true: " and measurements on a clone", false: ""}[len(r.Measurements) > 0])
	}
	_, err := io.WriteString(w, NoQuickActions(b.String()))
	return err
}

// FindingMarkdown renders one finding: what, why, fix, docs and evidence.
// MR inline discussions use it too.
func FindingMarkdown(f checks.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s **%s** `%s` at `%s:%d`: %s\n\n", severityIcon[f.Severity], f.Severity, f.Rule, relPath(f.Path), f.Line, f.Message)
	if f.Why != "" {
		fmt.Fprintf(&b, "**Why:** %s\n\n", f.Why)
	}
	if len(f.Evidence) > 0 {
		fmt.Fprintf(&b, "**Measured:** %s\n\n", evidenceLine(f.Evidence))
	}
	if f.Fix != "" {
		fmt.Fprintf(&b, "**Fix:** %s\n\n", FencedSQL(f.Fix))
	}
	if f.DocsURL != "" {
		fmt.Fprintf(&b, "📖 %s\n", f.DocsURL)
	}
	return NoQuickActions(b.String())
}

// FencedSQL turns the 4-space indented SQL blocks of a fix text into
// ```sql fences, for Markdown.
func FencedSQL(fix string) string {
	lines := strings.Split(fix, "\n")
	var out []string
	inCode := false
	for _, l := range lines {
		code := strings.HasPrefix(l, "    ")
		switch {
		case code && !inCode:
			out = append(out, "", "```sql")
			inCode = true
		case !code && inCode && strings.TrimSpace(l) != "":
			out = append(out, "```", "")
			inCode = false
		}
		if code {
			l = strings.TrimPrefix(l, "    ")
		}
		if inCode && strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, l)
	}
	if inCode {
		out = append(out, "```")
	}
	return strings.Join(out, "\n")
}

func measurementsMarkdown(r *Report) string {
	var b strings.Builder
	b.WriteString("#### Measured on a clone\n\n")
	b.WriteString("| statement | duration | locks held (what they block) | rewrite | rows |\n|---|---|---|---|---|\n")
	for _, m := range r.Measurements {
		var locks []string
		for _, l := range m.Locks {
			locks = append(locks, fmt.Sprintf("%s on `%s` %s (blocks %s)", l.Mode, l.Relation, ms(l.HeldMS), blocksText(l.Blocks)))
		}
		rw := "no"
		if len(m.Rewritten) > 0 {
			rw = "**yes**: " + strings.Join(m.Rewritten, ", ")
		}
		rows := ""
		if m.Rows >= 0 {
			rows = fmt.Sprint(m.Rows)
		}
		what := fmt.Sprintf("`%s:%d`", relPath(m.Path), m.Line)
		if m.Error != "" {
			what += " ❌ " + cell(m.SQLState+" "+m.Error)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", what, ms(m.DurationMS), strings.Join(locks, "<br>"), rw, rows)
	}
	b.WriteString("\n")
	return b.String()
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// NoQuickActions makes sure no line starts with "/": GitLab would run it
// as a quick action (e.g. /merge) when the bot posts the note.
func NoQuickActions(s string) string {
	if !strings.Contains(s, "/") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "/") {
			lines[i] = " " + l
		}
	}
	return strings.Join(lines, "\n")
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
