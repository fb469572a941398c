package checks

import (
	"fmt"
	"regexp"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var domainWithConstraint = &Rule{
	ID:       "domain-with-constraint",
	Group:    "locks",
	Severity: Warning,
	Summary:  "CREATE DOMAIN with a CHECK constraint, or ALTER DOMAIN … ADD CONSTRAINT.",
	Why: "ALTER DOMAIN … ADD CONSTRAINT checks every column of every table that uses the domain, holding SHARE on each " +
		"table: INSERT, UPDATE and DELETE wait until all of them are scanned. NOT VALID does not help before PostgreSQL 19: " +
		"ALTER DOMAIN … VALIDATE CONSTRAINT also takes SHARE. A domain's constraints are therefore hard to change later, " +
		"unlike a table's CHECK constraints, which can be added NOT VALID and validated under SHARE UPDATE EXCLUSIVE.",
	Fix:     "Use a plain type with CHECK constraints on the table columns (added NOT VALID, then VALIDATE CONSTRAINT in a separate transaction).",
	DocsURL: "https://www.postgresql.org/docs/current/sql-alterdomain.html",
	Check: func(p *Pass) {
		switch s := p.Node().Node.(type) {
		case *pg_query.Node_CreateDomainStmt:
			var checks []string
			for _, c := range s.CreateDomainStmt.Constraints {
				if con := c.GetConstraint(); con != nil && con.Contype == pg_query.ConstrType_CONSTR_CHECK {
					checks = append(checks, "CHECK ("+exprSQL(con.RawExpr)+")")
				}
			}
			if len(checks) == 0 {
				return
			}
			name := strings.Join(nodeStrings(s.CreateDomainStmt.Domainname), ".")
			fix := "Prefer the base type with a CHECK constraint on each column that needs it, for example:\n\n" +
				Indent(fmt.Sprintf("ALTER TABLE <table> ADD CONSTRAINT <table>_<column>_check %s NOT VALID;\nALTER TABLE <table> VALIDATE CONSTRAINT <table>_<column>_check;  -- separate transaction",
					valueRE.ReplaceAllString(checks[0], "<column>")))
			p.Report(fmt.Sprintf("Domain %s has a constraint (%s): changing it later scans every column of that domain while holding SHARE on each table.", name, strings.Join(checks, ", ")), "", fix)
		case *pg_query.Node_AlterDomainStmt:
			ad := s.AlterDomainStmt
			con := ad.Def.GetConstraint()
			if ad.Subtype != "C" || con == nil || con.SkipValidation {
				if ad.Subtype == "V" && !p.Settings.PGVersion.AtLeast(19, 0) {
					name := strings.Join(nodeStrings(ad.TypeName), ".")
					p.Report(fmt.Sprintf("ALTER DOMAIN %s VALIDATE CONSTRAINT %s scans every column of the domain while holding SHARE on each table that uses it (before PostgreSQL 19).", name, ad.Name), "",
						"Validate a CHECK constraint on the table columns instead (ALTER TABLE … VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE), or validate the domain constraint when a write pause is acceptable.")
				}
				return
			}
			name := strings.Join(nodeStrings(ad.TypeName), ".")
			fix := "Put the rule on the table columns instead: add it NOT VALID and validate it in a separate transaction, which lets reads and writes go on:\n\n" +
				Indent(fmt.Sprintf("ALTER TABLE <table> ADD CONSTRAINT <name> CHECK (%s) NOT VALID;\nALTER TABLE <table> VALIDATE CONSTRAINT <name>;  -- separate transaction",
					valueRE.ReplaceAllString(exprSQL(con.RawExpr), "<column>")))
			p.Report(fmt.Sprintf("ALTER DOMAIN %s ADD CONSTRAINT checks every column of type %s while holding SHARE on each table that uses it: writes wait until all are scanned.", name, name), "", fix)
		}
	},
}

var valueRE = regexp.MustCompile(`(?i)\bvalue\b`)

// nodeStrings returns the String values of a list of nodes, as written.
func nodeStrings(ns []*pg_query.Node) []string {
	var out []string
	for _, n := range ns {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}
