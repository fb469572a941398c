package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var dropForeignKey = &Rule{
	ID:       "drop-foreign-key",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "ALTER TABLE … DROP CONSTRAINT of a foreign key (known from earlier migrations, else recognised by the names *_fkey, fk_*, *_fk).",
	Why: "Once the foreign key is gone nothing stops orphan rows: deletes of parent rows and inserts with unknown ids succeed silently, " +
		"and re-adding the constraint later fails at VALIDATE on the orphans written in between. Dropping it takes ACCESS EXCLUSIVE " +
		"on the table and on the referenced table (the FK triggers on both are removed), so it also waits behind long queries on the parent.",
	Fix: "If the constraint is being replaced (other columns, other ON DELETE action), add the new one first as NOT VALID, validate " +
		"it in a separate transaction, and only then drop the old one, so integrity never lapses.",
	DocsURL: "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK",
	Check: func(p *Pass) {
		rel, cmds := p.AlterCmds()
		if rel == nil || p.State.IsNew(rel) {
			return
		}
		// A foreign key added to the table earlier in the file (or in the
		// same statement) replaces the dropped one: integrity never lapses.
		replaced := earlierStmt(p, func(n *pg_query.Node) bool { return addsFK(n, rel) }) || addsFK(p.Node(), rel)
		for _, c := range cmds {
			if replaced || c.Subtype != pg_query.AlterTableType_AT_DropConstraint || !isForeignKey(p, rel, c.Name) {
				continue
			}
			t, fk := relSQL(rel), identSQL(c.Name)
			fix := fmt.Sprintf("If it is replaced by another foreign key, swap them without a gap:\n\n%s\n\n"+
				"If the relationship really goes away, deploy code that no longer relies on it first.",
				Indent(fmt.Sprintf("ALTER TABLE %[1]s ADD CONSTRAINT %[3]s FOREIGN KEY (<columns>) REFERENCES <parent> (<columns>) NOT VALID;\n"+
					"-- separate transaction: scans the table under SHARE UPDATE EXCLUSIVE, reads and writes go on\n"+
					"ALTER TABLE %[1]s VALIDATE CONSTRAINT %[3]s;\n"+
					"ALTER TABLE %[1]s DROP CONSTRAINT %[2]s;\n"+
					"ALTER TABLE %[1]s RENAME CONSTRAINT %[3]s TO %[2]s;", t, fk, identSQL(c.Name+"_new"))))
			p.Report(fmt.Sprintf("Dropping foreign key %s on %s stops PostgreSQL from enforcing the relationship.", c.Name, RelName(rel)), "", fix)
		}
	},
}

// isForeignKey reports whether constraint name of rel is a foreign key: from
// the catalog when the migrations created the table, else by its name.
func isForeignKey(p *Pass, rel *pg_query.RangeVar, name string) bool {
	if t := p.State.Catalog.Table(rel); t != nil {
		if k := t.Constraints[strings.ToLower(name)]; k != nil {
			return k.Type == pg_query.ConstrType_CONSTR_FOREIGN
		}
	}
	return looksLikeFK(name)
}

// looksLikeFK reports whether a constraint name follows a foreign-key
// naming convention: PostgreSQL's default <table>_<column>_fkey, or the
// common fk_* / *_fk forms.
func looksLikeFK(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, "_fkey") || strings.HasPrefix(n, "fk_") || strings.HasSuffix(n, "_fk") || strings.Contains(n, "_fk_")
}

// addsFK reports whether n is an ALTER TABLE on rel that adds a foreign key.
func addsFK(n *pg_query.Node, rel *pg_query.RangeVar) bool {
	r, cmds := AlterCmds(n)
	if r == nil || RelKey(r) != RelKey(rel) {
		return false
	}
	for _, c := range cmds {
		if k := c.GetDef().GetConstraint(); c.Subtype == pg_query.AlterTableType_AT_AddConstraint && k != nil && k.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
			return true
		}
	}
	return false
}
