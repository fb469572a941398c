package checks

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxIdentifierBytes is NAMEDATALEN-1 in a default PostgreSQL build.
const maxIdentifierBytes = 63

var identifierTooLong = &Rule{
	ID:       "identifier-too-long",
	Group:    "types",
	Severity: Warning,
	Summary:  "An identifier longer than 63 bytes, which PostgreSQL silently truncates.",
	Why: "Identifiers are limited to NAMEDATALEN-1 = 63 bytes; a longer one is cut to 63 bytes with only a NOTICE, so the object " +
		"is created under a different name than the migration says. Two long names that share their first 63 bytes then " +
		"collide (\"relation … already exists\", 42P07) or silently refer to the same object, and tools that compare names (ORMs, " +
		"schema diff, the next migration that drops the full name with IF EXISTS) see a mismatch. Multi-byte characters count " +
		"with their UTF-8 size.",
	Fix:     "Choose a name of at most 63 bytes (abbreviate the table or column parts of index and constraint names).",
	DocsURL: "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS",
	Check: func(p *Pass) {
		long := longIdentifiers(p.Stmt.SQL)
		if len(long) == 0 {
			return
		}
		var msgs, fixes []string
		for _, id := range long {
			cut := truncateIdent(id)
			msgs = append(msgs, fmt.Sprintf("%s (%d bytes)", id, len(id)))
			fixes = append(fixes, fmt.Sprintf("- %s is stored as %s", id, cut))
		}
		p.Report(fmt.Sprintf("%s %s longer than 63 bytes and silently truncated.", pluralize(len(long), "Identifier", "Identifiers"), listNames(msgs)+" "+pluralize(len(long), "is", "are")),
			"", "Choose names of at most 63 bytes. PostgreSQL would keep only the first 63 bytes:\n\n"+strings.Join(fixes, "\n"))
	},
}

// truncateIdent cuts an identifier to 63 bytes without splitting a UTF-8
// character, as PostgreSQL's truncate_identifier does.
func truncateIdent(s string) string {
	if len(s) <= maxIdentifierBytes {
		return s
	}
	n := maxIdentifierBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// longIdentifiers scans SQL text like PostgreSQL's lexer does for
// identifiers — unquoted words (folded to lower case) and "quoted" names —
// skipping string constants, dollar-quoted bodies and comments, and
// returns those over 63 bytes, each once, in order.
func longIdentifiers(sql string) []string {
	var out []string
	add := func(id string) {
		if len(id) > maxIdentifierBytes && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	isStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }
	isCont := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' || c == '$' }
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			depth := 0
			for i < len(sql) {
				if strings.HasPrefix(sql[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(sql[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'':
			i = skipString(sql, i, i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e'))
		case c == '"':
			j := i + 1
			if end := strings.IndexByte(sql[j:], '"'); end >= 0 && end <= maxIdentifierBytes && (j+end+1 >= len(sql) || sql[j+end+1] != '"') {
				i = j + end + 1 // short and without doubled quotes: cannot be too long
				continue
			}
			var b strings.Builder
			for j < len(sql) {
				if sql[j] == '"' {
					if j+1 < len(sql) && sql[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(sql[j])
				j++
			}
			add(b.String())
			i = j + 1
		case c == '$':
			if tag, ok := dollarQuote(sql, i); ok {
				end := strings.Index(sql[i+len(tag):], tag)
				if end < 0 {
					return out
				}
				i += len(tag) + end + len(tag)
			} else {
				i++
			}
		case c >= '0' && c <= '9':
			for i < len(sql) && (isCont(sql[i]) || sql[i] == '.') {
				i++
			}
		case isStart(c):
			j := i
			for j < len(sql) && isCont(sql[j]) {
				j++
			}
			if j < len(sql) && sql[j] == '\'' {
				i = j // a prefixed string constant (E'…', B'…', X'…', N'…')
				continue
			}
			if j-i > maxIdentifierBytes {
				add(asciiLower(sql[i:j]))
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// skipString returns the index after the string constant starting at i.
func skipString(s string, i int, backslash bool) int {
	for j := i + 1; j < len(s); j++ {
		switch {
		case backslash && s[j] == '\\':
			j++
		case s[j] == '\'':
			if j+1 < len(s) && s[j+1] == '\'' {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// dollarQuote returns the $tag$ opening a dollar-quoted string at i.
func dollarQuote(s string, i int) (string, bool) {
	j := i + 1
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 0x80 || (j > i+1 && s[j] >= '0' && s[j] <= '9')) {
		j++
	}
	if j < len(s) && s[j] == '$' {
		return s[i : j+1], true
	}
	return "", false
}

// asciiLower folds an unquoted identifier as PostgreSQL does in a UTF-8
// database: ASCII letters only.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
