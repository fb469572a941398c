package sqlparse

import "strings"

// span is one statement found by the splitter: byte offsets into the text
// it was split from. end is exclusive and stops before the terminating
// semicolon; term is true when a semicolon ended the statement.
type span struct {
	start, end int
	term       bool
	semi       int       // offset of the terminating semicolon when term
	leading    []Comment // comments between the previous statement and this one
}

// Comment is an SQL comment with its byte offset in the file.
type Comment struct {
	Text   string // with the -- or /* */ markers
	Offset int
	Line   int // 1-based line in the file
}

// splitter splits SQL text into statements the way PostgreSQL's lexer sees
// it: semicolons inside quotes ('..', E'..', "..", $tag$..$tag$), comments
// (--, nested /* */) and SQL-standard function bodies (BEGIN ATOMIC … END)
// do not end a statement.
type splitter struct {
	src      string
	comments []Comment
}

// split returns the statement spans of src[from:to] and records every
// comment it meets. Offsets are relative to src.
func (s *splitter) split(from, to int) []span {
	src := s.src[:to]
	var (
		out       []span
		stmtStart = -1
		lastSig   = -1 // end of the last significant (non-comment, non-space) byte
		leading   []Comment
		atomic    int  // depth of BEGIN ATOMIC … END bodies
		prevBegin bool // the previous word was BEGIN
	)
	flush := func(term bool, semi int) {
		if stmtStart >= 0 {
			out = append(out, span{start: stmtStart, end: lastSig, term: term, semi: semi, leading: leading})
			leading = nil
		}
		stmtStart, lastSig, atomic, prevBegin = -1, -1, 0, false
	}
	mark := func(i, j int) { // significant bytes src[i:j]
		if stmtStart < 0 {
			stmtStart = i
		}
		lastSig = j
	}
	i := from
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src)
			} else {
				j += i
			}
			s.addComment(src[i:j], i, stmtStart < 0, &leading)
			i = j
		case c == '\\' && stmtStart < 0:
			// A psql meta-command (\set, \i, \connect ...) between
			// statements: psql handles it, the server never sees it. It
			// runs to the end of the line.
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src)
			} else {
				j += i
			}
			i = j
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			j := skipBlockComment(src, i)
			s.addComment(src[i:j], i, stmtStart < 0, &leading)
			i = j
		case c == ';':
			if atomic > 0 {
				mark(i, i+1)
				i++
				continue
			}
			flush(true, i)
			i++
		case c == '\'':
			j := skipQuoted(src, i, '\'', i > 0 && (src[i-1] == 'E' || src[i-1] == 'e') && (i < 2 || !isIdent(src[i-2])))
			mark(i, j)
			i = j
		case c == '"':
			j := skipQuoted(src, i, '"', false)
			mark(i, j)
			i = j
		case c == '$':
			if tag, ok := dollarTag(src, i); ok {
				j := strings.Index(src[i+len(tag):], tag)
				if j < 0 {
					j = len(src)
				} else {
					j += i + 2*len(tag)
				}
				mark(i, j)
				i = j
				continue
			}
			mark(i, i+1)
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			w := src[i:j]
			switch {
			case prevBegin && strings.EqualFold(w, "ATOMIC") && stmtLooksLikeRoutine(src[stmtStartOr(stmtStart, i):i]):
				atomic++
			case atomic > 0 && strings.EqualFold(w, "CASE"):
				atomic++
			case atomic > 0 && strings.EqualFold(w, "END"):
				atomic--
			}
			prevBegin = strings.EqualFold(w, "BEGIN")
			mark(i, j)
			i = j
		default:
			mark(i, i+1)
			i++
		}
	}
	flush(false, -1)
	return out
}

func stmtStartOr(start, i int) int {
	if start < 0 {
		return i
	}
	return start
}

// stmtLooksLikeRoutine reports whether a statement prefix is a CREATE
// FUNCTION or PROCEDURE, the only places where BEGIN ATOMIC opens a body.
func stmtLooksLikeRoutine(prefix string) bool {
	return containsFold(prefix, "FUNCTION") || containsFold(prefix, "PROCEDURE")
}

// containsFold reports whether s contains the upper-case ASCII word sub,
// ignoring case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func (s *splitter) addComment(text string, off int, beforeStmt bool, leading *[]Comment) {
	c := Comment{Text: text, Offset: off}
	s.comments = append(s.comments, c)
	if beforeStmt {
		*leading = append(*leading, c)
	}
}

func skipBlockComment(src string, i int) int {
	depth := 0
	for i < len(src) {
		if src[i] == '/' && i+1 < len(src) && src[i+1] == '*' {
			depth++
			i += 2
			continue
		}
		if src[i] == '*' && i+1 < len(src) && src[i+1] == '/' {
			depth--
			i += 2
			if depth == 0 {
				return i
			}
			continue
		}
		i++
	}
	return len(src)
}

// skipQuoted returns the offset after the quoted string starting at i.
// A doubled quote is an escaped quote; with backslash set (E” strings) a
// backslash escapes the next byte.
func skipQuoted(src string, i int, q byte, backslash bool) int {
	i++
	for i < len(src) {
		switch src[i] {
		case '\\':
			if backslash {
				i += 2
				continue
			}
		case q:
			if i+1 < len(src) && src[i+1] == q {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(src)
}

// dollarTag returns the $tag$ opening a dollar-quoted string at src[i].
func dollarTag(src string, i int) (string, bool) {
	if i > 0 && isIdent(src[i-1]) {
		return "", false // part of an identifier such as a$b
	}
	j := i + 1
	if j < len(src) && src[j] == '$' {
		return "$$", true
	}
	if j >= len(src) || !isIdentStart(src[j]) {
		return "", false // $1 parameter, or a lone $
	}
	for j < len(src) && isIdent(src[j]) && src[j] != '$' {
		j++
	}
	if j < len(src) && src[j] == '$' {
		return src[i : j+1], true
	}
	return "", false
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdent(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$'
}
