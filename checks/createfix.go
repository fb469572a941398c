package checks

import (
	"sort"
	"strconv"
	"strings"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// The column rules (json-not-jsonb, small-integer-ids,
// timestamp-without-tz, varchar-length) each suggest the CREATE TABLE
// with their own columns changed. When several of them speak on one
// statement, their suggestions would conflict: each applies only its own
// change. They therefore describe their change as column edits on the
// statement's text (columnEdit) and offer them with the fix
// (offerColumnFix); after all rules ran on the statement the runner
// (combineColumnFixes) writes one statement with every offered edit and
// puts it in each of those findings' fixes.

// columnEdit is a rule's change to one column of CREATE TABLE, made on the
// statement's text: the written type becomes typ, and suffix (" CHECK …")
// goes at the end of the column's definition.
type columnEdit struct {
	col    colDef
	typ    string
	suffix string
}

// columnOffer is a finding whose fix shows safe, the statement with the
// rule's edits applied.
type columnOffer struct {
	finding int // index in the runner's findings
	rule    string
	safe    string
	edits   []columnEdit
}

// columnTextFix returns the CREATE TABLE statement's own text with edits
// applied, terminated by a semicolon; ok is false when the statement is not
// CREATE TABLE or its text is not plain enough to edit safely.
func columnTextFix(st *sqlparse.Statement, edits []columnEdit) (string, bool) {
	if st.Node == nil || st.Node.GetCreateStmt() == nil || len(edits) == 0 {
		return "", false
	}
	sql, ok := stmtText(st)
	if !ok || strings.ContainsRune(sql, '\\') {
		return "", false
	}
	type span struct {
		at, end int
		with    string
	}
	var spans []span
	for _, e := range edits {
		if e.col.Kind != "create" || isArrayType(e.col.Col.TypeName) {
			return "", false
		}
		if e.typ != "" {
			at := st.SQLOffset(e.col.Col.TypeName.Location)
			if at < 0 || at >= len(sql) {
				return "", false
			}
			end, ok := typeEnd(sql, at)
			if !ok {
				return "", false
			}
			spans = append(spans, span{at, end, e.typ})
		}
		if e.suffix != "" {
			at := st.SQLOffset(e.col.Col.TypeName.Location)
			if at < 0 || at >= len(sql) {
				return "", false
			}
			end, ok := columnDefEnd(sql, at)
			if !ok {
				return "", false
			}
			spans = append(spans, span{end, end, e.suffix})
		}
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].at < spans[j].at })
	var b strings.Builder
	prev := 0
	for _, s := range spans {
		if s.at < prev {
			return "", false // two edits of the same type
		}
		b.WriteString(sql[prev:s.at])
		b.WriteString(s.with)
		prev = s.end
	}
	b.WriteString(sql[prev:])
	b.WriteString(";")
	return b.String(), true
}

// typeStop are the words that end a column's type in CREATE TABLE.
var typeStop = []string{"not", "null", "default", "primary", "references", "check", "unique", "constraint",
	"generated", "collate", "compression", "storage", "deferrable", "initially", "array"}

// typeEnd returns the end of the type written at sql[at:]: words (dotted
// names), each optionally followed by a parenthesized modifier, up to the
// first constraint keyword, comma or closing parenthesis. ok is false for
// anything else (array bounds, quoted names).
func typeEnd(sql string, at int) (int, bool) {
	i, words := at, 0
	for {
		j, w := nextWord(sql, i)
		for w < len(sql) && (sql[w] >= '0' && sql[w] <= '9' || sql[w] == '.' || isWordByte(sql[w])) {
			w++ // int8, pg_catalog.json
		}
		if w == j || hasWordFold(typeStop, sql[j:w]) {
			break
		}
		i, words = w, words+1
		k := i
		for k < len(sql) && isSpace(sql[k]) {
			k++
		}
		if k < len(sql) && sql[k] == '(' {
			close := strings.IndexByte(sql[k:], ')')
			if close < 0 || strings.ContainsAny(sql[k+1:k+close], "('\"") {
				return 0, false
			}
			i = k + close + 1
		}
	}
	if words == 0 {
		return 0, false
	}
	k := i
	for k < len(sql) && isSpace(sql[k]) {
		k++
	}
	if k < len(sql) && (sql[k] == '[' || sql[k] == '"') {
		return 0, false
	}
	if k < len(sql) && sql[k] != ',' && sql[k] != ')' && !isWordByte(sql[k]) {
		return 0, false
	}
	return i, true
}

// columnFixSQL is the SQL a column rule's fix shows: the statement's own
// text with edits for CREATE TABLE (no pg_catalog. prefixes, the author's
// layout), else deparse(). text says which it is.
func columnFixSQL(p *Pass, edits []columnEdit, deparse func() string) (safe string, text bool) {
	if s, ok := columnTextFix(p.Stmt, edits); ok {
		return s, true
	}
	return deparse(), false
}

// offerColumnFix records that the finding just reported shows safe, made
// by edits on the statement's text, so that the runner can combine it
// with the other column rules' fixes on the same statement.
func (p *Pass) offerColumnFix(safe string, edits []columnEdit) {
	p.columnOffers = append(p.columnOffers, columnOffer{finding: len(*p.findings) - 1, rule: p.rule.ID, safe: safe, edits: edits})
}

// combineColumnFixes gives the findings that offered a column fix on st,
// when there are two or more, one statement with all their edits: it
// replaces each one's own statement in its fix and names the rules it
// combines. The combined statement must parse; otherwise the fixes stay.
// Offers of rules a pgai:ignore drops on this statement take no part: the
// author chose to keep that column as it is.
func combineColumnFixes(out []Finding, offers []columnOffer, st *sqlparse.Statement, ign ignores) {
	kept := offers[:0:0]
	for _, o := range offers {
		if !ign.ignores(st, o.rule) {
			kept = append(kept, o)
		}
	}
	offers = kept
	if len(offers) < 2 {
		return
	}
	var edits []columnEdit
	var rules []string
	for _, o := range offers {
		edits = append(edits, o.edits...)
		rules = append(rules, o.rule)
	}
	combined, ok := columnTextFix(st, edits)
	if !ok || !parsesAsOne(combined) {
		return
	}
	note := "This statement applies the fixes of " + listNames(rules) + " together."
	for _, o := range offers {
		f := &out[o.finding]
		old := Indent(o.safe)
		if !strings.Contains(f.Fix, old) {
			continue
		}
		f.Fix = strings.Replace(f.Fix, old, Indent(combined)+"\n\n"+note, 1)
	}
}

// parsesAsOne reports whether sql parses as exactly one statement.
func parsesAsOne(sql string) bool {
	f := sqlparse.ParseFile("fix.sql", []byte(sql), sqlparse.Options{Framework: sqlparse.FrameworkSQL})
	n := 0
	for _, s := range f.Statements {
		if s.Err != nil {
			return false
		}
		if s.Node != nil {
			n++
		}
	}
	return n == 1
}

// typmodSuffix is "(n)" for a type's first modifier, or "".
func typmodSuffix(c colDef) string {
	if n := firstTypmod(c.Col.TypeName); n > 0 {
		return "(" + strconv.FormatInt(n, 10) + ")"
	}
	return ""
}

// ignores reports whether a pgai:ignore directive drops rule's findings
// on st.
func (igs ignores) ignores(st *sqlparse.Statement, rule string) bool {
	for _, ig := range igs {
		if ig.file || ig.stmt == st.Index {
			for _, r := range ig.rules {
				if r == rule {
					return true
				}
			}
		}
	}
	return false
}
