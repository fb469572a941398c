package checks

import (
	"fmt"
)

var enumValueAppend = &Rule{
	ID:       "enum-value-append",
	Group:    "compatibility",
	Severity: Info,
	Summary:  "ALTER TYPE … ADD VALUE without BEFORE or AFTER.",
	Why: "Enum values compare and sort in declaration order, not alphabetically: ORDER BY, <, >, BETWEEN, min() and max() on the column " +
		"all use that order. A value appended at the end sorts after every existing one, which is wrong when the enum encodes a " +
		"progression (draft < submitted < approved) and the new value belongs in the middle; queries such as `status >= 'submitted'` " +
		"then silently include or exclude the wrong rows.",
	Fix: "Say where the value belongs with BEFORE or AFTER an existing label (AFTER the current last label if the end is right), so " +
		"the order is a reviewed decision.",
	DocsURL: "https://www.postgresql.org/docs/current/datatype-enum.html#DATATYPE-ENUM-ORDERING",
	Check: func(p *Pass) {
		ae := p.Node().GetAlterEnumStmt()
		if ae == nil || ae.OldVal != "" || ae.NewVal == "" || ae.NewValNeighbor != "" {
			return
		}
		typ := qualifiedName(ae.TypeName)
		fix := fmt.Sprintf("Place it explicitly:\n\n%s\n\nThe new label cannot be used until this transaction commits (55P04), so "+
			"write it in a later migration or after the commit.",
			Indent(fmt.Sprintf("ALTER TYPE %s ADD VALUE %s%s AFTER '<existing label>';", typ, ifNotExists(ae.SkipIfNewValExists), sqlLiteral(ae.NewVal))))
		p.Report(fmt.Sprintf("Value %s is appended to enum %s and sorts after all existing values.", sqlLiteral(ae.NewVal), typ), "", fix)
	},
}

func ifNotExists(b bool) string {
	if b {
		return "IF NOT EXISTS "
	}
	return ""
}
