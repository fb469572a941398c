package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var duplicateColumn = &Rule{
	ID:       "duplicate-column",
	Group:    "transactions",
	Severity: Error,
	Summary:  "A column declared, added or assigned twice in one statement, or added again to a table that has it.",
	Why: "PostgreSQL rejects the statement (SQLSTATE 42701 duplicate_column, or 42601 for a column assigned twice): the " +
		"migration fails at deploy time.",
	Fix:     "Remove the duplicate, or use ADD COLUMN IF NOT EXISTS when the column may already exist.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-COLUMN",
	Check: func(p *Pass) {
		seen := map[string]bool{}
		var dups, existing []string
		note := func(name string) {
			k := strings.ToLower(name)
			if seen[k] && !containsFold(dups, k) {
				dups = append(dups, name)
			}
			seen[k] = true
		}
		what := ""
		switch s := p.Node().Node.(type) {
		case *pg_query.Node_CreateStmt:
			what = "CREATE TABLE " + RelName(s.CreateStmt.Relation) + " declares"
			for _, el := range s.CreateStmt.TableElts {
				if cd := el.GetColumnDef(); cd != nil {
					note(cd.Colname)
				}
			}
		case *pg_query.Node_AlterTableStmt:
			rv := s.AlterTableStmt.Relation
			what = "ALTER TABLE " + RelName(rv) + " adds"
			t := p.State.Catalog.Table(rv)
			for _, c := range s.AlterTableStmt.Cmds {
				ac := c.GetAlterTableCmd()
				if ac == nil || ac.Subtype != pg_query.AlterTableType_AT_AddColumn || ac.MissingOk {
					continue
				}
				if cd := ac.Def.GetColumnDef(); cd != nil {
					if t.Column(cd.Colname) != nil {
						existing = append(existing, cd.Colname)
					}
					note(cd.Colname)
				}
			}
		case *pg_query.Node_UpdateStmt:
			what = "UPDATE " + RelName(s.UpdateStmt.Relation) + " assigns"
			for _, t := range s.UpdateStmt.TargetList {
				if rt := t.GetResTarget(); rt != nil {
					note(rt.Name)
				}
			}
		case *pg_query.Node_InsertStmt:
			what = "INSERT INTO " + RelName(s.InsertStmt.Relation) + " lists"
			for _, t := range s.InsertStmt.Cols {
				if rt := t.GetResTarget(); rt != nil {
					note(rt.Name)
				}
			}
		default:
			return
		}
		if len(dups) > 0 {
			p.Report(fmt.Sprintf("%s column %s twice: the statement fails at deploy time.", what, strings.Join(dups, ", ")), "", "Remove the second occurrence of the column.")
		}
		if len(existing) > 0 {
			p.Report(fmt.Sprintf("%s column %s, which the table already has (created by an earlier migration): the statement fails at deploy time.", what, strings.Join(existing, ", ")), "",
				"Remove the ADD COLUMN, or write ADD COLUMN IF NOT EXISTS if the column may or may not exist.")
		}
	},
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
