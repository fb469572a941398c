package checks

import (
	"fmt"
	"sort"
	"strings"
)

// UnifiedDiff renders edits of one file as a unified diff that `git
// apply` and `patch -p1` accept (a/ and b/ prefixes, three lines of
// context). Identical edits count once; an edit whose lines overlap an
// earlier one (two rules rewriting the same statement) is left out and
// counted in skipped: apply the diff, check again, and the next one shows.
// Edits come in the order they should win (the caller sorts by
// severity); path is the file's path relative to the repository root.
func UnifiedDiff(path string, src []byte, edits []Edit) (diff string, skipped int) {
	text := string(src)
	noEOL := text != "" && !strings.HasSuffix(text, "\n")
	lines := strings.SplitAfter(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var chosen []Edit
next:
	for _, e := range edits {
		if e.StartLine < 1 || e.EndLine < e.StartLine || e.EndLine > len(lines) {
			skipped++
			continue
		}
		for _, c := range chosen {
			if c == e {
				continue next
			}
			if e.StartLine <= c.EndLine && c.StartLine <= e.EndLine {
				skipped++
				continue next
			}
		}
		chosen = append(chosen, e)
	}
	if len(chosen) == 0 {
		return "", skipped
	}
	sort.Slice(chosen, func(i, j int) bool { return chosen[i].StartLine < chosen[j].StartLine })

	const ctx = 3
	var b strings.Builder
	fmt.Fprintf(&b, "diff --git a/%s b/%s\n--- a/%s\n+++ b/%s\n", path, path, path, path)
	last := len(lines)
	// writeLine writes one line with its diff prefix; the file's last line,
	// when it has no newline, gets git's marker.
	var body strings.Builder
	writeLine := func(prefix, l string, isLastOld bool) {
		body.WriteString(prefix)
		body.WriteString(strings.TrimSuffix(l, "\n"))
		body.WriteString("\n")
		if isLastOld && noEOL {
			body.WriteString("\\ No newline at end of file\n")
		}
	}
	delta := 0 // new line number minus old line number so far
	for i := 0; i < len(chosen); {
		// A hunk holds the edits whose context windows touch.
		j := i + 1
		for j < len(chosen) && chosen[j].StartLine-chosen[j-1].EndLine-1 <= 2*ctx {
			j++
		}
		from := max(1, chosen[i].StartLine-ctx)
		to := min(last, chosen[j-1].EndLine+ctx)
		body.Reset()
		oldN, newN := 0, 0
		pos := from
		for _, e := range chosen[i:j] {
			for ; pos < e.StartLine; pos++ {
				writeLine(" ", lines[pos-1], pos == last)
				oldN, newN = oldN+1, newN+1
			}
			for ; pos <= e.EndLine; pos++ {
				writeLine("-", lines[pos-1], pos == last)
				oldN++
			}
			for _, l := range strings.SplitAfter(strings.TrimSuffix(e.Text, "\n"), "\n") {
				writeLine("+", l, false)
				newN++
			}
		}
		for ; pos <= to; pos++ {
			writeLine(" ", lines[pos-1], pos == last)
			oldN, newN = oldN+1, newN+1
		}
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", from, oldN, from+delta, newN)
		b.WriteString(body.String())
		delta += newN - oldN
		i = j
	}
	return b.String(), skipped
}
