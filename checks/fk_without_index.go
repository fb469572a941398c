package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// fkRef is a foreign key a statement adds.
type fkRef struct {
	table *pg_query.RangeVar
	cols  []string
	name  string
	ref   string
}

// addedForeignKeys returns the foreign keys a CREATE TABLE or ALTER TABLE
// adds, and the index key lists the statement itself creates on the table.
func addedForeignKeys(n *pg_query.Node) (fks []fkRef, indexes [][]string) {
	add := func(rv *pg_query.RangeVar, con *pg_query.Constraint, col string) {
		switch con.Contype {
		case pg_query.ConstrType_CONSTR_FOREIGN:
			cols := stringList(con.FkAttrs)
			if len(cols) == 0 && col != "" {
				cols = []string{strings.ToLower(col)}
			}
			fks = append(fks, fkRef{table: rv, cols: cols, name: constraintName(rv, con, col), ref: RelName(con.Pktable)})
		case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
			cols := stringList(con.Keys)
			if len(cols) == 0 && col != "" {
				cols = []string{strings.ToLower(col)}
			}
			indexes = append(indexes, cols)
		}
	}
	if cs := n.GetCreateStmt(); cs != nil {
		for _, el := range cs.TableElts {
			if con := el.GetConstraint(); con != nil {
				add(cs.Relation, con, "")
			}
			if cd := el.GetColumnDef(); cd != nil {
				for _, cn := range cd.Constraints {
					if con := cn.GetConstraint(); con != nil {
						add(cs.Relation, con, cd.Colname)
					}
				}
			}
		}
	}
	rv, cmds := AlterCmds(n)
	for _, c := range cmds {
		if con := c.Def.GetConstraint(); con != nil && c.Subtype == pg_query.AlterTableType_AT_AddConstraint {
			add(rv, con, "")
		}
		if cd := c.Def.GetColumnDef(); cd != nil && c.Subtype == pg_query.AlterTableType_AT_AddColumn {
			for _, cn := range cd.Constraints {
				if con := cn.GetConstraint(); con != nil {
					add(rv, con, cd.Colname)
				}
			}
		}
	}
	return fks, indexes
}

var fkWithoutIndex = &Rule{
	ID:       "fk-without-index",
	Group:    "locks",
	Severity: Info,
	Summary:  "A foreign key whose referencing columns have no index that starts with them.",
	Why: "PostgreSQL does not index the referencing side of a foreign key. Every DELETE of a referenced row, and every " +
		"UPDATE of its key, must find the referencing rows: without an index that is a sequential scan of the whole " +
		"referencing table, per row, while the parent row stays locked.",
	Fix:     "Create an index on the referencing columns (CONCURRENTLY on an existing table).",
	DocsURL: "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK",
	Check: func(p *Pass) {
		fks, own := addedForeignKeys(p.Node())
		for _, fk := range fks {
			t := p.State.Catalog.Table(fk.table)
			isNewTable := p.Node().GetCreateStmt() != nil
			if t == nil && !isNewTable {
				continue // indexes of a table the migrations never created are unknown
			}
			covered := t.HasIndexLeading(fk.cols)
			for _, ix := range own {
				covered = covered || leadingCover(ix, fk.cols)
			}
			covered = covered || laterIndexCovers(p, fk.table, fk.cols)
			if covered || len(fk.cols) == 0 {
				continue
			}
			quoted := make([]string, len(fk.cols))
			for i, c := range fk.cols {
				quoted[i] = quoteIdent(c)
			}
			conc := "CONCURRENTLY "
			if isNewTable || p.State.IsNew(fk.table) {
				conc = ""
			}
			idx := fk.table.Relname + "_" + strings.Join(fk.cols, "_") + "_idx"
			fix := "Index the referencing columns:\n\n" + Indent(fmt.Sprintf("CREATE INDEX %s%s ON %s (%s);", conc, idx, RelName(fk.table), strings.Join(quoted, ", ")))
			if conc != "" {
				fix += "\n\n(in a migration that does not run in a transaction)"
			}
			p.Report(fmt.Sprintf("Foreign key %s on %s (%s) → %s has no index on %s (%s): deleting or re-keying a row of %s scans all of %s.",
				fk.name, RelName(fk.table), strings.Join(fk.cols, ", "), fk.ref, RelName(fk.table), strings.Join(fk.cols, ", "), fk.ref, RelName(fk.table)), "", fix)
		}
	},
}

// laterIndexCovers reports whether a later statement of the file creates an
// index (or a primary key or unique constraint) that starts with cols.
func laterIndexCovers(p *Pass, rv *pg_query.RangeVar, cols []string) bool {
	for _, st := range p.File.Up() {
		if st.Index <= p.Stmt.Index || st.Node == nil {
			continue
		}
		if ix := st.Node.GetIndexStmt(); ix != nil && RelKey(ix.Relation) == RelKey(rv) && leadingCover(indexCols(ix.IndexParams), cols) {
			return true
		}
		if rv2, _ := AlterCmds(st.Node); rv2 != nil && RelKey(rv2) == RelKey(rv) {
			_, own := addedForeignKeys(st.Node)
			for _, ix := range own {
				if leadingCover(ix, cols) {
					return true
				}
			}
		}
	}
	return false
}
