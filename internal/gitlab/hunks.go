package gitlab

import (
	"strconv"
	"strings"
)

// DiffLines says which lines of the new file a diff shows: Added lines
// (green) and Context lines (unchanged, with their old line number). Only
// these lines can carry an inline discussion.
type DiffLines struct {
	Added   map[int]bool
	Context map[int]int
}

// ParseDiff reads the hunks of a GitLab diff (with or without the ---/+++
// header).
func ParseDiff(diff string) DiffLines {
	out := DiffLines{Added: map[int]bool{}, Context: map[int]int{}}
	oldLine, newLine := 0, 0
	inHunk := false
	for _, l := range strings.Split(diff, "\n") {
		if strings.HasPrefix(l, "@@") {
			o, n, ok := parseHunkHeader(l)
			if !ok {
				inHunk = false
				continue
			}
			oldLine, newLine, inHunk = o, n, true
			continue
		}
		if !inHunk || l == "" {
			continue
		}
		switch l[0] {
		case '+':
			out.Added[newLine] = true
			newLine++
		case '-':
			oldLine++
		case ' ':
			out.Context[newLine] = oldLine
			oldLine++
			newLine++
		case '\\': // "\ No newline at end of file"
		default:
			inHunk = false
		}
	}
	return out
}

// parseHunkHeader reads "@@ -a[,b] +c[,d] @@ ..." and returns a and c.
func parseHunkHeader(l string) (oldStart, newStart int, ok bool) {
	f := strings.Fields(l)
	if len(f) < 3 || !strings.HasPrefix(f[1], "-") || !strings.HasPrefix(f[2], "+") {
		return 0, 0, false
	}
	start := func(s string) (int, bool) {
		a, _, _ := strings.Cut(s[1:], ",")
		n, err := strconv.Atoi(a)
		return n, err == nil
	}
	o, ok1 := start(f[1])
	n, ok2 := start(f[2])
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	// A count of 0 puts the start on the line before; the first line of
	// an empty side is never read.
	if o == 0 {
		o = 1
	}
	if n == 0 {
		n = 1
	}
	return o, n, true
}
