package checks

import (
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

var dataDependentUnique = &Rule{
	ID:       "data-dependent-unique",
	Predicts: Prediction{SQLState: "23505"},
	Group:    "compatibility",
	Severity: Warning,
	Summary:  "A unique index, UNIQUE or PRIMARY KEY constraint built over existing rows, which fails if they hold duplicates.",
	Why: "Whether the statement succeeds depends on the data in production, not on the migration: one pair of duplicate values " +
		"(or a NULL, for a primary key) makes it fail with unique_violation (23505) at deploy time. A plain build rolls the migration " +
		"back after having blocked writes for the whole build; a CONCURRENTLY build leaves an INVALID index behind that is still " +
		"maintained on every write until it is dropped. Duplicates that are absent in staging can exist in production.",
	Fix: "Look for duplicates in production first and clean them up in a separate, reviewed data migration; build the index with " +
		"CREATE UNIQUE INDEX CONCURRENTLY, and attach it as a constraint with ADD CONSTRAINT … USING INDEX if one is needed.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
	Check: func(p *Pass) {
		snapshotUniqueKeys(p)
		if idx := p.Node().GetIndexStmt(); idx != nil {
			if !idx.Unique || p.State.IsNew(idx.Relation) {
				return
			}
			cols, ok := indexColumns(idx.IndexParams)
			if ok && (cannotCollide(p, idx.Relation, cols, idx.NullsNotDistinct) || alreadyUnique(p, idx.Relation, cols) || dedupedBefore(p, idx.Relation, cols)) {
				return
			}
			name := idx.Idxname
			if name == "" {
				name = "(unnamed)"
			}
			msg := fmt.Sprintf("Unique index %s on %s (%s) fails at deploy time if existing rows hold duplicate values.", name, RelName(idx.Relation), strings.Join(cols, ", "))
			if vals, ok := sameDefault(p, idx.Relation, cols); ok {
				msg = sameDefaultMessage("Unique index "+name, idx.Relation, cols, vals)
			}
			p.Report(msg, "", uniqueFix(idx.Relation, cols, ""))
			return
		}
		rel, cmds := p.AlterCmds()
		if rel == nil || p.State.IsNew(rel) {
			return
		}
		for _, c := range cmds {
			k := c.GetDef().GetConstraint()
			if c.Subtype != pg_query.AlterTableType_AT_AddConstraint || k == nil || k.Indexname != "" {
				continue
			}
			var kind string
			switch k.Contype {
			case pg_query.ConstrType_CONSTR_UNIQUE:
				kind = "UNIQUE"
			case pg_query.ConstrType_CONSTR_PRIMARY:
				kind = "PRIMARY KEY"
			default:
				continue
			}
			var cols []string
			for _, n := range k.Keys {
				cols = append(cols, n.GetString_().GetSval())
			}
			if cannotCollide(p, rel, cols, k.NullsNotDistinct || kind == "PRIMARY KEY") || alreadyUnique(p, rel, cols) || (kind == "UNIQUE" && dedupedBefore(p, rel, cols)) {
				continue
			}
			name := k.Conname
			if name == "" {
				name = "(unnamed)"
			}
			msg := fmt.Sprintf("%s constraint %s on %s (%s) fails at deploy time if existing rows hold duplicate values.", kind, name, RelName(rel), strings.Join(cols, ", "))
			if vals, ok := sameDefault(p, rel, cols); ok {
				msg = sameDefaultMessage(kind+" constraint "+name, rel, cols, vals)
			}
			p.Report(msg, "", uniqueFix(rel, cols, kind))
		}
	},
}

func sameDefaultMessage(what string, rel *pg_query.RangeVar, cols, vals []string) string {
	return fmt.Sprintf("%s on %s (%s) fails at deploy time as soon as %s has two rows: %s just added with the same DEFAULT %s for every existing row.",
		what, RelName(rel), strings.Join(cols, ", "), RelName(rel), pluralize(len(cols), "the column was", "the columns were"), strings.Join(vals, ", "))
}

// indexColumns returns the key columns of an index; ok is false when one
// of them is an expression (its text is then given as "(expression)").
func indexColumns(params []*pg_query.Node) (cols []string, ok bool) {
	ok = true
	for _, n := range params {
		e := n.GetIndexElem()
		switch {
		case e == nil:
			continue
		case e.Name != "":
			cols = append(cols, e.Name)
		default:
			cols = append(cols, "("+exprSQL(e.Expr)+")")
			ok = false
		}
	}
	return cols, ok
}

// uniqueKeysKey is the State key of the unique keys known when the file
// started.
const uniqueKeysKey = "data-dependent-unique/keys"

// snapshotUniqueKeys records, at the file's first statement, the unique
// keys (column lists) that the tables on which the file adds a unique key
// had when the file started, keyed by the relation as the file names it:
// a unique index that the file drops before adding a constraint over the
// same columns still proves that the rows are unique. Only those tables
// are read: copying every unique key of the catalog for each such file
// made a history that creates tables quadratic (half of the CPU time of
// 8,000 generated migrations).
func snapshotUniqueKeys(p *Pass) {
	if p.State.Value(uniqueKeysKey) != nil {
		return
	}
	keys := map[string][][]string{}
	for _, rel := range uniqueKeyTargets(p.File) {
		k := RelKey(rel)
		if _, done := keys[k]; done {
			continue
		}
		var cols [][]string
		if t := p.State.Catalog.Table(rel); t != nil {
			for _, ix := range t.Indexes {
				if ix.Unique && len(ix.Columns) > 0 {
					cols = append(cols, ix.Columns)
				}
			}
		}
		keys[k] = cols
	}
	p.State.SetValue(uniqueKeysKey, keys)
}

// alreadyUnique reports whether a unique index (or UNIQUE / PRIMARY KEY
// constraint) on rel over some of cols is known, now or when the file
// started: the rows are then unique on cols already, as when a unique
// index is rebuilt under a new name or turned into a constraint.
func alreadyUnique(p *Pass, rel *pg_query.RangeVar, cols []string) bool {
	want := map[string]bool{}
	for _, c := range cols {
		want[strings.ToLower(c)] = true
	}
	covers := func(ix []string) bool {
		for _, c := range ix {
			if c == "" || !want[c] {
				return false
			}
		}
		return len(ix) > 0
	}
	if t := p.State.Catalog.Table(rel); t != nil {
		for _, ix := range t.Indexes {
			if ix.Unique && covers(ix.Columns) {
				return true
			}
		}
	}
	keys, _ := p.State.Value(uniqueKeysKey).(map[string][][]string)
	for _, name := range []string{RelKey(rel), strings.ToLower(rel.Relname)} {
		if rel.Schemaname != "" && rel.Schemaname != "public" && name == strings.ToLower(rel.Relname) {
			continue
		}
		for _, ix := range keys[name] {
			if covers(ix) {
				return true
			}
		}
	}
	return false
}

// addedColumn returns the definition of column col if an earlier statement
// of the file added it to rel with ALTER TABLE … ADD COLUMN, else nil.
func addedColumn(p *Pass, rel *pg_query.RangeVar, col string) *pg_query.ColumnDef {
	var found *pg_query.ColumnDef
	earlierStmt(p, func(n *pg_query.Node) bool {
		r, cmds := AlterCmds(n)
		if r == nil || RelKey(r) != RelKey(rel) {
			return false
		}
		for _, c := range cmds {
			if cd := c.GetDef().GetColumnDef(); c.Subtype == pg_query.AlterTableType_AT_AddColumn && cd != nil && strings.EqualFold(cd.Colname, col) {
				found = cd
			}
		}
		return false // keep the last one
	})
	return found
}

// cannotCollide reports whether the new unique key cannot meet duplicates in
// the existing rows because of how this file added its columns: one of them
// holds only NULLs (no default; NULLs never collide unless NULLS NOT
// DISTINCT), or gets a distinct value per row (identity, serial, a
// gen_random_uuid() or nextval() default).
func cannotCollide(p *Pass, rel *pg_query.RangeVar, cols []string, nullsNotDistinct bool) bool {
	for _, col := range cols {
		cd := addedColumn(p, rel, col)
		if cd == nil {
			continue
		}
		if columnConstraint(cd, pg_query.ConstrType_CONSTR_IDENTITY) != nil || strings.Contains(columnBaseType(cd.TypeName), "serial") {
			return true
		}
		if d := columnConstraint(cd, pg_query.ConstrType_CONSTR_DEFAULT); d != nil {
			if distinctPerRow(d.RawExpr) {
				return true
			}
			continue
		}
		if columnConstraint(cd, pg_query.ConstrType_CONSTR_GENERATED) == nil && !nullsNotDistinct {
			return true
		}
	}
	return false
}

// distinctPerRow reports whether a default gives every row its own value.
func distinctPerRow(e *pg_query.Node) bool {
	if tc := e.GetTypeCast(); tc != nil {
		return distinctPerRow(tc.Arg)
	}
	fc := e.GetFuncCall()
	if fc == nil || len(fc.Funcname) == 0 {
		return false
	}
	switch strings.ToLower(fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval()) {
	case "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4", "uuidv7", "nextval":
		return true
	}
	return false
}

// sameDefault returns the constant defaults when every column was added to
// rel earlier in the file with one: every existing row then holds the same
// key, so the build fails as soon as the table has two rows.
func sameDefault(p *Pass, rel *pg_query.RangeVar, cols []string) ([]string, bool) {
	if len(cols) == 0 {
		return nil, false
	}
	var vals []string
	for _, col := range cols {
		cd := addedColumn(p, rel, col)
		if cd == nil {
			return nil, false
		}
		d := columnConstraint(cd, pg_query.ConstrType_CONSTR_DEFAULT)
		if d == nil || !isConstant(d.RawExpr) {
			return nil, false
		}
		vals = append(vals, constText(d.RawExpr))
	}
	return vals, true
}

// constText renders a constant for a message.
func constText(e *pg_query.Node) string {
	if tc := e.GetTypeCast(); tc != nil {
		return constText(tc.Arg)
	}
	c := e.GetAConst()
	switch {
	case c == nil:
		return "(expression)"
	case c.GetSval() != nil:
		return sqlLiteral(c.GetSval().Sval)
	case c.GetIval() != nil:
		return strconv.Itoa(int(c.GetIval().Ival))
	case c.GetFval() != nil:
		return c.GetFval().Fval
	case c.GetBoolval() != nil:
		return strconv.FormatBool(c.GetBoolval().Boolval)
	case c.GetBsval() != nil:
		return c.GetBsval().Bsval
	}
	return "(constant)"
}

// isConstant reports whether an expression is a non-null literal, possibly
// cast ('x', 0, 'x'::text).
func isConstant(e *pg_query.Node) bool {
	if tc := e.GetTypeCast(); tc != nil {
		return isConstant(tc.Arg)
	}
	c := e.GetAConst()
	return c != nil && !c.Isnull
}

func uniqueFix(rel *pg_query.RangeVar, cols []string, kind string) string {
	t := relSQL(rel)
	var q []string
	simple := true
	for _, c := range cols {
		if strings.HasPrefix(c, "(") {
			simple = false
		}
		q = append(q, identSQL(c))
	}
	var b strings.Builder
	b.WriteString("Before the migration runs, look for duplicates in production")
	if simple {
		list := strings.Join(q, ", ")
		check := fmt.Sprintf("SELECT %s, count(*) FROM %s GROUP BY %s HAVING count(*) > 1 LIMIT 20;", list, t, list)
		if kind == "PRIMARY KEY" {
			check += fmt.Sprintf("\nSELECT count(*) FROM %s WHERE %s;", t, nullTest(q))
		}
		b.WriteString(":\n\n" + Indent(check) + "\n\n")
	} else {
		b.WriteString(" (GROUP BY the indexed expressions, HAVING count(*) > 1).\n\n")
	}
	b.WriteString("Resolve them in a separate, reviewed data migration. Then build the index without blocking writes, outside a transaction; " +
		"if it still fails it leaves an INVALID index, which DROP INDEX CONCURRENTLY removes")
	if simple && kind != "" {
		idx := identSQL(rel.Relname + "_" + strings.Join(cols, "_") + "_key")
		b.WriteString(", and attach it as the constraint:\n\n" + Indent(fmt.Sprintf(
			"CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (%s);\nALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s;",
			idx, t, strings.Join(q, ", "), t, idx, kind, idx)))
	} else {
		b.WriteString(".")
	}
	return b.String()
}

func nullTest(cols []string) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, c+" IS NULL")
	}
	return strings.Join(parts, " OR ")
}

// uniqueKeyTargets returns the relations on which the file's statements
// add a unique index or a UNIQUE / PRIMARY KEY constraint.
func uniqueKeyTargets(f *sqlparse.File) []*pg_query.RangeVar {
	var out []*pg_query.RangeVar
	for _, st := range f.Statements {
		if st.Node == nil {
			continue
		}
		if idx := st.Node.GetIndexStmt(); idx != nil {
			if idx.Unique && idx.Relation != nil {
				out = append(out, idx.Relation)
			}
			continue
		}
		rel, cmds := AlterCmds(st.Node)
		for _, c := range cmds {
			if k := c.GetDef().GetConstraint(); c.Subtype == pg_query.AlterTableType_AT_AddConstraint && k != nil &&
				(k.Contype == pg_query.ConstrType_CONSTR_UNIQUE || k.Contype == pg_query.ConstrType_CONSTR_PRIMARY) {
				out = append(out, rel)
				break
			}
		}
	}
	return out
}

// dedupedBefore reports whether an earlier statement of the file deletes
// duplicates of cols from the table: a DELETE on it that names every key
// column and reads the table a second time (USING the table, or a
// subquery over it, as in the usual "keep the row with the lowest id"
// forms). After such a DELETE the build does not depend on what the rows
// held before the migration.
func dedupedBefore(p *Pass, rel *pg_query.RangeVar, cols []string) bool {
	for _, st := range p.File.Statements {
		if st.Index >= p.Stmt.Index {
			break
		}
		if st.Part != p.Stmt.Part || st.Node == nil {
			continue
		}
		del := st.Node.GetDeleteStmt()
		if del == nil || del.Relation == nil || RelKey(del.Relation) != RelKey(rel) {
			continue
		}
		names := nodeNames(st.Node)
		all := true
		for _, c := range cols {
			all = all && names[strings.ToLower(c)]
		}
		again := 0
		walkNodes(st.Node, func(n *pg_query.Node) {
			if rv := n.GetRangeVar(); rv != nil && RelKey(rv) == RelKey(rel) {
				again++
			}
		})
		if all && again > 0 {
			return true
		}
	}
	return false
}
