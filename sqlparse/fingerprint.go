package sqlparse

import (
	"strings"
)

// Fingerprint identifies the statement independently of where it is and
// how it is laid out: equal for statements that differ only in
// whitespace, comments, the case of unquoted words, and the values of
// string and number constants. Code Quality fingerprints are built on it,
// so that a finding keeps its identity when lines are inserted above it
// or the statement is reformatted. Empty for statements that do not
// parse.
//
// It is computed from the statement's tokens in Go (16 hex digits of a
// 64-bit FNV-1a hash) rather than with pg_query's fingerprint, which
// parses the statement a second time in C.
func (s *Statement) Fingerprint() string {
	if s.fp == "" && s.Err == nil && s.Node != nil {
		s.fp = tokenFingerprint(s.SQL)
	}
	return s.fp
}

// tokenFingerprint hashes the normalized tokens of sql: comments and
// whitespace dropped, unquoted words lower-cased, '…' strings (with any
// E/B/X/N prefix) and numbers replaced by "?"; quoted identifiers,
// dollar-quoted bodies and operators kept as written. Tokens are
// separated by a 0 byte.
func tokenFingerprint(sql string) string {
	// FNV-1a, 64 bits, byte by byte (hash/fnv's, without an allocation
	// per token).
	h := uint64(14695981039346656037)
	add := func(c byte) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	tok := func(s string) {
		for k := 0; k < len(s); k++ {
			add(s[k])
		}
		add(0)
	}
	lower := func(s string) {
		for k := 0; k < len(s); k++ {
			c := s[k]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			add(c)
		}
		add(0)
	}
	src := sql
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			i = skipBlockComment(src, i)
		case c == '\'':
			i = skipQuoted(src, i, '\'', false)
			tok("?")
		case c == '"':
			j := skipQuoted(src, i, '"', false)
			tok(src[i:j])
			i = j
		case c == '$':
			if tag, ok := dollarTag(src, i); ok {
				j := indexFrom(src, tag, i+len(tag))
				if j < 0 {
					j = len(src)
				} else {
					j += len(tag)
				}
				tok(src[i+len(tag) : max(i+len(tag), j-len(tag))])
				i = j
				continue
			}
			j := i + 1
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			tok(src[i:j]) // $1 parameter or a lone $
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			i = skipNumber(src, i)
			tok("?")
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			if j < len(src) && src[j] == '\'' && isStringPrefix(src[i:j]) {
				// E'…', B'…', X'…' and N'…' are constants.
				i = skipQuoted(src, j, '\'', src[i] == 'e' || src[i] == 'E')
				tok("?")
				continue
			}
			lower(src[i:j])
			i = j
		default:
			tok(src[i : i+1])
			i++
		}
	}
	const digits = "0123456789abcdef"
	var out [16]byte
	v := h
	for k := len(out) - 1; k >= 0; k-- {
		out[k] = digits[v&0xf]
		v >>= 4
	}
	return string(out[:])
}

// indexFrom is strings.Index(s[from:], sub) as an offset into s, or -1.
func indexFrom(s, sub string, from int) int {
	if from > len(s) {
		return -1
	}
	j := strings.Index(s[from:], sub)
	if j < 0 {
		return -1
	}
	return from + j
}

// skipNumber returns the offset after the numeric constant at src[i]:
// digits, a decimal point, an exponent with its sign, 0x/0o/0b prefixes
// and _ separators.
func skipNumber(src string, i int) int {
	for i < len(src) {
		c := src[i]
		switch {
		case c >= '0' && c <= '9', c == '.', c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			i++
			if (c == 'e' || c == 'E') && i < len(src) && (src[i] == '+' || src[i] == '-') {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// isStringPrefix reports whether w, right before a quote, makes a string
// constant of it: E'…' (escapes), B'…' and X'…' (bit strings), N'…'.
func isStringPrefix(w string) bool {
	return len(w) == 1 && strings.IndexByte("eEbBxXnN", w[0]) >= 0
}
