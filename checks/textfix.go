package checks

import (
	"sort"
	"strconv"
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
	end, ok := afterKeywords(sql, 0, pattern)
	if !ok {
		return "", false
	}
	return sql[:end] + ins + sql[end:] + ";", true
}

// nextWord skips white space at sql[i:] and returns where the word after
// it starts and ends (equal when no word follows).
func nextWord(sql string, i int) (start, end int) {
	for i < len(sql) && isSpace(sql[i]) {
		i++
	}
	end = i
	for end < len(sql) && isWordByte(sql[end]) {
		end++
	}
	return i, end
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

// stmtText is the statement's parsed text without its semicolon, when a
// text edit is safe: no comment, no dollar quote, no second statement.
func stmtText(st *sqlparse.Statement) (string, bool) {
	sql := strings.TrimSpace(st.SQL)
	sql = strings.TrimSpace(strings.TrimSuffix(sql, ";"))
	if sql == "" || strings.ContainsAny(sql, ";$") || strings.Contains(sql, "--") || strings.Contains(sql, "/*") {
		return "", false
	}
	return sql, true
}

// textTypeFix is textWithCheck's fix made on the statement's text: each
// column's character type (varchar(n), char(n), …) becomes text and, in
// CREATE TABLE, gets CHECK (char_length(col) <= n) at the end of its
// definition. ok is false when any edit is not plain.
func textTypeFix(st *sqlparse.Statement, cols []colDef) (string, bool) {
	sql, ok := stmtText(st)
	if !ok || strings.ContainsRune(sql, '\\') {
		return "", false
	}
	type edit struct {
		at, end int // replace sql[at:end]
		with    string
	}
	var edits []edit
	for _, c := range cols {
		tn := c.Col.TypeName
		if isArrayType(tn) {
			return "", false
		}
		at := st.SQLOffset(tn.Location)
		if at < 0 || at >= len(sql) {
			return "", false
		}
		end, ok := charTypeEnd(sql, at)
		if !ok {
			return "", false
		}
		edits = append(edits, edit{at, end, "text"})
		limit := firstTypmod(tn)
		if limit <= 0 || c.Kind != "create" {
			continue
		}
		name, ok := columnNameAt(sql, st.SQLOffset(c.Col.Location))
		if !ok {
			return "", false
		}
		defEnd, ok := columnDefEnd(sql, end)
		if !ok {
			return "", false
		}
		edits = append(edits, edit{defEnd, defEnd, " CHECK (char_length(" + name + ") <= " + strconv.FormatInt(limit, 10) + ")"})
	}
	if len(edits) == 0 {
		return "", false
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].at < edits[j].at })
	var b strings.Builder
	prev := 0
	for _, e := range edits {
		if e.at < prev {
			return "", false
		}
		b.WriteString(sql[prev:e.at])
		b.WriteString(e.with)
		prev = e.end
	}
	b.WriteString(sql[prev:])
	b.WriteString(";")
	return b.String(), true
}

// charTypeEnd returns the end of a character type written at sql[at:]:
// varchar, character varying, char, character, bpchar or nchar, with an
// optional (n).
func charTypeEnd(sql string, at int) (int, bool) {
	i, words := at, 0
	for {
		j, w := nextWord(sql, i)
		if w == j || !hasWordFold([]string{"varchar", "character", "char", "varying", "bpchar", "nchar", "national"}, sql[j:w]) {
			break
		}
		i, words = w, words+1
	}
	if words == 0 || (i < len(sql) && isWordByte(sql[i])) {
		return 0, false
	}
	j := i
	for j < len(sql) && isSpace(sql[j]) {
		j++
	}
	if j < len(sql) && sql[j] == '(' {
		k := j + 1
		for k < len(sql) && (isSpace(sql[k]) || sql[k] >= '0' && sql[k] <= '9') {
			k++
		}
		if k >= len(sql) || sql[k] != ')' {
			return 0, false
		}
		i, j = k+1, k+1
		for j < len(sql) && isSpace(sql[j]) {
			j++
		}
	}
	if j < len(sql) && (sql[j] == '[' || sql[j] == '(' || isWordByte(sql[j]) && strings.HasPrefix(strings.ToLower(sql[j:]), "array")) {
		return 0, false
	}
	return i, true
}

// columnNameAt returns the column name written at sql[at:], quoted as the
// user quoted it.
func columnNameAt(sql string, at int) (string, bool) {
	if at < 0 || at >= len(sql) {
		return "", false
	}
	if sql[at] == '"' {
		end := strings.IndexByte(sql[at+1:], '"')
		if end < 0 || at+end+2 < len(sql) && sql[at+end+2] == '"' {
			return "", false // an escaped quote: leave it to the deparser
		}
		return sql[at : at+end+2], true
	}
	end := at
	for end < len(sql) && (isWordByte(sql[end]) || sql[end] >= '0' && sql[end] <= '9' || sql[end] == '$') {
		end++
	}
	if end == at {
		return "", false
	}
	return sql[at:end], true
}

// columnDefEnd returns where a column definition of CREATE TABLE that
// continues at sql[from:] ends: before the comma or closing parenthesis at
// its level, and before the white space in front of it.
func columnDefEnd(sql string, from int) (int, bool) {
	depth := 0
	for i := from; i < len(sql); i++ {
		switch sql[i] {
		case '\'', '"':
			end := strings.IndexByte(sql[i+1:], sql[i])
			if end < 0 {
				return 0, false
			}
			i += end + 1 // a doubled quote reads as two quoted parts
		case '(':
			depth++
		case ')', ',':
			if sql[i] == ')' && depth > 0 {
				depth--
				continue
			}
			if depth > 0 {
				continue
			}
			j := i
			for j > from && isSpace(sql[j-1]) {
				j--
			}
			return j, true
		}
	}
	return 0, false
}

// alterTableEdits returns the ALTER TABLE statement's text with ins[i]
// inserted after the leading keywords pattern[i] of its i-th command
// (no edit where pattern[i] is nil). ok is false when the text is not
// plain enough to be sure where each command starts: the caller then
// deparses.
func alterTableEdits(st *sqlparse.Statement, ncmds int, pattern [][]kw, ins []string) (string, bool) {
	sql, ok := stmtText(st)
	if !ok || strings.ContainsRune(sql, '\\') {
		return "", false
	}
	segs, ok := topLevelSegments(sql)
	if !ok || len(segs) != ncmds {
		return "", false
	}
	// The first segment starts with ALTER TABLE [IF EXISTS] [ONLY] name [*].
	start, ok := skipAlterTableHeader(sql, segs[0][0])
	if !ok {
		return "", false
	}
	segs[0][0] = start
	var b strings.Builder
	prev := 0
	for i, seg := range segs {
		if pattern[i] == nil {
			continue
		}
		at, ok := afterKeywords(sql[:seg[1]], seg[0], pattern[i])
		if !ok {
			return "", false
		}
		b.WriteString(sql[prev:at])
		b.WriteString(ins[i])
		prev = at
	}
	b.WriteString(sql[prev:])
	b.WriteString(";")
	return b.String(), true
}

// topLevelSegments splits sql at the commas outside parentheses and
// quotes: [start, end) of each part.
func topLevelSegments(sql string) ([][2]int, bool) {
	var segs [][2]int
	depth, start := 0, 0
	for i := 0; i < len(sql); i++ {
		switch sql[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, false
			}
		case '\'', '"':
			q := sql[i]
			j := i + 1
			for j < len(sql) && !(sql[j] == q && (j+1 >= len(sql) || sql[j+1] != q)) {
				if sql[j] == q {
					j++ // a doubled quote
				}
				j++
			}
			if j >= len(sql) {
				return nil, false
			}
			i = j
		case ',':
			if depth == 0 {
				segs = append(segs, [2]int{start, i})
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, false
	}
	return append(segs, [2]int{start, len(sql)}), true
}

// skipAlterTableHeader returns the offset after "ALTER TABLE [IF EXISTS]
// [ONLY] name [*]" at sql[i:].
func skipAlterTableHeader(sql string, i int) (int, bool) {
	i, ok := afterKeywords(sql, i, []kw{must("alter"), must("table")})
	if !ok {
		return 0, false
	}
	if j, ok := afterKeywords(sql, i, []kw{must("if"), must("exists")}); ok {
		i = j
	}
	if j, ok := afterKeywords(sql, i, []kw{must("only")}); ok {
		i = j
	}
	// The name: identifiers or quoted identifiers joined by dots.
	for {
		for i < len(sql) && isSpace(sql[i]) {
			i++
		}
		switch {
		case i < len(sql) && sql[i] == '"':
			j := i + 1
			for j < len(sql) && !(sql[j] == '"' && (j+1 >= len(sql) || sql[j+1] != '"')) {
				if sql[j] == '"' {
					j++
				}
				j++
			}
			if j >= len(sql) {
				return 0, false
			}
			i = j + 1
		case i < len(sql) && (isWordByte(sql[i]) || sql[i] >= 0x80):
			for i < len(sql) && (isWordByte(sql[i]) || sql[i] >= '0' && sql[i] <= '9' || sql[i] == '$' || sql[i] >= 0x80) {
				i++
			}
		default:
			return 0, false
		}
		if i < len(sql) && sql[i] == '.' {
			i++
			continue
		}
		break
	}
	for i < len(sql) && isSpace(sql[i]) {
		i++
	}
	if i < len(sql) && sql[i] == '*' {
		i++
	}
	return i, true
}

// afterKeywords returns the offset right after the keywords of pattern
// found at sql[i:] (white space before each), or false.
func afterKeywords(sql string, i int, pattern []kw) (int, bool) {
	end := -1
	for _, k := range pattern {
		j, w := nextWord(sql, i)
		if w > j && w < len(sql) && !isSpace(sql[w]) && sql[w] != '"' {
			w = j // a keyword is followed by white space or a quoted name
		}
		if w > j && hasWordFold(k.words, sql[j:w]) {
			i, end = w, w
			continue
		}
		if !k.optional {
			return 0, false
		}
	}
	return end, end >= 0
}
