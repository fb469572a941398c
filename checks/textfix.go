package checks

import (
	"strings"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// Mechanical fixes that only add keywords after a statement's leading
// keywords (CONCURRENTLY, IF NOT EXISTS, IF EXISTS, OR REPLACE) are made
// by editing the statement's own text: it keeps the user's formatting and
// costs far less than SafeSQL's copy and deparse of the parse tree, which
// dominated `reviewer check` on large migration sets. Whenever the text is
// not plainly the expected keywords, the caller falls back to SafeSQL.

// kw is one leading keyword of a pattern: one of words (lower case), or
// nothing when optional.
type kw struct {
	words    []string
	optional bool
}

func must(words ...string) kw { return kw{words: words} }
func opt(words ...string) kw  { return kw{words: words, optional: true} }

// insertAfterKeywords returns the statement's text with ins inserted right
// after the leading keywords matching pattern, terminated by a semicolon;
// ok is false when the text does not start with them or holds a comment
// (a trailing "--" comment would swallow the added semicolon).
func insertAfterKeywords(st *sqlparse.Statement, ins string, pattern ...kw) (string, bool) {
	sql := strings.TrimSpace(st.SQL)
	sql = strings.TrimSpace(strings.TrimSuffix(sql, ";"))
	if sql == "" || strings.Contains(sql, "--") || strings.Contains(sql, "/*") || strings.Contains(sql, ";") {
		return "", false
	}
	end, i := -1, 0
	for _, k := range pattern {
		j := i
		for j < len(sql) && isSpace(sql[j]) {
			j++
		}
		w := j
		for w < len(sql) && isWordByte(sql[w]) {
			w++
		}
		if w > j && w < len(sql) && !isSpace(sql[w]) {
			w = j // a keyword is followed by white space
		}
		if w > j && hasWordFold(k.words, sql[j:w]) {
			i, end = w, w
			continue
		}
		if !k.optional {
			return "", false
		}
	}
	if end < 0 {
		return "", false
	}
	return sql[:end] + ins + sql[end:] + ";", true
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' }

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_'
}

func hasWordFold(words []string, w string) bool {
	for _, x := range words {
		if strings.EqualFold(x, w) {
			return true
		}
	}
	return false
}
