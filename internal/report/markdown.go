package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"gitlab.com/pgai/reviewer/checks"
)

// MarkdownOptions control the summary note (and `reviewer check --format
// markdown`). Every hook is optional.
type MarkdownOptions struct {
	// Commit is the reviewed commit (shown at the bottom).
	Commit string
	// CommitURL links the commit, when known.
	CommitURL string
	// Marker is hidden HTML put first (the bot finds its note by it).
	Marker string
	// Thread returns the link to a finding's inline thread, "" for none.
	// A finding with a thread has its why and fix there, so the summary
	// does not repeat them.
	Thread func(checks.Finding) string
	// Explain returns an explanation of a finding (e.g. written by the
	// LLM), "" for none; it is shown collapsed under the table.
	Explain func(checks.Finding) string
	// EvidenceURL links the full evidence (every measurement, every
	// statement), "" for none.
	EvidenceURL string
	// Since compares with the last review, nil for the first one.
	Since *Since
	// CloneSource names what the clone was made from, for the line
	// "Measured on a clone of …" (when the report holds measurements).
	CloneSource string
	// CloneHelp says how to turn measurements on, for the line "Static
	// checks only (no clone configured — …)".
	CloneHelp string
	// MaxChars bounds the note (default 10,000): per-rule details, then
	// table rows, are cut to fit.
	MaxChars int
}

// Since is what changed since the last review.
type Since struct {
	Commit string
	New    int
	// Fixed lists the rules of the findings that are gone.
	Fixed []string
}

// DefaultCloneHelp is the "how to enable" of static-only reviews.
const DefaultCloneHelp = "run the reviewer with `--clone dblab` (DBLab Engine) or `--clone local` (a PostgreSQL copy) to measure locks and rewrites; see “Measuring on a clone” in the README"

var severityIcon = map[checks.Severity]string{checks.Error: "🔴", checks.Warning: "🟠", checks.Info: "🔵"}

// WriteMarkdown writes the summary of a review: a verdict line, whether
// anything was measured, what changed since the last review, one table of
// the findings in migration order with a link to each one's thread, and
// at most one collapsed why/fix per rule for the findings without a
// thread.
func WriteMarkdown(w io.Writer, r *Report, o MarkdownOptions) error {
	if o.MaxChars <= 0 {
		o.MaxChars = 10000
	}
	findings := r.ReadingOrder()
	// Shorten until it fits: fewer fixes in the per-rule details, then
	// no details, then fewer table rows.
	var out string
	for _, level := range []detailLevel{fullDetails, oneFix, whyOnly, noDetails} {
		out = renderMarkdown(r, o, findings, len(findings), level)
		// A level fits when every rule's details are in; the last one
		// with details keeps as many as fit.
		if len(out) <= o.MaxChars && (level >= whyOnly || !strings.Contains(out, leftOutLine)) {
			break
		}
	}
	for rows := len(findings); len(out) > o.MaxChars && rows > 0; {
		rows = max(0, rows-max(1, (len(out)-o.MaxChars)/150))
		out = renderMarkdown(r, o, findings, rows, noDetails)
	}
	_, err := io.WriteString(w, out)
	return err
}

type detailLevel int

const (
	fullDetails detailLevel = iota // why, every distinct fix, docs
	oneFix                         // why, the first fix, docs
	whyOnly                        // why and docs
	noDetails
)

func renderMarkdown(r *Report, o MarkdownOptions, findings []checks.Finding, rows int, level detailLevel) string {
	var b strings.Builder
	if o.Marker != "" {
		b.WriteString(o.Marker + "\n")
	}
	s := r.Summary
	blockingFiles := map[string]bool{}
	for _, f := range findings {
		if f.Blocking && !f.Refuted {
			blockingFiles[f.Path] = true
		}
	}
	files := fmt.Sprintf("%d %s", s.Files, plural(s.Files, "migration", "migrations"))
	switch {
	case s.Blocking > 0:
		fmt.Fprintf(&b, "### 🔴 pgai reviewer: %d blocking %s in %d of %s\n\n", s.Blocking, plural(s.Blocking, "finding", "findings"), len(blockingFiles), files)
	case s.Errors+s.Warnings > 0:
		fmt.Fprintf(&b, "### 🟠 pgai reviewer: no blocking findings in %s, %d to look at\n\n", files, s.Errors+s.Warnings)
	default:
		fmt.Fprintf(&b, "### 🟢 pgai reviewer: no problems found in %s\n\n", files)
	}
	var unmeasured []string
	ran := 0
	for _, m := range r.Measurements {
		if m.Measured() {
			ran++
		} else {
			unmeasured = append(unmeasured, fmt.Sprintf("`%s:%d` %s", relPath(m.Path), m.Line, m.StatusText()))
		}
	}
	switch {
	case r.NotMeasured != "":
		fmt.Fprintf(&b, "Static checks only — %s.", strings.ReplaceAll(r.NotMeasured, "\n", " "))
		if ran > 0 {
			fmt.Fprintf(&b, " %d %s had run on the clone.", ran, plural(ran, "statement", "statements"))
		}
	case len(r.Measurements) > 0:
		src := ""
		if o.CloneSource != "" {
			src = " of `" + strings.ReplaceAll(o.CloneSource, "`", "'") + "`"
		}
		fmt.Fprintf(&b, "Measured on a clone%s: %d %s run.", src, ran, plural(ran, "statement", "statements"))
		if len(unmeasured) > 0 {
			fmt.Fprintf(&b, " Not measured: %s.", strings.Join(unmeasured, "; "))
		}
	default:
		help := o.CloneHelp
		if help == "" {
			help = DefaultCloneHelp
		}
		fmt.Fprintf(&b, "Static checks only (no clone configured — %s).", help)
	}
	fmt.Fprintf(&b, " %d %s", s.Statements, plural(s.Statements, "statement", "statements"))
	if s.Context > 0 {
		fmt.Fprintf(&b, ", with the %d other %s of the history as context", s.Context, plural(s.Context, "file", "files"))
	}
	if r.PGVersion != "" {
		fmt.Fprintf(&b, ", PostgreSQL %s", r.PGVersion)
	}
	b.WriteString(".\n\n")
	if o.Since != nil {
		fmt.Fprintf(&b, "Since the last review (`%s`): %d new, %d fixed", shortSHA(o.Since.Commit), o.Since.New, len(o.Since.Fixed))
		if len(o.Since.Fixed) > 0 {
			b.WriteString(" (" + countedList(o.Since.Fixed) + ")")
		}
		b.WriteString(".\n\n")
	}
	thread := func(f checks.Finding) string {
		if o.Thread == nil {
			return ""
		}
		return o.Thread(f)
	}
	dir := commonDir(findings)
	if len(findings) > 0 {
		where := "where"
		if dir != "" {
			where = "where (in `" + dir + "`)"
		}
		links := false
		for _, f := range findings[:rows] {
			links = links || thread(f) != ""
		}
		if links {
			fmt.Fprintf(&b, "| %s | rule | severity | what | thread |\n|---|---|---|---|---|\n", where)
		} else {
			fmt.Fprintf(&b, "| %s | rule | severity | what |\n|---|---|---|---|\n", where)
		}
		for _, f := range findings[:rows] {
			sev := severityIcon[f.Severity] + " " + f.Severity.String()
			if f.Blocking {
				sev += ", blocking"
			}
			what := firstLine(f.Message)
			switch {
			case f.Refuted:
				sev = "🧪 refuted"
				what = firstLine(f.Message)
				if f.Measured != "" {
					what += " — measured: " + firstLine(f.Measured)
				}
			case f.Measured != "" && thread(f) == "":
				what += " — measured: " + firstLine(f.Measured)
			}
			fmt.Fprintf(&b, "| `%s:%d` | `%s` | %s | %s |", strings.TrimPrefix(relPath(f.Path), dir), f.Line, f.Rule, sev, cell(what))
			if links {
				if u := thread(f); u != "" {
					b.WriteString(" [thread](" + u + ") |")
				} else {
					b.WriteString("  |")
				}
			}
			b.WriteString("\n")
		}
		if rows < len(findings) {
			fmt.Fprintf(&b, "| | | | … and %d more: run `reviewer check` on this branch for all |\n", len(findings)-rows)
		}
		b.WriteString("\n")
	}
	if o.Explain != nil {
		for _, f := range findings[:rows] {
			if e := strings.TrimSpace(o.Explain(f)); e != "" {
				fmt.Fprintf(&b, "<details><summary>Explanation of <code>%s</code> at <code>%s:%d</code></summary>\n\n%s\n\n</details>\n\n", f.Rule, relPath(f.Path), f.Line, e)
			}
		}
	}
	var foot []string
	if o.Commit != "" {
		c := "`" + shortSHA(o.Commit) + "`"
		if o.CommitURL != "" {
			c = "[" + c + "](" + o.CommitURL + ")"
		}
		foot = append(foot, "Reviewed commit "+c+".")
	}
	if o.EvidenceURL != "" {
		foot = append(foot, "[Full evidence]("+o.EvidenceURL+").")
	}
	if len(findings) > 0 {
		foot = append(foot, "Silence a finding with `-- pgai:ignore RULE-ID reason` above its statement.")
	}
	footer := ""
	if len(foot) > 0 {
		footer = "<sub>" + strings.Join(foot, " ") + "</sub>\n"
	}
	if level != noDetails {
		// What is left of the budget, with room for the line naming the
		// rules left out.
		budget := o.MaxChars - b.Len() - len(footer) - 300
		writeRuleDetails(&b, findings[:rows], thread, level, budget)
	}
	b.WriteString(footer)
	return NoQuickActions(b.String())
}

// leftOutLine ends the line naming the rules whose details did not fit.
const leftOutLine = "comment `/pgai explain RULE-ID`, or run `reviewer check`."

// writeRuleDetails writes one collapsed why/fix per rule, for the
// findings that have no thread (a thread says it already), the rules of
// the most serious findings first, as many as budget characters hold; the
// others are named with the command that explains them. Refuted findings
// have no fix.
func writeRuleDetails(b *strings.Builder, findings []checks.Finding, thread func(checks.Finding) string, level detailLevel, budget int) {
	var rules []string
	byRule := map[string][]checks.Finding{}
	worst := map[string]checks.Severity{}
	for _, f := range findings {
		if thread(f) != "" || f.Refuted {
			continue
		}
		if _, ok := byRule[f.Rule]; !ok {
			rules = append(rules, f.Rule)
		}
		byRule[f.Rule] = append(byRule[f.Rule], f)
		worst[f.Rule] = max(worst[f.Rule], f.Severity)
	}
	sort.SliceStable(rules, func(i, j int) bool { return worst[rules[i]] > worst[rules[j]] })
	var left []string
	for _, rule := range rules {
		block := ruleDetails(byRule[rule], level)
		if len(block) > budget {
			left = append(left, rule)
			continue
		}
		b.WriteString(block)
		budget -= len(block)
	}
	if len(left) > 0 {
		fmt.Fprintf(b, "Why and how to fix %s: %s\n\n", countedList(left), leftOutLine)
	}
}

func ruleDetails(fs []checks.Finding, level detailLevel) string {
	var b strings.Builder
	rule := fs[0].Rule
	title := "why, and how to fix"
	if level == whyOnly {
		title = "why (the fix for each statement: <code>reviewer check</code>)"
	}
	fmt.Fprintf(&b, "<details><summary><code>%s</code>: %s</summary>\n\n", rule, title)
	if why := fs[0].Why; why != "" {
		fmt.Fprintf(&b, "**Why:** %s\n\n", why)
	}
	if level == fullDetails || level == oneFix {
		// One fix per distinct text, with the places it is for.
		var order []string
		where := map[string][]string{}
		for _, f := range fs {
			if f.Fix == "" {
				continue
			}
			if _, ok := where[f.Fix]; !ok {
				order = append(order, f.Fix)
			}
			where[f.Fix] = append(where[f.Fix], fmt.Sprintf("`%s:%d`", relPath(f.Path), f.Line))
		}
		for i, fix := range order {
			if level == oneFix && i > 0 {
				fmt.Fprintf(&b, "The same fix, written for each statement, applies at %d more %s; `reviewer check` prints each.\n\n", len(order)-1, plural(len(order)-1, "place", "places"))
				break
			}
			fmt.Fprintf(&b, "**Fix** (%s): %s\n\n", strings.Join(where[fix], ", "), FencedSQL(fix))
		}
	}
	if d := fs[0].DocsURL; d != "" {
		fmt.Fprintf(&b, "📖 %s\n\n", d)
	}
	b.WriteString("</details>\n\n")
	return b.String()
}

// ThreadOptions control an inline thread's body.
type ThreadOptions struct {
	// Suggestion is a GitLab suggestion block applying the fix, "" none.
	Suggestion string
	// Measured says the review ran on a clone (a finding without a
	// measurement was then not observed there).
	Measured bool
	// Explanation is an optional explanation (e.g. by the LLM), shown
	// collapsed.
	Explanation string
}

// ThreadMarkdown renders the inline thread of one finding: what, why, the
// measurement that is evidence for it, the fix (as a one-click
// suggestion when there is one) and the docs. It is the only place the
// finding's why and fix appear on the MR.
func ThreadMarkdown(f checks.Finding, o ThreadOptions) string {
	var b strings.Builder
	if f.Refuted {
		fmt.Fprintf(&b, "🧪 **refuted** `%s`: %s\n\n", f.Rule, f.Message)
		if f.Measured != "" {
			fmt.Fprintf(&b, "**Measured on the clone:** %s\n", f.Measured)
		}
		return NoQuickActions(b.String())
	}
	sev := f.Severity.String()
	if f.Blocking {
		sev += ", blocking"
	}
	fmt.Fprintf(&b, "%s **%s** `%s`: %s\n\n", severityIcon[f.Severity], sev, f.Rule, f.Message)
	if f.Why != "" {
		fmt.Fprintf(&b, "**Why:** %s\n\n", f.Why)
	}
	if f.Measured != "" {
		fmt.Fprintf(&b, "**Measured on the clone:** %s\n\n", f.Measured)
	}
	if o.Suggestion != "" {
		b.WriteString("**Suggested change** (apply it from this thread):\n\n" + o.Suggestion + "\n\n")
	}
	if f.Fix != "" {
		fmt.Fprintf(&b, "**Fix:** %s\n\n", FencedSQL(f.Fix))
	}
	if o.Explanation != "" {
		fmt.Fprintf(&b, "<details><summary>Explanation</summary>\n\n%s\n\n</details>\n\n", strings.TrimSpace(o.Explanation))
	}
	if f.DocsURL != "" {
		fmt.Fprintf(&b, "📖 %s\n", f.DocsURL)
	}
	return NoQuickActions(b.String())
}

// FindingMarkdown renders one finding on its own (the thread body without
// a suggestion).
func FindingMarkdown(f checks.Finding) string { return ThreadMarkdown(f, ThreadOptions{}) }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	const max = 120
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if sp := strings.LastIndexByte(s[:cut], ' '); sp > max/2 {
			cut = sp
		}
		s = strings.TrimRight(s[:cut], " ,;:") + "…"
	}
	return s
}

// commonDir is the directory (with a trailing slash) all findings are in,
// "" when they are in several or at the root.
func commonDir(findings []checks.Finding) string {
	dir := ""
	for i, f := range findings {
		p := relPath(f.Path)
		d := p[:strings.LastIndexByte(p, '/')+1]
		if i == 0 {
			dir = d
		} else if d != dir {
			return ""
		}
	}
	return dir
}

// countedList writes sorted names as code, each once with its count:
// `a` ×2, `b`.
func countedList(xs []string) string {
	var out []string
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && xs[j] == xs[i] {
			j++
		}
		s := "`" + xs[i] + "`"
		if j-i > 1 {
			s += fmt.Sprintf(" ×%d", j-i)
		}
		out = append(out, s)
		i = j
	}
	return strings.Join(out, ", ")
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
			if len(out) > 0 && strings.TrimSpace(out[len(out)-1]) != "" {
				out = append(out, "")
			}
			out = append(out, "```sql")
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

// NoQuickActions makes sure no line starts with "/": GitLab would run it
// as a quick action (e.g. /merge) when the bot posts the note. Lines in
// fenced code blocks are left alone (GitLab runs no quick action there,
// and a suggestion block must keep the exact text).
func NoQuickActions(s string) string {
	if !strings.Contains(s, "/") {
		return s
	}
	lines := strings.Split(s, "\n")
	fence := ""
	for i, l := range lines {
		if t := strings.TrimLeft(l, " "); strings.HasPrefix(t, "```") {
			n := len(t) - len(strings.TrimLeft(t, "`"))
			switch {
			case fence == "":
				fence = t[:n]
			case strings.TrimRight(t, " ") == strings.Repeat("`", n) && n >= len(fence):
				fence = ""
			}
			continue
		}
		if fence == "" && strings.HasPrefix(l, "/") {
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
