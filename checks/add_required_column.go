package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var addRequiredColumn = &Rule{
	ID:       "add-required-column",
	Predicts: Prediction{SQLState: "23502"},
	Group:    "compatibility",
	Severity: Error,
	Summary:  "ALTER TABLE … ADD COLUMN … NOT NULL (or PRIMARY KEY) without a DEFAULT on an existing table.",
	Why: "Every existing row would get NULL in the new column, so on a table with at least one row the statement fails at deploy time " +
		"with not_null_violation (23502) and the migration stops. On an empty table it succeeds, and then every INSERT of the running " +
		"application version, which does not know the column, fails with the same error.",
	Fix: "Add the column nullable (or with a constant DEFAULT, which is a catalog-only change from PostgreSQL 11), backfill it in " +
		"batches, and enforce NOT NULL through a NOT VALID CHECK constraint validated separately.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-COLUMN",
	Check: func(p *Pass) {
		rel, cmds := p.AlterCmds()
		if rel == nil || p.State.IsNew(rel) {
			return
		}
		for i, c := range cmds {
			cd := c.GetDef().GetColumnDef()
			if c.Subtype != pg_query.AlterTableType_AT_AddColumn || cd == nil || !requiredWithoutDefault(cd) {
				continue
			}
			p.Report(fmt.Sprintf("Adding column %s.%s as NOT NULL without a DEFAULT fails on a table that has rows.", RelName(rel), cd.Colname),
				"", addRequiredFix(p, rel, cd, i))
		}
	},
}

// requiredWithoutDefault reports whether a new column must be non-null but
// gets no value for existing rows.
func requiredWithoutDefault(cd *pg_query.ColumnDef) bool {
	required := cd.IsNotNull
	for _, n := range cd.Constraints {
		c := n.GetConstraint()
		if c == nil {
			continue
		}
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_NOTNULL, pg_query.ConstrType_CONSTR_PRIMARY:
			required = true
		case pg_query.ConstrType_CONSTR_DEFAULT, pg_query.ConstrType_CONSTR_IDENTITY, pg_query.ConstrType_CONSTR_GENERATED:
			return false
		}
	}
	switch columnBaseType(cd.TypeName) {
	case "serial", "serial2", "serial4", "serial8", "smallserial", "bigserial":
		return false // filled from a sequence
	}
	return required
}

func addRequiredFix(p *Pass, rel *pg_query.RangeVar, cd *pg_query.ColumnDef, cmd int) string {
	nullable := SafeSQL(p.Node(), func(n *pg_query.Node) {
		at := n.GetAlterTableStmt()
		keep := at.Cmds[:0]
		for j, c := range at.Cmds {
			if j != cmd {
				continue
			}
			def := c.GetAlterTableCmd().GetDef().GetColumnDef()
			def.IsNotNull = false
			cons := def.Constraints[:0]
			for _, k := range def.Constraints {
				if t := k.GetConstraint().GetContype(); t != pg_query.ConstrType_CONSTR_NOTNULL && t != pg_query.ConstrType_CONSTR_PRIMARY {
					cons = append(cons, k)
				}
			}
			def.Constraints = cons
			keep = append(keep, c)
		}
		at.Cmds = keep
	})
	t, col := relSQL(rel), identSQL(cd.Colname)
	check := identSQL(rel.Relname + "_" + cd.Colname + "_not_null")
	steps := fmt.Sprintf("%s\n-- backfill in batches of a few thousand rows, each in its own transaction:\n"+
		"UPDATE %s SET %s = <value> WHERE %s IS NULL AND <primary key> BETWEEN :from AND :to;\n"+
		"-- then enforce it without a long ACCESS EXCLUSIVE scan:\n"+
		"ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID;\n"+
		"ALTER TABLE %s VALIDATE CONSTRAINT %s;  -- separate transaction, SHARE UPDATE EXCLUSIVE\n",
		nullable, t, col, col, t, check, col, t, check)
	if p.Settings.PGVersion.AtLeast(12, 0) {
		steps += fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;  -- uses the valid CHECK, no scan\nALTER TABLE %s DROP CONSTRAINT %s;", t, col, t, check)
	} else {
		steps += "-- before PostgreSQL 12, SET NOT NULL scans the table under ACCESS EXCLUSIVE even with the CHECK: keep the CHECK instead"
	}
	out := "Let old rows and old code live without the value, then enforce it:\n\n" + Indent(steps)
	if p.Settings.PGVersion.AtLeast(11, 0) {
		out += "\n\nIf one constant value fits every existing row, a DEFAULT is simpler: from PostgreSQL 11 a non-volatile default is stored in the catalog, with no rewrite:\n\n" +
			Indent(fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s NOT NULL DEFAULT <constant>;", t, col, typeLabel(cd.TypeName)))
	}
	return out
}
