package ui

import "regexp"

// redactions hide credentials that could have slipped into stored text (a
// DSN in a benchmark command, a token in a tool call, a role's password in
// a migration): the UI never shows a password, token or key.
var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	// scheme://user:password@host
	{regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s/]+@`), "$1:REDACTED@"},
	// password=…, token: …, PGPASSWORD=… in DSNs, flags and env
	{regexp.MustCompile(`(?i)\b([a-z_]*(?:password|passwd|pwd|token|secret|api_?key))("?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s'",;&]+)`), "${1}${2}REDACTED"},
	// PASSWORD 'x' in CREATE/ALTER ROLE
	{regexp.MustCompile(`(?i)\b(password\s+)('[^']*'|"[^"]*")`), "${1}'REDACTED'"},
	// GitLab and OpenAI-style tokens anywhere
	{regexp.MustCompile(`\b(glpat|gldt|glptt|glrt)-[A-Za-z0-9_\-]{8,}`), "$1-REDACTED"},
	{regexp.MustCompile(`\bsk-[A-Za-z0-9_\-]{16,}`), "sk-REDACTED"},
	{regexp.MustCompile(`(?i)\b(authorization:\s*(?:bearer|basic)\s+)\S+`), "${1}REDACTED"},
}

// redact hides credentials in s.
func redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}
