package checks

import (
	"fmt"
)

var charN = &Rule{
	ID:       "char-n",
	Group:    "types",
	Severity: Warning,
	Summary:  "A column of type char(n) / character(n).",
	Why: "char(n) pads every value with spaces to n characters and ignores trailing spaces when comparing two char values, but " +
		"the padding is stripped when the value becomes text (a cast, a comparison with a text value, a join to a text column) " +
		"and LIKE and regular expressions see it: 'ab'::char(4) = 'ab  ' is true, 'ab'::char(4)::text = 'ab  ' is false, and " +
		"'ab'::char(4) LIKE 'ab' is false, so lookups silently miss. It is never faster than text in PostgreSQL, and a length " +
		"change needs ALTER COLUMN … TYPE under ACCESS EXCLUSIVE (a rewrite when it shrinks).",
	Fix:     "Use text, with a CHECK constraint for the length rule (it can later be replaced with NOT VALID + VALIDATE instead of a table rewrite).",
	DocsURL: "https://www.postgresql.org/docs/current/datatype-character.html",
	Check: func(p *Pass) {
		match := columnTypeIs("bpchar")
		cols := matchingColumns(p, match)
		if len(cols) == 0 {
			return
		}
		fix, offer := textWithCheck(p, match, p.Rule().Fix)
		p.Report(fmt.Sprintf("%s %s %s char(n), which pads values with spaces and compares them inconsistently; use text.", pluralize(len(cols), "Column", "Columns"), colNames(cols), pluralize(len(cols), "is", "are")), "", fix)
		offer()
	},
}
