package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// volatileFuncs are the built-in functions PostgreSQL marks VOLATILE that
// appear in column defaults (pg_proc.provolatile = 'v' in PostgreSQL 15,
// plus uuid-ossp, pgcrypto and the PostgreSQL 18 uuidv4/uuidv7).
var volatileFuncs = map[string]bool{
	"clock_timestamp": true, "currval": true, "gen_random_uuid": true, "lastval": true, "nextval": true,
	"random": true, "random_normal": true, "setval": true, "timeofday": true, "txid_status": true,
	"uuid_generate_v1": true, "uuid_generate_v1mc": true, "uuid_generate_v4": true, "gen_random_bytes": true,
	"uuidv4": true, "uuidv7": true, "set_config": true, "query_to_xml": true,
}

// volatileCall returns the first call in e to a volatile function: a known
// volatile built-in, or a function qualified with a schema other than
// pg_catalog (a user function; CREATE FUNCTION defaults to VOLATILE).
func volatileCall(e *pg_query.Node) string {
	found := ""
	walkNodes(e, func(n *pg_query.Node) {
		fc := n.GetFuncCall()
		if fc == nil || found != "" {
			return
		}
		names := stringList(fc.Funcname)
		if len(names) == 0 {
			return
		}
		name := names[len(names)-1]
		if volatileFuncs[name] || (len(names) > 1 && names[0] != "pg_catalog") {
			found = strings.Join(names, ".") + "()"
		}
	})
	return found
}

// columnDefault returns the DEFAULT expression of a column definition.
func columnDefault(cd *pg_query.ColumnDef) *pg_query.Node {
	if cd.RawDefault != nil {
		return cd.RawDefault
	}
	for _, c := range cd.Constraints {
		if con := c.GetConstraint(); con != nil && con.Contype == pg_query.ConstrType_CONSTR_DEFAULT {
			return con.RawExpr
		}
	}
	return nil
}

func isNullConst(e *pg_query.Node) bool {
	if c := e.GetAConst(); c != nil {
		return c.Isnull
	}
	if tc := e.GetTypeCast(); tc != nil {
		return isNullConst(tc.Arg)
	}
	return false
}

// columnRewriteKind says why adding this column rewrites the table:
// kind is "serial", "identity", "generated", "volatile" or "default"
// (any default before PostgreSQL 11); "" when it does not.
func columnRewriteKind(p *Pass, cd *pg_query.ColumnDef) (kind, detail string) {
	if cd.TypeName != nil && isSerial(cd.TypeName) {
		return "serial", TypeNameString(cd.TypeName)
	}
	for _, c := range cd.Constraints {
		con := c.GetConstraint()
		if con == nil {
			continue
		}
		switch con.Contype {
		case pg_query.ConstrType_CONSTR_IDENTITY:
			return "identity", "GENERATED AS IDENTITY"
		case pg_query.ConstrType_CONSTR_GENERATED:
			return "generated", "GENERATED ALWAYS AS (" + exprSQL(con.RawExpr) + ") STORED"
		}
	}
	def := columnDefault(cd)
	if def == nil || isNullConst(def) {
		return "", ""
	}
	if f := volatileCall(def); f != "" {
		return "volatile", f
	}
	if !p.Settings.PGVersion.AtLeast(11, 0) {
		return "default", exprSQL(def)
	}
	return "", ""
}

// columnRewrites is columnRewriteKind's kind alone.
func columnRewrites(p *Pass, cd *pg_query.ColumnDef) string {
	k, _ := columnRewriteKind(p, cd)
	return k
}

// addedColumns returns the ADD COLUMN definitions of an ALTER TABLE on an
// existing table, with the table.
func addedColumns(p *Pass) (*pg_query.RangeVar, []*pg_query.ColumnDef) {
	rv, cmds := p.AlterCmds()
	if rv == nil || p.State.IsNew(rv) {
		return nil, nil
	}
	var out []*pg_query.ColumnDef
	for _, c := range cmds {
		if c.Subtype == pg_query.AlterTableType_AT_AddColumn {
			if cd := c.Def.GetColumnDef(); cd != nil {
				out = append(out, cd)
			}
		}
	}
	return rv, out
}

var addColumnVolatileDefault = &Rule{
	ID:       "add-column-volatile-default",
	Predicts: Prediction{Rewrite: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "ADD COLUMN with a volatile default (any non-NULL default before PostgreSQL 11) on an existing table.",
	Why: "A volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(), a user function) must be computed " +
		"for every existing row, so PostgreSQL rewrites the whole table and rebuilds its indexes while holding ACCESS EXCLUSIVE: " +
		"every read and write on the table waits until the rewrite ends. Since PostgreSQL 11 a constant or stable default " +
		"(now(), 'x', 0) is stored once in the catalog and needs no rewrite; before 11 every non-NULL default rewrites.",
	Fix: "Add the column without the default, set the default for new rows in a second statement (no rewrite), then fill " +
		"existing rows in batches, each in its own transaction.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES",
	Check: func(p *Pass) {
		rv, cols := addedColumns(p)
		for _, cd := range cols {
			kind, detail := columnRewriteKind(p, cd)
			if kind != "volatile" && kind != "default" {
				continue
			}
			def := columnDefault(cd)
			plain := columnWithoutDefault(cd)
			add := &pg_query.AlterTableCmd{Subtype: pg_query.AlterTableType_AT_AddColumn, Def: &pg_query.Node{Node: &pg_query.Node_ColumnDef{ColumnDef: plain}}}
			setDef := &pg_query.AlterTableCmd{Subtype: pg_query.AlterTableType_AT_ColumnDefault, Name: cd.Colname, Def: def}
			key := batchKey(p, rv)
			fix := "Add the column without a default (no rewrite), then give new rows the default:\n\n" +
				Indent(alterSQL(rv, add)+"\n"+alterSQL(rv, setDef)) +
				"\n\nThen fill the existing rows in batches, each batch in its own transaction, for example:\n\n" +
				Indent(fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s IN (SELECT %s FROM %s WHERE %s IS NULL LIMIT 10000);",
					RelName(rv), quoteIdent(cd.Colname), exprSQL(def), key, key, RelName(rv), quoteIdent(cd.Colname))) +
				"\n\nrepeated until it updates no row. If the column must be NOT NULL, add that afterwards " +
				"with a CHECK (… IS NOT NULL) NOT VALID constraint, VALIDATE it, then SET NOT NULL."
			var msg string
			if kind == "volatile" {
				msg = fmt.Sprintf("ADD COLUMN %s with volatile default %s rewrites table %s under ACCESS EXCLUSIVE.", cd.Colname, detail, RelName(rv))
			} else {
				msg = fmt.Sprintf("ADD COLUMN %s with default %s rewrites table %s under ACCESS EXCLUSIVE on PostgreSQL %s (before 11 every non-NULL default is written into each row).", cd.Colname, detail, RelName(rv), p.Settings.PGVersion)
				fix += "\n\nOn PostgreSQL 11 and later a constant default needs no rewrite."
			}
			p.Report(msg, "", fix)
		}
	},
}

// columnWithoutDefault returns a copy of a column definition without its
// DEFAULT (and without NOT NULL, which a column without default cannot
// have on a non-empty table).
func columnWithoutDefault(cd *pg_query.ColumnDef) *pg_query.ColumnDef {
	c := &pg_query.ColumnDef{Colname: cd.Colname, TypeName: cd.TypeName, CollClause: cd.CollClause, IsLocal: true}
	for _, cn := range cd.Constraints {
		con := cn.GetConstraint()
		if con == nil {
			continue
		}
		switch con.Contype {
		case pg_query.ConstrType_CONSTR_DEFAULT, pg_query.ConstrType_CONSTR_NOTNULL, pg_query.ConstrType_CONSTR_IDENTITY, pg_query.ConstrType_CONSTR_GENERATED:
			continue
		}
		c.Constraints = append(c.Constraints, cn)
	}
	return c
}
