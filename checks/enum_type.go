package checks

import (
	"fmt"
	"strings"
)

var enumType = &Rule{
	ID:       "enum-type",
	Group:    "types",
	Severity: Info,
	Summary:  "CREATE TYPE … AS ENUM.",
	Why: "Enum labels can be added (ALTER TYPE … ADD VALUE, not usable until committed, and not inside a transaction block before " +
		"PostgreSQL 12) and renamed, but never removed or reordered: that needs a new type and ALTER COLUMN … TYPE on every column " +
		"using it, which rewrites those tables under ACCESS EXCLUSIVE. The list of values also lives in the schema rather than in " +
		"data, so each change is a migration and a deploy.",
	Fix: "For a set of values that may change, use a lookup table with a foreign key (or text with a CHECK constraint, replaceable " +
		"with NOT VALID + VALIDATE). Keep the enum if the set is truly fixed.",
	DocsURL: "https://www.postgresql.org/docs/current/datatype-enum.html",
	Check: func(p *Pass) {
		ce := p.Node().GetCreateEnumStmt()
		if ce == nil {
			return
		}
		typ := qualifiedName(ce.TypeName)
		var vals []string
		for _, v := range ce.Vals {
			vals = append(vals, "("+sqlLiteral(v.GetString_().GetSval())+")")
		}
		table := identSQL(ce.TypeName[len(ce.TypeName)-1].GetString_().GetSval())
		if len(ce.TypeName) > 1 {
			table = identSQL(ce.TypeName[0].GetString_().GetSval()) + "." + table
		}
		sql := fmt.Sprintf("CREATE TABLE %s (name text PRIMARY KEY);\n", table)
		if len(vals) > 0 {
			sql += fmt.Sprintf("INSERT INTO %s (name) VALUES %s;\n", table, strings.Join(vals, ", "))
		}
		sql += fmt.Sprintf("-- and in the tables that used the enum:  <column> text NOT NULL REFERENCES %s (name)", table)
		fix := "If the set of values may change, a lookup table lets you add and retire values with plain INSERT/DELETE:\n\n" + Indent(sql) +
			"\n\nKeep the enum (and ignore this finding) if the set is truly fixed."
		p.Report(fmt.Sprintf("Enum type %s: its values can be added but never removed or reordered without rewriting every table that uses it.", typ), "", fix)
	},
}
