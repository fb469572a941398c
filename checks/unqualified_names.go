package checks

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var unqualifiedNames = &Rule{
	ID:       "unqualified-names",
	Group:    "types",
	Severity: Info,
	Off:      true,
	Summary:  "A table, index, view, sequence or type created or altered without a schema name (off by default).",
	Why: "An unqualified name resolves through search_path, which the migration runner, a pooler, ALTER ROLE … SET search_path or " +
		"an earlier SET in the file can change: the same migration then creates the object in another schema on another " +
		"environment, or alters a same-named table in a schema listed earlier in the path.",
	Fix:     "Qualify every object name with its schema (public.orders).",
	DocsURL: "https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH",
	Check: func(p *Pass) {
		rv, kind := mainRelation(p.Node())
		if rv == nil || rv.Schemaname != "" || rv.Relpersistence == "t" {
			return
		}
		safe := SafeSQL(p.Node(), func(n *pg_query.Node) {
			if r, _ := mainRelation(n); r != nil {
				r.Schemaname = "public"
			}
		})
		fix := p.Rule().Fix
		if safe != "" {
			fix = "Name the schema explicitly (public, if that is where it belongs):\n\n" + Indent(safe)
		}
		p.Report(fmt.Sprintf("%s %s is not schema-qualified; it resolves through search_path.", kind, rv.Relname), "", fix)
	},
}

// mainRelation returns the relation a DDL statement creates or alters, and
// what it is ("Table", "View", …) for messages.
func mainRelation(n *pg_query.Node) (*pg_query.RangeVar, string) {
	switch {
	case n.GetCreateStmt() != nil:
		return n.GetCreateStmt().Relation, "Table"
	case n.GetAlterTableStmt() != nil:
		return n.GetAlterTableStmt().Relation, "Table"
	case n.GetIndexStmt() != nil:
		return n.GetIndexStmt().Relation, "Table"
	case n.GetViewStmt() != nil:
		return n.GetViewStmt().View, "View"
	case n.GetCreateSeqStmt() != nil:
		return n.GetCreateSeqStmt().Sequence, "Sequence"
	case n.GetCreateTableAsStmt() != nil && n.GetCreateTableAsStmt().Into != nil:
		return n.GetCreateTableAsStmt().Into.Rel, "Table"
	case n.GetRenameStmt() != nil:
		return n.GetRenameStmt().Relation, "Relation"
	case n.GetCompositeTypeStmt() != nil:
		return n.GetCompositeTypeStmt().Typevar, "Type"
	}
	return nil, ""
}
