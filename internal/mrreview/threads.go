package mrreview

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/config"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/report"
)

// Thread policy:
//   - a finding gets an inline thread when the project's `inline` setting
//     asks for it (blocking findings by default), its statement has a line
//     the MR adds, and the bot has fewer than MaxInline threads open on the
//     MR (counting those of earlier reviews);
//   - a finding an earlier review already reported (same fingerprint) never
//     gets a new thread: a push does not re-announce what it did not touch;
//   - a thread whose finding is gone is answered and resolved, except a
//     finding only a clone measurement can report when this run measured
//     nothing: no measurement is not a fix;
//   - a thread whose finding a measurement refuted is answered with the
//     measurement and resolved; a thread the bot resolved whose finding is
//     back is reopened.

// measuredOnly reports whether only a clone measurement can report a
// rule, so that a run without a clone says nothing about it.
func measuredOnly(rule string) bool {
	for _, m := range dblab.MeasuredRules {
		if m.ID == rule {
			return true
		}
	}
	return false
}

// wantsThread applies the `inline` setting.
func wantsThread(f checks.Finding, mode string) bool {
	switch mode {
	case config.InlineAll:
		return true
	case config.InlineWarning:
		return f.Blocking || f.Severity >= checks.Warning
	}
	return f.Blocking
}

// botThreads are the bot's finding threads on an MR, by fingerprint.
type botThreads map[string]gitlab.Discussion

func findingThreads(ds []gitlab.Discussion, botID int64) botThreads {
	out := botThreads{}
	for _, d := range ds {
		if len(d.Notes) == 0 || d.Notes[0].AuthorID != botID {
			continue
		}
		if m, ok := findMarker(d.Notes[0].Body, KindFinding); ok && m.Value != "" {
			out[m.Value] = d
		}
	}
	return out
}

// ruleOf is the rule of a finding thread: from its marker, or for threads
// of older versions from the first `code span` of its body.
func ruleOf(d gitlab.Discussion) string {
	body := d.Notes[0].Body
	if m, ok := findMarker(body, KindFinding); ok && m.Rule != "" {
		return m.Rule
	}
	if i := strings.Index(body, "`"); i >= 0 {
		return strings.SplitN(body[i+1:], "`", 2)[0]
	}
	return ""
}

// threadRun is what syncThreads needs to know about the review.
type threadRun struct {
	mr       gitlab.MR
	webURL   string
	version  gitlab.Version
	rep      *report.Report
	changes  []change
	inline   string
	botID    int64
	existing botThreads
	// previous holds the fingerprints (seenKey) the last summary reported.
	previous map[string]string
	// measured: this run measured the migrations on a clone.
	measured bool
	// explain returns a finding's explanation, "" none (nil: no hook).
	explain func(checks.Finding) string
}

// threadResult is what syncThreads did.
type threadResult struct {
	opened, resolved int
	// links maps fingerprints to their thread (open ones and new ones).
	links map[string]string
	errs  []error
}

// syncThreads opens, reopens and resolves the bot's finding threads.
func (r *Reviewer) syncThreads(ctx context.Context, t threadRun) threadResult {
	gl := r.o.GitLab
	res := threadResult{links: map[string]string{}}
	byPath := map[string]change{}
	for _, c := range t.changes {
		byPath[c.diff.NewPath] = c
	}
	current := map[string]checks.Finding{}
	for _, f := range t.rep.Findings {
		if f.Fingerprint != "" {
			current[f.Fingerprint] = f
		}
	}
	open := 0
	for fp, d := range t.existing {
		if f, ok := current[fp]; ok && !d.Resolved() && !f.Refuted {
			open++
		}
	}
	for _, f := range t.rep.SortedFindings() {
		if f.Fingerprint == "" {
			continue
		}
		if d, ok := t.existing[f.Fingerprint]; ok {
			switch {
			case f.Refuted && !d.Resolved():
				m := Marker{Kind: KindRefuted, Value: short(t.rep.Commit)}
				body := fmt.Sprintf("%s\n🧪 Refuted by measurement on the clone in commit `%s`: %s", m.Format(), short(t.rep.Commit), oneLine(f.Measured, f.Message))
				if err := r.replyAndResolve(ctx, t.mr, d.ID, body, m, true); err != nil {
					res.errs = append(res.errs, err)
				} else {
					res.resolved++
				}
			case !f.Refuted && d.Resolved() && resolvedBy(d) == t.botID:
				m := Marker{Kind: KindBack, Value: short(t.rep.Commit)}
				body := fmt.Sprintf("%s\n🔁 This finding is back in commit `%s`.", m.Format(), short(t.rep.Commit))
				if err := r.replyAndResolve(ctx, t.mr, d.ID, body, m, false); err != nil {
					res.errs = append(res.errs, err)
				} else {
					open++
				}
			}
			res.links[f.Fingerprint] = noteLink(t.webURL, d)
			continue
		}
		if f.Refuted || !wantsThread(f, t.inline) || open >= r.o.MaxInline {
			continue
		}
		if _, reported := t.previous[seenKey(f.Fingerprint)]; reported {
			continue
		}
		c, ok := byPath[f.Path]
		if !ok {
			continue
		}
		line := inlineLine(f, c.lines)
		if line == 0 {
			continue
		}
		m := Marker{Kind: KindFinding, Value: f.Fingerprint, Rule: f.Rule}
		o := report.ThreadOptions{Suggestion: suggestion(f, line, c.lines), Measured: t.measured}
		if t.explain != nil {
			o.Explanation = t.explain(f)
		}
		body := report.ThreadMarkdown(f, o) + "\n" + m.Format()
		pos := &gitlab.Position{BaseSHA: t.version.BaseSHA, StartSHA: t.version.StartSHA, HeadSHA: t.version.HeadSHA,
			OldPath: c.diff.OldPath, NewPath: c.diff.NewPath, NewLine: line}
		d, err := gl.CreateDiscussionOnce(ctx, t.mr, body, pos, m.Format())
		if err != nil {
			if gitlab.Retryable(err) {
				res.errs = append(res.errs, err)
			} else {
				r.log.WarnContext(ctx, "inline thread refused; finding kept in the summary", "path", f.Path, "line", line, "err", err)
			}
			continue
		}
		res.links[f.Fingerprint] = noteLink(t.webURL, d)
		res.opened++
		open++
	}
	fps := make([]string, 0, len(t.existing))
	for fp := range t.existing {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	for _, fp := range fps {
		d := t.existing[fp]
		if _, ok := current[fp]; ok || d.Resolved() {
			continue
		}
		if !t.measured && measuredOnly(ruleOf(d)) {
			// Only a clone run can tell whether this is fixed.
			res.links[fp] = noteLink(t.webURL, d)
			continue
		}
		m := Marker{Kind: KindFixed, Value: short(t.rep.Commit)}
		body := fmt.Sprintf("%s\n✅ Fixed in commit `%s`: this finding is gone.", m.Format(), short(t.rep.Commit))
		if err := r.replyAndResolve(ctx, t.mr, d.ID, body, m, true); err != nil {
			res.errs = append(res.errs, err)
			continue
		}
		res.resolved++
	}
	return res
}

func (r *Reviewer) replyAndResolve(ctx context.Context, mr gitlab.MR, discussionID, body string, m Marker, resolved bool) error {
	if _, err := r.o.GitLab.ReplyOnce(ctx, mr, discussionID, body, m.Format()); err != nil {
		return err
	}
	return r.o.GitLab.ResolveDiscussion(ctx, mr, discussionID, resolved)
}

// inlineLine picks the line of a finding to comment on: the first line of
// its statement that the MR adds (0 when none is in the diff).
func inlineLine(f checks.Finding, lines gitlab.DiffLines) int {
	end := max(f.EndLine, f.Line)
	for l := f.Line; l <= end; l++ {
		if lines.Added[l] {
			return l
		}
	}
	return 0
}

// suggestion is a GitLab suggestion block for a thread on line that
// replaces the finding's Edit lines, which must all be added by the MR
// (GitLab applies suggestions to the lines around the commented one:
// -N above, +M below); "" when there is none.
func suggestion(f checks.Finding, line int, lines gitlab.DiffLines) string {
	e := f.Edit
	if e == nil || e.StartLine < 1 || e.EndLine < e.StartLine || line < e.StartLine || line > e.EndLine {
		return ""
	}
	for l := e.StartLine; l <= e.EndLine; l++ {
		if !lines.Added[l] {
			return ""
		}
	}
	fence := "```"
	for strings.Contains(e.Text, fence) {
		fence += "`"
	}
	head := fmt.Sprintf("%ssuggestion:-%d+%d\n", fence, line-e.StartLine, e.EndLine-line)
	if e.Text == "" {
		return head + fence
	}
	return head + strings.TrimSuffix(e.Text, "\n") + "\n" + fence
}

func resolvedBy(d gitlab.Discussion) int64 {
	for _, n := range d.Notes {
		if n.Resolvable {
			return n.ResolvedBy
		}
	}
	return 0
}

// noteLink links a thread's first note from the summary: an anchor on
// the MR page, where the summary is shown.
func noteLink(_ string, d gitlab.Discussion) string {
	if len(d.Notes) == 0 {
		return ""
	}
	return fmt.Sprintf("#note_%d", d.Notes[0].ID)
}

func oneLine(s ...string) string {
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			return strings.ReplaceAll(x, "\n", " ")
		}
	}
	return ""
}
