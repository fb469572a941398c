package checks

import (
	"fmt"
)

var renameEnumValue = &Rule{
	ID:       "rename-enum-value",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "ALTER TYPE … RENAME VALUE of an existing enum.",
	Why: "Stored rows change meaning at once, but the running application still sends the old label: every INSERT, UPDATE or WHERE " +
		"clause with the old value fails with \"invalid input value for enum\" (22P02), and code that compares labels (switch " +
		"statements, caches, other services, analytics) silently stops matching.",
	Fix: "Add the new label next to the old one, migrate the rows, switch the code, and leave the old label unused (enum labels " +
		"cannot be removed without recreating the type).",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertype.html",
	Check: func(p *Pass) {
		ae := p.Node().GetAlterEnumStmt()
		if ae == nil || ae.OldVal == "" {
			return
		}
		typ := qualifiedName(ae.TypeName)
		if typeCreated(p, typ) {
			return
		}
		fix := fmt.Sprintf("Do it in steps that old and new code both survive:\n\n%s\n\n"+
			"Deploy code that accepts both labels and writes %s, then move the rows in batches, each in its own transaction "+
			"(ADD VALUE must commit before the new label can be used):\n\n%s\n\nKeep %s in the type; nothing writes it any more.",
			Indent(fmt.Sprintf("ALTER TYPE %s ADD VALUE IF NOT EXISTS %s AFTER %s;", typ, sqlLiteral(ae.NewVal), sqlLiteral(ae.OldVal))),
			sqlLiteral(ae.NewVal),
			Indent(fmt.Sprintf("UPDATE <table> SET <column> = %s WHERE <column> = %s AND <primary key> BETWEEN :from AND :to;", sqlLiteral(ae.NewVal), sqlLiteral(ae.OldVal))),
			sqlLiteral(ae.OldVal))
		p.Report(fmt.Sprintf("Renaming value %s of enum %s to %s breaks code that still sends or compares the old label.", sqlLiteral(ae.OldVal), typ, sqlLiteral(ae.NewVal)), "", fix)
	},
}
