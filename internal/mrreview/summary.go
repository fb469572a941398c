package mrreview

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/report"
)

// summaryRun is what the summary note shows.
type summaryRun struct {
	rep    *report.Report
	webURL string
	sha    string
	// links maps fingerprints to their thread.
	links map[string]string
	// previous is the last summary's state (nil when there is none).
	previous *seenState
	// measured: this run measured on a clone; cloneSource names it.
	measured    bool
	cloneSource string
	// Hooks for what other parts add per finding and per review.
	explain     func(checks.Finding) string
	evidenceURL string
}

// seenState is what a summary note records about its review: the commit
// and the fingerprint (its first seenLen characters, enough to tell an
// MR's findings apart) and rule of each finding it reported.
type seenState struct {
	commit   string
	findings map[string]string // short fingerprint -> rule
}

const seenLen = 12

func seenKey(fp string) string { return fp[:min(len(fp), seenLen)] }

// format writes the state as a hidden marker.
func (s seenState) format() string {
	fps := make([]string, 0, len(s.findings))
	for fp, rule := range s.findings {
		fps = append(fps, fp+"/"+rule)
	}
	sort.Strings(fps)
	return Marker{Kind: KindSeen, Value: s.commit + ":" + strings.Join(fps, ",")}.Format()
}

// parseSeen reads the state of a summary note (nil for notes of older
// versions, which did not record it).
func parseSeen(body string) *seenState {
	m, ok := findMarker(body, KindSeen)
	if !ok {
		return nil
	}
	commit, list, _ := strings.Cut(m.Value, ":")
	s := &seenState{commit: commit, findings: map[string]string{}}
	for _, item := range strings.Split(list, ",") {
		if fp, rule, ok := strings.Cut(item, "/"); ok && fp != "" {
			s.findings[fp] = rule
		}
	}
	return s
}

// nextSeen is the state this review records: its findings, plus, when it
// measured nothing, the measured-only findings of the last review (no
// measurement is not a fix).
func nextSeen(rep *report.Report, prev *seenState, measured bool) seenState {
	s := seenState{commit: short(rep.Commit), findings: map[string]string{}}
	for _, f := range rep.Findings {
		if f.Fingerprint != "" {
			s.findings[seenKey(f.Fingerprint)] = f.Rule
		}
	}
	if prev != nil && !measured {
		for fp, rule := range prev.findings {
			if measuredOnly(rule) {
				s.findings[fp] = rule
			}
		}
	}
	return s
}

// summaryBody renders the summary note.
func (r *Reviewer) summaryBody(s summaryRun) string {
	next := nextSeen(s.rep, s.previous, s.measured)
	o := report.MarkdownOptions{
		Commit: s.sha, CommitURL: commitURL(s.webURL, s.sha),
		Marker:      SummaryMarker + "\n" + next.format(),
		Thread:      func(f checks.Finding) string { return s.links[f.Fingerprint] },
		Explain:     s.explain,
		EvidenceURL: s.evidenceURL,
		CloneSource: s.cloneSource,
	}
	if s.previous != nil {
		since := &report.Since{Commit: s.previous.commit}
		for fp := range next.findings {
			if _, ok := s.previous.findings[fp]; !ok {
				since.New++
			}
		}
		for fp, rule := range s.previous.findings {
			if _, ok := next.findings[fp]; !ok {
				since.Fixed = append(since.Fixed, rule)
			}
		}
		sort.Strings(since.Fixed)
		o.Since = since
	}
	var b strings.Builder
	_ = report.WriteMarkdown(&b, s.rep, o)
	if len(s.rep.Files) == 0 {
		b.WriteString("\nThis merge request no longer changes any migration.\n")
	}
	return report.NoQuickActions(b.String())
}

func configErrorBody(err error, sha string) string {
	var b strings.Builder
	b.WriteString(SummaryMarker + "\n")
	b.WriteString("### 🔴 pgai reviewer: the project configuration does not work\n\n")
	b.WriteString("The migrations were not reviewed because of the project configuration (`.pgai.yml`):\n\n")
	fmt.Fprintf(&b, "```\n%s\n```\n\n", strings.ReplaceAll(err.Error(), "```", "'''"))
	fmt.Fprintf(&b, "Fix the file and push again. <sub>Commit `%s`.</sub>\n", short(sha))
	return report.NoQuickActions(b.String())
}

// commitURL derives the commit page from the MR page
// (https://host/group/project/-/merge_requests/1).
func commitURL(mrURL, sha string) string {
	i := strings.Index(mrURL, "/-/merge_requests/")
	if i < 0 || sha == "" {
		return ""
	}
	return mrURL[:i] + "/-/commit/" + sha
}

// summaries returns the bot's summary notes, oldest first.
func summaries(ctx context.Context, gl ReviewAPI, mr gitlab.MR, botID int64) ([]gitlab.Note, error) {
	notes, err := gl.Notes(ctx, mr)
	if err != nil {
		return nil, err
	}
	var out []gitlab.Note
	for _, n := range notes {
		if n.AuthorID == botID && !n.System && strings.Contains(n.Body, SummaryMarker) {
			out = append(out, n)
		}
	}
	return out, nil
}

// upsertSummary edits the bot's summary note in place, or creates it; a
// stray duplicate (from an older bot version or a race) is deleted.
func (r *Reviewer) upsertSummary(ctx context.Context, mr gitlab.MR, notes []gitlab.Note, body string) (gitlab.Note, error) {
	gl := r.o.GitLab
	if len(notes) == 0 {
		return gl.CreateNoteOnce(ctx, mr, body, SummaryMarker)
	}
	keep := notes[0]
	for _, dup := range notes[1:] {
		if err := gl.DeleteNote(ctx, mr, dup.ID); err != nil {
			r.log.WarnContext(ctx, "delete duplicate summary", "note_id", dup.ID, "err", err)
		}
	}
	if keep.Body != body {
		if err := gl.UpdateNote(ctx, mr, keep.ID, body); err != nil {
			return gitlab.Note{}, err
		}
	}
	return keep, nil
}
