package gitlabtest

import (
	"fmt"
	"strings"
)

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// makeDiff builds GitLab's diff text (hunks only, like the /diffs
// endpoint) for one file: the changed middle between the common prefix and
// suffix, with up to three context lines, and remembers which new lines
// were added and which are context.
func makeDiff(path, oldSrc, newSrc string, newFile, deleted bool) diff {
	d := diff{OldPath: path, NewPath: path, NewFile: newFile, Deleted: deleted, added: map[int]bool{}, context: map[int]int{}, aMode: "100644", bMode: "100644"}
	if newFile {
		d.aMode = "0"
	}
	if deleted {
		d.bMode = "0"
	}
	oldL, newL := splitLines(oldSrc), splitLines(newSrc)
	pre := 0
	for pre < len(oldL) && pre < len(newL) && oldL[pre] == newL[pre] {
		pre++
	}
	suf := 0
	for suf < len(oldL)-pre && suf < len(newL)-pre && oldL[len(oldL)-1-suf] == newL[len(newL)-1-suf] {
		suf++
	}
	const ctx = 3
	cStart := max(pre-ctx, 0)
	oEnd := len(oldL) - suf // exclusive end of removed lines
	nEnd := len(newL) - suf
	cAfter := min(suf, ctx)
	oCount := (oEnd - cStart) + cAfter
	nCount := (nEnd - cStart) + cAfter
	oStart, nStart := cStart+1, cStart+1
	if oCount == 0 {
		oStart = 0
	}
	if nCount == 0 {
		nStart = 0
	}
	var b strings.Builder
	fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", oStart, oCount, nStart, nCount)
	for i := cStart; i < pre; i++ {
		fmt.Fprintf(&b, " %s\n", newL[i])
		d.context[i+1] = i + 1
	}
	for i := pre; i < oEnd; i++ {
		fmt.Fprintf(&b, "-%s\n", oldL[i])
	}
	for i := pre; i < nEnd; i++ {
		fmt.Fprintf(&b, "+%s\n", newL[i])
		d.added[i+1] = true
	}
	for k := 0; k < cAfter; k++ {
		ni, oi := nEnd+k, oEnd+k
		fmt.Fprintf(&b, " %s\n", newL[ni])
		d.context[ni+1] = oi + 1
	}
	d.Diff = b.String()
	return d
}
