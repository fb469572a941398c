package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var onDeleteCascade = &Rule{
	ID:       "on-delete-cascade",
	Group:    "compatibility",
	Severity: Info,
	Summary:  "A foreign key with ON DELETE CASCADE.",
	Why: "One DELETE of a parent row silently deletes every referencing row, and their own cascades, in the same statement: a " +
		"mistaken or bulk delete removes far more data than it names, holds row locks on all of it, writes it all to WAL in one " +
		"transaction, and skips the application's own delete logic (callbacks, audit, soft delete).",
	Fix: "Use the default (NO ACTION) or ON DELETE RESTRICT, and delete the children explicitly, in batches, from the application " +
		"or a job; keep CASCADE only for rows that are truly part of the parent (order lines of an order) and few per parent.",
	DocsURL: "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK",
	Check: func(p *Pass) {
		var table *pg_query.RangeVar
		var fks []*pg_query.Constraint
		if cs := p.Node().GetCreateStmt(); cs != nil {
			table = cs.Relation
			fks = cascadeFKs(cs.TableElts)
		} else if rel, cmds := p.AlterCmds(); rel != nil {
			table = rel
			for _, c := range cmds {
				if c.Def != nil {
					fks = append(fks, cascadeFKs([]*pg_query.Node{c.Def})...)
				}
			}
		}
		if len(fks) == 0 {
			return
		}
		var parents []string
		seen := map[string]bool{}
		for _, k := range fks {
			if n := RelName(k.Pktable); !seen[n] {
				seen[n] = true
				parents = append(parents, n)
			}
		}
		safe := SafeSQL(p.Node(), func(n *pg_query.Node) {
			var elts []*pg_query.Node
			if cs := n.GetCreateStmt(); cs != nil {
				elts = cs.TableElts
			} else {
				_, cmds := AlterCmds(n)
				for _, c := range cmds {
					if c.Def != nil {
						elts = append(elts, c.Def)
					}
				}
			}
			for _, k := range cascadeFKs(elts) {
				k.FkDelAction = "r" // RESTRICT
			}
		})
		fix := p.Rule().Fix
		if safe != "" {
			fix = "Make deletes of referenced rows fail instead of cascading, and delete the children explicitly, in batches:\n\n" + Indent(safe) +
				"\n\nKeep CASCADE (and ignore this finding) only for rows that are part of the parent and few per parent."
		}
		p.Report(fmt.Sprintf("Deleting a row of %s silently deletes its rows in %s (ON DELETE CASCADE).", strings.Join(parents, " or "), RelName(table)), "", fix)
	},
}

// cascadeFKs returns the ON DELETE CASCADE foreign keys among table
// elements: table constraints and the constraints of column definitions.
func cascadeFKs(elts []*pg_query.Node) []*pg_query.Constraint {
	var out []*pg_query.Constraint
	add := func(k *pg_query.Constraint) {
		if k != nil && k.Contype == pg_query.ConstrType_CONSTR_FOREIGN && k.FkDelAction == "c" {
			out = append(out, k)
		}
	}
	for _, e := range elts {
		add(e.GetConstraint())
		if cd := e.GetColumnDef(); cd != nil {
			for _, c := range cd.Constraints {
				add(c.GetConstraint())
			}
		}
	}
	return out
}
