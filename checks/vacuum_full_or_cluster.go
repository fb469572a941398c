package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var vacuumFullOrCluster = &Rule{
	ID:       "vacuum-full-or-cluster",
	Predicts: Prediction{Rewrite: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "VACUUM FULL or CLUSTER in a migration.",
	Why: "VACUUM FULL and CLUSTER write a new copy of the table and all its indexes while holding ACCESS EXCLUSIVE: every " +
		"read and write on the table waits until the copy is done, and the disk needs room for both copies.",
	Fix: "Reclaim space online with the pg_repack or pg_squeeze extension (or REPACK CONCURRENTLY from PostgreSQL 19); " +
		"plain VACUUM (without FULL) needs no strong lock.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-vacuum.html",
	Check: func(p *Pass) {
		what, tables := "", []string{}
		if vs := p.Node().GetVacuumStmt(); vs != nil && vs.IsVacuumcmd && defElemNames(vs.Options)["full"] {
			what = "VACUUM FULL"
			for _, r := range vs.Rels {
				if vr := r.GetVacuumRelation(); vr != nil && !p.State.IsNew(vr.Relation) {
					tables = append(tables, RelName(vr.Relation))
				}
			}
			if len(vs.Rels) == 0 {
				tables = append(tables, "every table of the database")
			}
		}
		if cs := p.Node().GetClusterStmt(); cs != nil {
			what = "CLUSTER"
			if cs.Relation == nil {
				tables = append(tables, "every previously clustered table")
			} else if !p.State.IsNew(cs.Relation) {
				tables = append(tables, RelName(cs.Relation))
			}
		}
		if what == "" || len(tables) == 0 {
			return
		}
		var fix string
		if p.Settings.PGVersion.AtLeast(19, 0) {
			fix = "Use REPACK CONCURRENTLY (PostgreSQL 19+), which rebuilds the table while reads and writes go on."
		} else {
			fix = "Rewrite the table online with the pg_repack extension (`pg_repack --table=" + tables[0] + "`) or pg_squeeze, " +
				"outside the migration. If the goal is only to make dead rows reusable, plain VACUUM is enough:\n\n" +
				Indent(SafeSQL(p.Node(), func(n *pg_query.Node) {
					vs := n.GetVacuumStmt()
					if vs == nil {
						return
					}
					var keep []*pg_query.Node
					for _, o := range vs.Options {
						if d := o.GetDefElem(); d != nil && strings.EqualFold(d.Defname, "full") {
							continue
						}
						keep = append(keep, o)
					}
					vs.Options = keep
				}))
			if what == "CLUSTER" {
				fix = "Rewrite the table online in index order with pg_repack (`pg_repack --table=" + tables[0] + " --order-by=…`), outside the migration."
			}
		}
		p.Report(fmt.Sprintf("%s rewrites %s under ACCESS EXCLUSIVE: every read and write waits until the copy is done.", what, strings.Join(tables, ", ")), "", fix)
	},
}
