package checks

import (
	"fmt"
	"regexp"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var namingConvention = &Rule{
	ID:       "naming-convention",
	Group:    "types",
	Severity: Info,
	Off:      true,
	Summary:  "A new table, column, index or constraint whose name breaks the convention (off by default).",
	Why: "Names in lower snake_case never need quoting (a mixed-case name must be written \"Quoted\" in every query forever, and " +
		"an unquoted reference folds to lower case and misses it). Index and constraint names that end the way PostgreSQL's own " +
		"generated names do (_idx, _key, _pkey, _fkey, _check, _excl) say what the object is in every error message and plan.",
	Fix: "Use lower snake_case, and suffix indexes with _idx (_key when unique), primary keys _pkey, foreign keys _fkey, " +
		"checks _check, exclusion constraints _excl.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS",
	Check: func(p *Pass) {
		var bad []string
		check := func(kind, name, suffix string) {
			if name == "" {
				return
			}
			switch {
			case !snakeCase.MatchString(name):
				bad = append(bad, fmt.Sprintf("%s %q is not lower snake_case", kind, name))
			case suffix != "" && !hasAnySuffix(name, strings.Split(suffix, "|")):
				bad = append(bad, fmt.Sprintf("%s %s should end in %s", kind, name, strings.ReplaceAll(suffix, "|", " or ")))
			}
		}
		constraint := func(k *pg_query.Constraint) {
			if k == nil {
				return
			}
			suffix := map[pg_query.ConstrType]string{
				pg_query.ConstrType_CONSTR_PRIMARY: "_pkey", pg_query.ConstrType_CONSTR_UNIQUE: "_key",
				pg_query.ConstrType_CONSTR_FOREIGN: "_fkey", pg_query.ConstrType_CONSTR_CHECK: "_check",
				pg_query.ConstrType_CONSTR_EXCLUSION: "_excl",
			}[k.Contype]
			check("constraint", k.Conname, suffix)
		}
		column := func(cd *pg_query.ColumnDef) {
			check("column", cd.Colname, "")
			for _, c := range cd.Constraints {
				constraint(c.GetConstraint())
			}
		}
		n := p.Node()
		switch {
		case n.GetCreateStmt() != nil:
			cs := n.GetCreateStmt()
			check("table", cs.Relation.Relname, "")
			for _, e := range cs.TableElts {
				if cd := e.GetColumnDef(); cd != nil {
					column(cd)
				}
				constraint(e.GetConstraint())
			}
		case n.GetIndexStmt() != nil:
			idx := n.GetIndexStmt()
			suffix := "_idx"
			if idx.Unique {
				suffix = "_key|_idx"
			}
			check("index", idx.Idxname, suffix)
		case n.GetRenameStmt() != nil:
			rs := n.GetRenameStmt()
			kind := strings.ToLower(strings.TrimPrefix(rs.RenameType.String(), "OBJECT_"))
			if kind == "tabconstraint" {
				kind = "constraint"
			}
			check(kind, rs.Newname, "")
		default:
			if _, cmds := AlterCmds(n); cmds != nil {
				for _, c := range cmds {
					if cd := c.GetDef().GetColumnDef(); cd != nil && c.Subtype == pg_query.AlterTableType_AT_AddColumn {
						column(cd)
					}
					if c.Subtype == pg_query.AlterTableType_AT_AddConstraint {
						constraint(c.GetDef().GetConstraint())
					}
				}
			}
		}
		if len(bad) > 0 {
			p.Report("Naming: "+strings.Join(bad, "; ")+".", "", "")
		}
	},
}

var snakeCase = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}
