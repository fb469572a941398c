package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
)

// TextOptions control the terminal output.
type TextOptions struct {
	// Color adds ANSI colours (only when writing to a terminal).
	Color bool
	// Brief prints only the first line of each finding.
	Brief bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

// WriteText writes findings as `path:line:col: severity [rule] message`,
// each followed by why, fix and docs, then a summary line.
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	t := NewTextWriter(w, o)
	for _, f := range r.Files {
		t.File(f)
	}
	for _, f := range r.Findings {
		t.Finding(f)
	}
	return t.Finish(r)
}

// TextWriter writes the text report piece by piece, so that a long review
// can print findings as files are checked instead of keeping them all.
type TextWriter struct {
	b *bufio.Writer
	o TextOptions
}

// NewTextWriter starts a text report on w.
func NewTextWriter(w io.Writer, o TextOptions) *TextWriter {
	return &TextWriter{b: bufio.NewWriterSize(w, textBufferSize), o: o}
}

// textBufferSize is how much text is written at a time. A large review
// prints megabytes (8 MB for 2,000 files with 7,775 findings): bufio's
// default 4 KiB made that 1,936 write system calls, 121 at 64 KiB.
const textBufferSize = 64 << 10

func (t *TextWriter) paint(code, s string) string {
	if !t.o.Color {
		return s
	}
	return code + s + ansiReset
}

// File notes a file that could not be analysed (analysed files print
// nothing of their own).
func (t *TextWriter) File(f File) {
	if !f.Analysed {
		fmt.Fprintf(t.b, "%s: not analysed: %s\n", f.Path, f.SkippedReason)
	}
}

// Finding writes one finding.
func (t *TextWriter) Finding(f checks.Finding) {
	b := t.b
	sev := f.Severity.String()
	switch f.Severity {
	case checks.Error:
		sev = t.paint(ansiBold+ansiRed, sev)
	case checks.Warning:
		sev = t.paint(ansiYellow, sev)
	default:
		sev = t.paint(ansiCyan, sev)
	}
	b.WriteString(f.Path)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(f.Line))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(f.Column))
	b.WriteString(": ")
	b.WriteString(sev)
	b.WriteString(" [")
	b.WriteString(f.Rule)
	b.WriteString("] ")
	b.WriteString(f.Message)
	b.WriteByte('\n')
	if t.o.Brief {
		return
	}
	if f.Why != "" {
		writeIndented(b, "  ", "why: ", f.Why)
	}
	if f.Fix != "" {
		writeIndented(b, "  ", "fix: ", f.Fix)
	}
	if f.Measured != "" {
		label := "measured: "
		if f.Refuted {
			label = "measured (refutes the static claim): "
		}
		writeIndented(b, "  ", label, f.Measured)
	}
	if f.DocsURL != "" {
		b.WriteString(t.paint(ansiDim, "  docs: "+f.DocsURL) + "\n")
	}
	b.WriteString("\n")
}

// Finish writes the measurements and the summary line of r, and flushes.
func (t *TextWriter) Finish(r *Report) error {
	if len(r.Measurements) > 0 {
		t.b.WriteString(measurementsText(r))
	}
	if r.NotMeasured != "" {
		t.b.WriteString(t.paint(ansiYellow, r.NotMeasured) + "\n")
	}
	s := r.Summary
	verdict := "passed"
	if s.Blocking > 0 {
		verdict = t.paint(ansiBold+ansiRed, "failed")
	}
	fmt.Fprintf(t.b, "%d files, %d statements: %d errors, %d warnings, %d infos; %d blocking — %s\n",
		s.Files, s.Statements, s.Errors, s.Warnings, s.Infos, s.Blocking, verdict)
	return t.b.Flush()
}

// writeIndented writes label+s with every non-empty line indented by
// prefix, ending in one newline.
func writeIndented(b *bufio.Writer, prefix, label, s string) {
	s = strings.TrimRight(s, "\n")
	first := true
	for line := range strings.SplitSeq(s, "\n") {
		if first {
			b.WriteString(prefix)
			b.WriteString(label)
			first = false
		} else if line != "" {
			b.WriteString(prefix)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

func evidenceLine(ev map[string]any) string {
	var parts []string
	for _, k := range sortedKeys(ev) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, ev[k]))
	}
	return strings.Join(parts, ", ")
}

func measurementsText(r *Report) string {
	var b strings.Builder
	b.WriteString("Measured on a clone:\n")
	for _, m := range r.Measurements {
		fmt.Fprintf(&b, "  %s:%d  ", m.Path, m.Line)
		if !m.Measured() {
			b.WriteString(m.StatusText())
			b.WriteString("\n")
			continue
		}
		b.WriteString(dblab.HumanMS(m.DurationMS))
		if m.Rows >= 0 {
			fmt.Fprintf(&b, ", %d rows", m.Rows)
		}
		if len(m.Rewritten) > 0 {
			fmt.Fprintf(&b, ", rewrote %s", strings.Join(m.Rewritten, ", "))
		}
		if len(m.Scanned) > 0 {
			fmt.Fprintf(&b, ", scanned %s", strings.Join(m.Scanned, ", "))
		}
		if m.Error != "" {
			fmt.Fprintf(&b, ", ERROR %s %s", m.SQLState, m.Error)
		}
		b.WriteString("\n")
		for _, l := range m.Locks {
			fmt.Fprintf(&b, "      %s on %s held %s (blocks %s)\n", checks.LockSQLName(l.Mode), l.Relation, dblab.HumanMS(l.HeldMS), blocksText(l.Blocks))
		}
		for _, bl := range m.Blocked {
			fmt.Fprintf(&b, "      a concurrent %s on %s waited %s\n", bl.Kind, bl.Relation, dblab.HumanMS(bl.MaxWaitMS))
		}
	}
	b.WriteString("\n")
	return b.String()
}

func blocksText(b []string) string {
	if len(b) == 0 {
		return "nothing"
	}
	return strings.Join(b, ", ")
}
