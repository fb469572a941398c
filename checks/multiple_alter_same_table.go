package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// heavyAlter reports whether an ALTER TABLE on an existing table scans or
// rewrites it (one of the subcommands does).
func heavyAlter(p *Pass, n *pg_query.Node) bool {
	rv, cmds := AlterCmds(n)
	if rv == nil || p.State.IsNew(rv) {
		return false
	}
	t := p.State.Catalog.Table(rv)
	for _, c := range cmds {
		switch c.Subtype {
		case pg_query.AlterTableType_AT_AlterColumnType:
			cd := c.Def.GetColumnDef()
			if cd == nil || cd.TypeName == nil {
				continue
			}
			if col := t.Column(c.Name); col != nil && col.Type != nil && cd.RawDefault == nil {
				if rw, _ := typeChange(p, col.Type, cd.TypeName); !rw {
					continue
				}
			}
			return true
		case pg_query.AlterTableType_AT_AddColumn:
			if cd := c.Def.GetColumnDef(); cd != nil && columnRewrites(p, cd) != "" {
				return true
			}
		case pg_query.AlterTableType_AT_SetNotNull:
			if !(p.Settings.PGVersion.AtLeast(12, 0) && t.ProvedNotNull(c.Name)) {
				return true
			}
		case pg_query.AlterTableType_AT_AddConstraint:
			if con := c.Def.GetConstraint(); con != nil && !con.SkipValidation && con.Indexname == "" &&
				con.Contype != pg_query.ConstrType_CONSTR_FOREIGN && con.Contype != pg_query.ConstrType_CONSTR_NOTNULL {
				return true
			}
		}
	}
	return false
}

var multipleAlterSameTable = &Rule{
	ID:       "multiple-alter-same-table",
	Group:    "locks",
	Severity: Info,
	Summary:  "Several ALTER TABLE statements that each scan or rewrite the same table, where one statement would do.",
	Why: "Each ALTER TABLE that rewrites or scans a table does so separately, each time under ACCESS EXCLUSIVE: two such " +
		"statements read (or copy) the whole table twice. Subcommands combined in one ALTER TABLE share one rewrite and one scan.",
	Fix:     "Combine the subcommands into one ALTER TABLE, separated by commas.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES",
	Check: func(p *Pass) {
		// Whether an earlier ALTER was heavy is decided when it ran (the
		// catalog changes afterwards), so heavy ALTERs are remembered.
		seen, _ := p.State.Value(p.Rule().ID).(map[string]*sqlparse.Statement)
		if seen == nil {
			seen = map[string]*sqlparse.Statement{}
			p.State.SetValue(p.Rule().ID, seen)
		}
		if !heavyAlter(p, p.Node()) {
			return
		}
		rv, cmds := p.AlterCmds()
		first, ok := seen[RelKey(rv)]
		if !ok {
			seen[RelKey(rv)] = p.Stmt
			return
		}
		_, cmds0 := AlterCmds(first.Node)
		merged := alterSQL(rv, append(append([]*pg_query.AlterTableCmd{}, cmds0...), cmds...)...)
		p.Report(fmt.Sprintf("This ALTER TABLE %s scans or rewrites the table a second time (the first on line %d): combined, the work is done once.",
			RelName(rv), first.Start.Line), "", "Combine them into one statement:\n\n"+Indent(merged))
	},
}
