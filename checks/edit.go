package checks

import (
	"bytes"
	"strings"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// A fix that is a drop-in replacement of the statement (the same
// statement made safe, or the statements that replace it) also becomes a
// Finding.Edit: GitLab suggestion blocks and `reviewer check --diff` apply
// it. Rules set one only where the replacement is right for the file as it
// runs: CONCURRENTLY only in a file that runs without a transaction, NOT
// VALID + VALIDATE only where the two statements commit separately.

// EditLast makes sql (one or more statements, each ending with a
// semicolon) the Edit of the finding this rule reported last on the
// current statement. The edit replaces the statement's whole lines and
// keeps what else those lines hold: text before the statement (its
// indentation, an earlier statement) and after it (a comment).
func (p *Pass) EditLast(sql string) {
	if len(*p.findings) == 0 {
		return
	}
	f := &(*p.findings)[len(*p.findings)-1]
	if f.Rule != p.rule.ID {
		return
	}
	f.Edit = statementEdit(p.File, p.Stmt, sql)
}

// statementEdit builds the whole-line replacement of st by sql, or nil
// when the statement's place in the file is not known exactly.
func statementEdit(f *sqlparse.File, st *sqlparse.Statement, sql string) *Edit {
	src := f.Src
	start, end := st.StartOffset, st.EndOffset
	if st.Part != sqlparse.PartUp || start < 0 || end > len(src) || start >= end || string(src[start:end]) != st.Text {
		return nil
	}
	// The statement's semicolon, if it follows on the same line.
	semi := end
	for semi < len(src) && (src[semi] == ' ' || src[semi] == '\t') {
		semi++
	}
	if semi < len(src) && src[semi] == ';' {
		end = semi + 1
	}
	lineStart := bytes.LastIndexByte(src[:start], '\n') + 1
	lineEnd := len(src)
	if i := bytes.IndexByte(src[end:], '\n'); i >= 0 {
		lineEnd = end + i
	}
	prefix, suffix := string(src[lineStart:start]), strings.TrimRight(string(src[end:lineEnd]), "\r")
	sql = strings.TrimSpace(sql)
	if strings.TrimSpace(prefix) == "" {
		// Indent each statement as the original one; lines that continue
		// a statement come from the user's text and keep their own.
		lines := strings.Split(sql, "\n")
		for i := 1; i < len(lines); i++ {
			if strings.HasSuffix(strings.TrimSpace(lines[i-1]), ";") {
				lines[i] = prefix + lines[i]
			}
		}
		sql = strings.Join(lines, "\n")
	}
	startLine := bytes.Count(src[:lineStart], []byte{'\n'}) + 1
	endLine := bytes.Count(src[:lineEnd], []byte{'\n'}) + 1
	return &Edit{StartLine: startLine, EndLine: endLine, Text: prefix + sql + suffix + "\n"}
}

// EditLastAutocommit is EditLast for a replacement whose statements must
// run outside a transaction (CONCURRENTLY), each committing on its own
// (ADD … NOT VALID, then VALIDATE): the file is parsed again with the edit
// applied, and the edit is kept only when the migration tool runs every
// new statement outside a transaction. A tool that sends a file as one
// query string (golang-migrate, Prisma, dbmate without a transaction) runs
// two statements as one implicit transaction, which would undo the split
// and make CONCURRENTLY fail.
func (p *Pass) EditLastAutocommit(sql string) {
	if p.Stmt.InTransaction {
		return
	}
	e := statementEdit(p.File, p.Stmt, sql)
	if e == nil {
		return
	}
	lines := strings.SplitAfter(string(p.File.Src), "\n")
	if e.EndLine > len(lines) {
		return
	}
	var b strings.Builder
	for _, l := range lines[:e.StartLine-1] {
		b.WriteString(l)
	}
	b.WriteString(e.Text)
	for _, l := range lines[e.EndLine:] {
		b.WriteString(l)
	}
	g := sqlparse.ParseFile(p.File.Path, []byte(b.String()), sqlparse.Options{Framework: p.File.Framework})
	newEnd := e.StartLine + strings.Count(e.Text, "\n") - 1
	n := 0
	for _, st := range g.Statements {
		if st.Part != sqlparse.PartUp || st.Start.Line < e.StartLine || st.Start.Line > newEnd {
			continue
		}
		if st.InTransaction || st.Err != nil {
			return
		}
		n++
	}
	if n == 0 {
		return
	}
	p.EditLast(sql)
}
