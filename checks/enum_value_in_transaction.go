package checks

import (
	"fmt"
	"strings"
)

var enumValueInTransaction = &Rule{
	ID:       "enum-value-in-transaction",
	Group:    "compatibility",
	Severity: Error,
	Summary:  "A new enum label used in the transaction that added it (or, before PostgreSQL 12, ADD VALUE inside a transaction block).",
	Why: "A label added with ALTER TYPE … ADD VALUE cannot be used until the transaction that added it commits: any statement " +
		"in the same transaction that casts, inserts, updates or defaults to it fails at deploy time with \"unsafe use of new " +
		"value\" (55P04), and the whole migration rolls back. Before PostgreSQL 12, ADD VALUE cannot run inside a transaction " +
		"block at all (25001), so a migration tool that wraps the file in a transaction fails on the ADD VALUE itself.",
	Fix: "Add the label in its own migration (or, where the tool allows, outside its transaction), and use it in a later migration, " +
		"after the ADD VALUE has committed.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertype.html#SQL-ALTERTYPE-NOTES",
	Check: func(p *Pass) {
		type added struct {
			typ, val string
			tx       int
		}
		pending, _ := p.State.Value("enum-value-in-transaction").([]added)
		if ae := p.Node().GetAlterEnumStmt(); ae != nil && ae.NewVal != "" && ae.OldVal == "" {
			typ := qualifiedName(ae.TypeName)
			if p.Stmt.InTransaction && !p.Settings.PGVersion.AtLeast(12, 0) {
				p.Report(fmt.Sprintf("ALTER TYPE %s ADD VALUE %s runs inside a transaction block, which PostgreSQL %s rejects.", typ, sqlLiteral(ae.NewVal), p.Settings.PGVersion), "",
					"Put the ADD VALUE in a migration that the tool runs without a transaction (golang-migrate/goose/dbmate/Flyway each have a per-file switch), or upgrade to PostgreSQL 12+.")
			}
			if p.Stmt.TxBlock != 0 {
				p.State.SetValue("enum-value-in-transaction", append(pending, added{typ: typ, val: ae.NewVal, tx: p.Stmt.TxBlock}))
			}
			return
		}
		if p.Stmt.TxBlock == 0 || len(pending) == 0 {
			return
		}
		consts := map[string]bool{}
		for _, s := range stringConstants(p.Stmt.SQL) {
			consts[s] = true
		}
		for _, a := range pending {
			if a.tx != p.Stmt.TxBlock || !consts[a.val] || !mayUseEnum(p, a.typ) {
				continue
			}
			p.Report(fmt.Sprintf("Label %s of enum %s is used in the transaction that added it; this fails with \"unsafe use of new value\".", sqlLiteral(a.val), a.typ), "",
				fmt.Sprintf("Commit the ADD VALUE first: keep it alone in this migration and move this statement to the next one. "+
					"The label can be used once this is committed:\n\n%s", Indent(fmt.Sprintf("ALTER TYPE %s ADD VALUE IF NOT EXISTS %s;", a.typ, sqlLiteral(a.val)))))
			return
		}
	},
}

// mayUseEnum reports whether the current statement can involve enum type
// typ: it names the type (a cast, a column definition) or a table that the
// catalog knows has a column of that type. When no known table uses the
// type, it cannot tell, and says yes.
func mayUseEnum(p *Pass, typ string) bool {
	words := map[string]bool{}
	for _, w := range sqlWords(p.Stmt.SQL) {
		words[w] = true
	}
	short := strings.ToLower(typ[strings.LastIndexByte(typ, '.')+1:])
	if words[short] {
		return true
	}
	known := false
	for key, t := range p.State.Catalog.Tables {
		for _, c := range t.Columns {
			ct := strings.ToLower(TypeNameString(c.Type))
			if ct != short && ct != strings.ToLower(typ) && !strings.HasSuffix(ct, "."+short) {
				continue
			}
			known = true
			if words[key[strings.LastIndexByte(key, '.')+1:]] {
				return true
			}
		}
	}
	return !known
}

// sqlWords returns the lower-case words of SQL text outside string
// constants and comments (identifiers and keywords).
func sqlWords(sql string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, strings.ToLower(b.String()))
			b.Reset()
		}
	}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '\'':
			flush()
			i = skipString(sql, i, i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e')) - 1
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			flush()
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80:
			b.WriteByte(c)
		default:
			flush()
		}
	}
	flush()
	return out
}

// stringConstants returns the values of the string constants ('…', E'…',
// $$…$$) in SQL text; comments and quoted identifiers are skipped.
func stringConstants(sql string) []string {
	var out []string
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case c == '"':
			end := strings.IndexByte(sql[i+1:], '"')
			if end < 0 {
				return out
			}
			i += end + 2
		case c == '\'':
			backslash := i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e')
			j := skipString(sql, i, backslash)
			body := sql[i+1 : max(i+1, j-1)]
			body = strings.ReplaceAll(body, "''", "'")
			out = append(out, body)
			i = j
		case c == '$':
			if tag, ok := dollarQuote(sql, i); ok {
				end := strings.Index(sql[i+len(tag):], tag)
				if end < 0 {
					return out
				}
				out = append(out, sql[i+len(tag):i+len(tag)+end])
				i += len(tag) + end + len(tag)
			} else {
				i++
			}
		default:
			i++
		}
	}
	return out
}
