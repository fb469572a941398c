package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var indexDropNonconcurrent = &Rule{
	ID:       "index-drop-nonconcurrent",
	Group:    "locks",
	Severity: Warning,
	Summary:  "DROP INDEX without CONCURRENTLY.",
	Why: "DROP INDEX takes ACCESS EXCLUSIVE on the index's table. The drop itself is quick, but the lock request waits for " +
		"every running query on the table, and every later read and write queues behind it: a long query turns into an outage.",
	Fix: "Use DROP INDEX CONCURRENTLY (one index per statement, outside a transaction block): it takes SHARE UPDATE EXCLUSIVE " +
		"and waits for running queries without blocking new ones.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-dropindex.html",
	Check: func(p *Pass) {
		ds := p.Node().GetDropStmt()
		if ds == nil || ds.RemoveType != pg_query.ObjectType_OBJECT_INDEX || ds.Concurrent {
			return
		}
		var names, fixes []string
		for _, o := range ds.Objects {
			parts := nameList(o)
			if len(parts) == 0 {
				continue
			}
			rv := rangeVarOf(parts)
			t := p.State.Catalog.IndexTable(parts)
			if p.State.IsNew(rv) || (t != nil && p.State.IsNew(rangeVarOf(strings.Split(t.Name, ".")))) {
				continue
			}
			name := strings.Join(parts, ".")
			if t != nil {
				name += " (on " + t.Name + ")"
			}
			names = append(names, name)
			ifExists := ""
			if ds.MissingOk {
				ifExists = "IF EXISTS "
			}
			fixes = append(fixes, fmt.Sprintf("DROP INDEX CONCURRENTLY %s%s;", ifExists, strings.Join(parts, ".")))
		}
		if len(names) == 0 {
			return
		}
		fix := "Drop it without blocking queries, in a migration that does not run in a transaction:\n\n" + Indent(strings.Join(fixes, "\n"))
		if ds.Behavior == pg_query.DropBehavior_DROP_CASCADE {
			fix += "\n\nCONCURRENTLY does not support CASCADE: drop the dependent objects first."
		}
		p.Report(fmt.Sprintf("DROP INDEX %s without CONCURRENTLY takes ACCESS EXCLUSIVE on the table: queued behind running queries, it blocks every read and write.", strings.Join(names, ", ")), "", fix)
		if !p.Stmt.InTransaction && len(fixes) == len(ds.Objects) && ds.Behavior != pg_query.DropBehavior_DROP_CASCADE {
			p.EditLastAutocommit(strings.Join(fixes, "\n")) // CONCURRENTLY fails in a transaction
		}
	},
}
