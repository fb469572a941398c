package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var dropCascade = &Rule{
	ID:       "drop-cascade",
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "DROP … CASCADE (also DROP COLUMN / DROP CONSTRAINT … CASCADE).",
	Why: "CASCADE drops every object that depends on the target — views, foreign keys on other tables, functions, defaults, " +
		"and with DROP SCHEMA whole tables — without listing them; PostgreSQL only reports them as a NOTICE nobody reads in a " +
		"migration log. The migration's diff does not show what disappears, so reviewers cannot check it, and the dependents' " +
		"tables are locked ACCESS EXCLUSIVE as well.",
	Fix: "Drop without CASCADE: if something still depends on the object, PostgreSQL refuses (2BP01) and lists the dependents in the " +
		"error's DETAIL. Drop or change those explicitly, in the migration, where they can be reviewed.",
	DocsURL: "https://www.postgresql.org/docs/current/ddl-depend.html",
	Check: func(p *Pass) {
		if ds := p.Node().GetDropStmt(); ds != nil {
			if ds.Behavior != pg_query.DropBehavior_DROP_CASCADE {
				return
			}
			names := dropObjects(ds)
			if ds.RemoveType == pg_query.ObjectType_OBJECT_TABLE && allCreatedInFile(p, names) {
				return
			}
			// drop-table and drop-schema report these drops themselves,
			// CASCADE included.
			if (ds.RemoveType == pg_query.ObjectType_OBJECT_TABLE && ruleOn(p, "drop-table")) ||
				(ds.RemoveType == pg_query.ObjectType_OBJECT_SCHEMA && ruleOn(p, "drop-schema") && !allSchemasCreated(p, names)) {
				return
			}
			kind := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(ds.RemoveType.String(), "OBJECT_"), "_", " "))
			safe := SafeSQL(p.Node(), func(n *pg_query.Node) { n.GetDropStmt().Behavior = pg_query.DropBehavior_DROP_RESTRICT })
			p.Report(fmt.Sprintf("DROP %s %s CASCADE also drops every object that depends on it, without naming them.", strings.ToUpper(kind), listNames(names)),
				"", cascadeFix(safe, p.Rule().Fix))
			return
		}
		rel, cmds := p.AlterCmds()
		if rel == nil || p.State.IsNew(rel) {
			return
		}
		for i, c := range cmds {
			if c.Behavior != pg_query.DropBehavior_DROP_CASCADE {
				continue
			}
			var what string
			switch c.Subtype {
			case pg_query.AlterTableType_AT_DropColumn:
				if ruleOn(p, "drop-column") {
					continue // drop-column reports it, CASCADE included
				}
				what = "column"
			case pg_query.AlterTableType_AT_DropConstraint:
				what = "constraint"
			default:
				continue
			}
			safe := SafeSQL(p.Node(), func(n *pg_query.Node) {
				n.GetAlterTableStmt().Cmds[i].GetAlterTableCmd().Behavior = pg_query.DropBehavior_DROP_RESTRICT
			})
			p.Report(fmt.Sprintf("Dropping %s %s of %s with CASCADE also drops every object that depends on it, without naming them.", what, c.Name, RelName(rel)),
				"", cascadeFix(safe, p.Rule().Fix))
		}
	},
}

func allSchemasCreated(p *Pass, names []string) bool {
	for _, n := range names {
		if !schemaCreated(p, n) {
			return false
		}
	}
	return true
}

func allCreatedInFile(p *Pass, names []string) bool {
	for _, n := range names {
		if !p.State.IsNew(rangeVarFromName(n)) {
			return false
		}
	}
	return true
}

func cascadeFix(safe, fallback string) string {
	if safe == "" {
		return fallback
	}
	return "Drop without CASCADE, so PostgreSQL refuses and names the dependents if there are any:\n\n" + Indent(safe) +
		"\n\nThen drop or change each dependent it lists explicitly, in this migration, where reviewers see it."
}
