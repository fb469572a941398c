package checks

import (
	"regexp"
	"strings"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// Ignore directives, in SQL comments:
//
//	-- pgai:ignore rule-id[, rule-id] reason      (the next statement)
//	-- pgai:ignore-file rule-id[, rule-id] reason (the whole file)
//
// An ignore that matched no finding is itself reported (unused-ignore), so
// stale ignores do not pile up.
var ignoreRE = regexp.MustCompile(`(?i)pgai:(ignore-file|ignore)\s+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)`)

type ignore struct {
	file    bool
	rules   []string
	line    int
	stmt    int // index of the statement it applies to; -1 for file
	used    map[string]bool
	comment sqlparse.Comment
}

type ignores []*ignore

func parseIgnores(f *sqlparse.File) ignores {
	var out ignores
	leadingOf := map[int]int{} // comment offset → statement index
	for _, st := range f.Statements {
		for _, c := range st.Leading {
			leadingOf[c.Offset] = st.Index
		}
	}
	for _, c := range f.Comments {
		m := ignoreRE.FindStringSubmatch(c.Text)
		if m == nil {
			continue
		}
		ig := &ignore{file: strings.EqualFold(m[1], "ignore-file"), line: c.Line, stmt: -1, used: map[string]bool{}, comment: c}
		for _, r := range strings.Split(m[2], ",") {
			ig.rules = append(ig.rules, strings.TrimSpace(strings.ToLower(r)))
		}
		if !ig.file {
			idx, ok := leadingOf[c.Offset]
			if !ok {
				// a trailing comment on the statement's own last line
				for _, st := range f.Statements {
					if st.End.Line == c.Line {
						idx, ok = st.Index, true
					}
				}
			}
			if !ok {
				idx = -2 // applies to nothing
			}
			ig.stmt = idx
		}
		out = append(out, ig)
	}
	return out
}

// apply drops ignored findings and reports unused ignores.
func (igs ignores) apply(f *sqlparse.File, fs []Finding, keys []string, rules []*Rule) ([]Finding, []string) {
	if len(igs) == 0 {
		return fs, keys
	}
	stmtAt := map[int]int{} // finding index → statement index
	for i, fd := range fs {
		stmtAt[i] = -1
		for _, st := range f.Statements {
			if fd.Line >= st.Start.Line && fd.Line <= st.End.Line {
				stmtAt[i] = st.Index
				break
			}
		}
	}
	var out []Finding
	var outKeys []string
	for i, fd := range fs {
		dropped := false
		for _, ig := range igs {
			if !ig.file && ig.stmt != stmtAt[i] {
				continue
			}
			for _, r := range ig.rules {
				if r == fd.Rule || r == "all" {
					ig.used[r] = true
					dropped = true
				}
			}
		}
		if !dropped {
			out = append(out, fd)
			outKeys = append(outKeys, keys[i])
		}
	}
	unused := ruleEnabled(rules, "unused-ignore")
	if unused == nil {
		return out, outKeys
	}
	for _, ig := range igs {
		for _, r := range ig.rules {
			if ig.used[r] {
				continue
			}
			if mr := Lookup(r); mr != nil && mr.Measured {
				continue // judged after the clone experiment, if one runs
			}
			msg := "Ignore directive for " + r + " matched no finding"
			if Lookup(r) == nil && r != "all" {
				msg = "Ignore directive names unknown rule " + r
			}
			pos := f.Position(ig.comment.Offset)
			end := f.Position(ig.comment.Offset + len(ig.comment.Text) - 1)
			out = append(out, Finding{
				Rule: unused.ID, Severity: unused.Severity, Path: f.Path,
				Line: pos.Line, Column: pos.Col, EndLine: end.Line, EndColumn: end.Col,
				Statement: ig.comment.Text, Message: msg + ".", Why: unused.Why, Fix: unused.Fix, DocsURL: unused.DocsURL,
			})
			outKeys = append(outKeys, ig.comment.Text+r)
		}
	}
	return out, outKeys
}

// Ignored reports whether a pgai:ignore or pgai:ignore-file directive of f
// covers the finding fd (same file). Static findings are filtered while
// their file is checked; findings of measured rules, which come later
// from a clone experiment, are filtered with this.
func Ignored(f *sqlparse.File, fd Finding) bool {
	if f == nil || f.Path != fd.Path {
		return false
	}
	igs := parseIgnores(f)
	if len(igs) == 0 {
		return false
	}
	stmt := -1
	for _, st := range f.Statements {
		if fd.Line >= st.Start.Line && fd.Line <= st.End.Line {
			stmt = st.Index
			break
		}
	}
	for _, ig := range igs {
		if !ig.file && ig.stmt != stmt {
			continue
		}
		for _, r := range ig.rules {
			if r == fd.Rule || r == "all" {
				return true
			}
		}
	}
	return false
}

// FinishMeasured settles findings after a clone experiment merged its
// measurements in: findings of measured rules get the configuration
// (off, severity, pgai:ignore in their file); every finding gets its
// blocking flag from fail_on. Static findings already had their
// configured severity, and a measurement may have changed it since
// (confirmed and escalated, or refuted and downgraded), so only their
// blocking flag is recomputed.
func (s *Settings) FinishMeasured(files []*sqlparse.File, fs []Finding) []Finding {
	byPath := map[string]*sqlparse.File{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	out := fs[:0]
	for i := range fs {
		fd := fs[i]
		if r := Lookup(fd.Rule); r != nil && r.Measured {
			if Ignored(byPath[fd.Path], fd) || !s.Apply(&fd) {
				continue
			}
		} else {
			s.setBlocking(&fd)
		}
		out = append(out, fd)
	}
	return out
}
