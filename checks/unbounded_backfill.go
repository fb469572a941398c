package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var unboundedBackfill = &Rule{
	ID:       "unbounded-backfill",
	Group:    "locks",
	Severity: Warning,
	Summary:  "UPDATE or DELETE on an existing table whose WHERE bounds the rows by no key range and no LIMIT (a backfill such as WHERE c IS NULL).",
	Why: "A WHERE that filters by the data (c IS NULL, status = 'x') rather than by a range of the key does not bound the work: " +
		"on a backfill it matches every row, so the statement scans the whole table and changes all of them in one " +
		"transaction, exactly like an UPDATE without WHERE. Every changed row stays locked until commit (writers of " +
		"those rows wait), the WAL for the whole table is written at once (replicas lag), and a failure near the end " +
		"rolls everything back.",
	Fix: "Bound each statement by the key, in batches of a few thousand rows, each in its own transaction, repeated until " +
		"it changes no row; run the batches outside the schema migration.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-update.html",
	Check: func(p *Pass) {
		var what string
		var rel *pg_query.RangeVar
		var where *pg_query.Node
		joined := false // UPDATE … FROM, DELETE … USING or a WITH: no text fix
		switch s := p.Node().Node.(type) {
		case *pg_query.Node_UpdateStmt:
			what, rel, where = "UPDATE", s.UpdateStmt.Relation, s.UpdateStmt.WhereClause
			joined = len(s.UpdateStmt.FromClause) > 0 || s.UpdateStmt.WithClause != nil
		case *pg_query.Node_DeleteStmt:
			what, rel, where = "DELETE FROM", s.DeleteStmt.Relation, s.DeleteStmt.WhereClause
			joined = len(s.DeleteStmt.UsingClause) > 0 || s.DeleteStmt.WithClause != nil
		default:
			return
		}
		// No WHERE at all is unbounded-dml-in-migration's finding.
		if where == nil || rel == nil || p.State.IsNew(rel) {
			return
		}
		keys := keyColumns(p.State.Catalog.Table(rel))
		if boundedWhere(where, keys) {
			return
		}
		cond := exprSQL(where)
		key := "id"
		if t := p.State.Catalog.Table(rel); t != nil {
			if pk := primaryKey(t); len(pk) == 1 {
				key = pk[0]
			}
		}
		table, tsql, k := RelName(rel), relSQL(rel), quoteIdent(key)
		var batch string
		switch {
		case joined:
			batch = fmt.Sprintf("%s %s … WHERE %s IN (SELECT %s FROM %s WHERE <rows not done yet> ORDER BY %s LIMIT 5000) AND …;", what, tsql, k, k, tsql, k)
		case what == "UPDATE":
			batch = fmt.Sprintf("UPDATE %s SET %s\nWHERE %s IN (SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT 5000);", tsql, setListText(p), k, k, tsql, cond, k)
		default:
			batch = fmt.Sprintf("DELETE FROM %s\nWHERE %s IN (SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT 5000);", tsql, k, k, tsql, cond, k)
		}
		fix := "Change the rows in batches bounded by the key, each batch in its own transaction, repeated until it changes no row:\n\n" +
			Indent(batch) +
			"\n\nRun the batches from a script or job outside the schema migration, and keep the schema change itself short."
		p.Report(fmt.Sprintf("%s %s WHERE %s is bounded by no key range or LIMIT: it scans all of %s and changes every matching row (on a backfill, every row) in one statement, and those rows stay locked until commit.",
			what, table, cond, table), "", fix)
	},
}

// keyColumns returns the columns whose ranges bound a statement by key:
// "id", the primary key's and unique indexes' single columns, and the
// leading column of every index (a range on it is an index range).
func keyColumns(t *Table) map[string]bool {
	keys := map[string]bool{"id": true}
	if t == nil {
		return keys
	}
	for _, ix := range t.Indexes {
		if len(ix.Columns) > 0 && ix.Columns[0] != "" && (ix.Unique || len(ix.Columns) >= 1) {
			keys[ix.Columns[0]] = true
		}
	}
	return keys
}

// primaryKey returns the primary key's columns, if the catalog knows them.
func primaryKey(t *Table) []string {
	for _, c := range t.Constraints {
		if c.Type == pg_query.ConstrType_CONSTR_PRIMARY {
			if ix := t.Indexes[strings.ToLower(c.Name)]; ix != nil {
				return ix.Columns
			}
		}
	}
	return nil
}

// boundedWhere reports whether one of the top-level AND terms of where
// bounds the rows: a comparison or BETWEEN of a key column with
// constants, an IN list or = ANY of constants on a key column, or a
// subquery with a LIMIT (id IN (SELECT … LIMIT n)).
func boundedWhere(where *pg_query.Node, keys map[string]bool) bool {
	if b := where.GetBoolExpr(); b != nil {
		if b.Boolop != pg_query.BoolExprType_AND_EXPR {
			return false
		}
		for _, a := range b.Args {
			if boundedWhere(a, keys) {
				return true
			}
		}
		return false
	}
	if sl := where.GetSubLink(); sl != nil {
		return hasLimit(sl.Subselect)
	}
	e := where.GetAExpr()
	if e == nil {
		return false
	}
	col := columnName(e.Lexpr)
	if col == "" || !keys[col] {
		// const op column
		if c := columnName(e.Rexpr); c != "" && keys[c] && boundValue(e.Lexpr) && e.Kind == pg_query.A_Expr_Kind_AEXPR_OP {
			return true
		}
		return false
	}
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if len(e.Name) == 1 {
			switch e.Name[0].GetString_().GetSval() {
			case "=", "<", "<=", ">", ">=":
				return boundValue(e.Rexpr)
			}
		}
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM:
		if l := e.Rexpr.GetList(); l != nil {
			for _, it := range l.Items {
				if !boundValue(it) {
					return false
				}
			}
			return true
		}
	case pg_query.A_Expr_Kind_AEXPR_IN:
		if l := e.Rexpr.GetList(); l != nil {
			for _, it := range l.Items {
				if !boundValue(it) {
					return false
				}
			}
			return true
		}
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY:
		return boundValue(e.Rexpr)
	}
	if sl := e.Rexpr.GetSubLink(); sl != nil {
		return hasLimit(sl.Subselect)
	}
	return false
}

// hasLimit reports whether a subquery has a LIMIT (or FETCH FIRST).
func hasLimit(n *pg_query.Node) bool {
	s := n.GetSelectStmt()
	return s != nil && s.LimitCount != nil
}

// columnName returns the last name of a column reference, lower case.
func columnName(n *pg_query.Node) string {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) == 0 {
		return ""
	}
	return strings.ToLower(cr.Fields[len(cr.Fields)-1].GetString_().GetSval())
}

// boundValue reports whether n is a literal, a parameter, a cast of one,
// or an array of them (the bounds of a batch that a script fills in).
func boundValue(n *pg_query.Node) bool {
	switch {
	case n == nil:
		return false
	case n.GetAConst() != nil, n.GetParamRef() != nil:
		return true
	case n.GetTypeCast() != nil:
		return boundValue(n.GetTypeCast().Arg)
	case n.GetAArrayExpr() != nil:
		for _, e := range n.GetAArrayExpr().Elements {
			if !boundValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

// setListText is the SET list of the current UPDATE as written in the
// file (from SET up to WHERE), or "…" when it cannot be cut out.
func setListText(p *Pass) string {
	text := p.Stmt.SQL
	up := strings.ToUpper(text)
	i := strings.Index(up, " SET ")
	if i < 0 {
		i = strings.Index(up, "\nSET ")
	}
	j := strings.LastIndex(up, "WHERE")
	if i < 0 || j <= i {
		return "…"
	}
	return strings.TrimSpace(text[i+len(" SET ") : j])
}
