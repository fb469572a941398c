package checks

import (
	"fmt"
	"strings"
)

// One finding per rule and statement: a rule that reports several times on
// one statement (an ALTER TABLE adding 60 stored generated columns, three
// UNIQUE constraints in one statement) gives one finding that lists them,
// so that a merge request shows one thread per problem and statement rather
// than one per column. The merge is done here, for every rule, instead of
// in each rule: a rule reports what it sees, column by column if that is
// simpler, and the runner folds the reports together. The finding's
// fingerprint (rule, path, statement) then names exactly one finding.

// maxListed is how many of the merged messages the merged message names
// one by one; the rest are counted.
const maxListed = 10

// mergeSameRule folds findings of the same rule in fs (all on one
// statement) into one, in the order of each rule's first finding.
func mergeSameRule(fs []Finding) []Finding {
	if len(fs) < 2 {
		return fs
	}
	dup := false
	seen := make(map[string]bool, len(fs))
	for _, f := range fs {
		if seen[f.Rule] {
			dup = true
			break
		}
		seen[f.Rule] = true
	}
	if !dup {
		return fs
	}
	var order []string
	groups := map[string][]Finding{}
	for _, f := range fs {
		if _, ok := groups[f.Rule]; !ok {
			order = append(order, f.Rule)
		}
		groups[f.Rule] = append(groups[f.Rule], f)
	}
	out := fs[:0:0]
	for _, id := range order {
		out = append(out, mergeFindings(groups[id]))
	}
	return out
}

// mergeFindings makes one finding of several of one rule on one
// statement: the first message, then what the others are about; every
// distinct why; the fixes combined paragraph by paragraph (the SQL of
// each in one code block); the highest severity.
func mergeFindings(g []Finding) Finding {
	if len(g) == 1 {
		return g[0]
	}
	m := g[0]
	var msgs, whys, fixes []string
	for _, f := range g {
		msgs = appendDistinct(msgs, f.Message)
		whys = appendDistinct(whys, f.Why)
		fixes = appendDistinct(fixes, f.Fix)
		if f.Severity > m.Severity {
			m.Severity = f.Severity
		}
	}
	m.Message = mergeMessages(msgs)
	m.Why = strings.Join(whys, "\n\n")
	m.Fix = mergeFixes(fixes)
	// An edit replaces the whole statement: keep it only when every
	// report proposed the same one.
	for _, f := range g[1:] {
		if f.Edit == nil || m.Edit == nil || *f.Edit != *m.Edit {
			m.Edit = nil
			break
		}
	}
	return m
}

func appendDistinct(xs []string, s string) []string {
	if s == "" {
		return xs
	}
	for _, x := range xs {
		if x == s {
			return xs
		}
	}
	return append(xs, s)
}

// mergeMessages keeps the first message whole and names what each other
// one is about: the words that differ from the first, with the words all
// messages start with ("ADD COLUMN d GENERATED ALWAYS AS (a * 2)").
func mergeMessages(msgs []string) string {
	if len(msgs) == 1 {
		return msgs[0]
	}
	words := make([][]string, len(msgs))
	for i, m := range msgs {
		words[i] = strings.Fields(m)
	}
	pre := len(words[0])
	suf := len(words[0])
	for _, w := range words[1:] {
		pre = min(pre, commonPrefix(words[0], w))
		suf = min(suf, commonSuffix(words[0], w))
	}
	var parts []string
	for _, w := range words[1:] {
		s := min(suf, len(w)-pre) // prefix and suffix may not overlap
		mid := w[pre : len(w)-s]
		if len(mid) == 0 {
			continue
		}
		part := strings.Join(append(append([]string{}, w[:min(pre, 3)]...), mid...), " ")
		if pre > 3 {
			part = strings.Join(mid, " ")
		}
		part = strings.TrimRight(part, ".:;,")
		if len(part) > 80 {
			part = part[:77] + "…"
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return msgs[0]
	}
	more := ""
	if len(parts) > maxListed {
		more = fmt.Sprintf(" and %d more", len(parts)-maxListed)
		parts = parts[:maxListed]
	}
	return fmt.Sprintf("%s The same in this statement for %d more: %s%s.", msgs[0], len(msgs)-1, strings.Join(parts, "; "), more)
}

func commonPrefix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func commonSuffix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// mergeFixes combines fix texts paragraph by paragraph: a paragraph that
// is the same in every fix appears once; the SQL paragraphs (indented code
// blocks) at the same place are joined into one block, without repeated
// lines; other differing paragraphs follow each other.
func mergeFixes(fixes []string) string {
	if len(fixes) == 1 {
		return fixes[0]
	}
	paras := make([][]string, len(fixes))
	n := 0
	for i, f := range fixes {
		paras[i] = strings.Split(f, "\n\n")
		n = max(n, len(paras[i]))
	}
	var out []string
	for j := 0; j < n; j++ {
		var at []string
		code := true
		for i := range paras {
			if j >= len(paras[i]) {
				continue
			}
			at = appendDistinct(at, paras[i][j])
			if !isCodeParagraph(paras[i][j]) {
				code = false
			}
		}
		if code && len(at) > 1 {
			var lines []string
			for _, p := range at {
				for _, l := range strings.Split(p, "\n") {
					lines = appendDistinct(lines, l)
				}
			}
			at = []string{strings.Join(lines, "\n")}
		}
		for _, p := range at {
			out = appendDistinct(out, p)
		}
	}
	return strings.Join(out, "\n\n")
}

// isCodeParagraph reports whether every line of p is indented as Indent
// makes SQL code blocks.
func isCodeParagraph(p string) bool {
	for _, l := range strings.Split(p, "\n") {
		if l != "" && !strings.HasPrefix(l, "    ") {
			return false
		}
	}
	return p != ""
}
