package checks

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// This file holds the helpers of the compatibility and type rules: the
// column definitions a statement introduces, their types, and the names of
// objects in DROP/RENAME statements.

// colDef is a column a statement defines or retypes.
type colDef struct {
	// Table is the table the column belongs to.
	Table *pg_query.RangeVar
	Col   *pg_query.ColumnDef
	// Name is the column's name (ALTER COLUMN … TYPE leaves Col.Colname
	// empty).
	Name string
	// Kind is "create" (CREATE TABLE), "add" (ALTER TABLE … ADD COLUMN)
	// or "type" (ALTER TABLE … ALTER COLUMN … TYPE).
	Kind string
	// Stmt is the CREATE TABLE statement for Kind "create".
	Create *pg_query.CreateStmt
}

// columnDefs returns the columns that n creates or retypes. The pointers
// point into n, so a SafeSQL mutate func can call it on its copy and edit
// the columns in place.
func columnDefs(n *pg_query.Node) []colDef {
	var out []colDef
	if cs := n.GetCreateStmt(); cs != nil {
		for _, e := range cs.TableElts {
			if cd := e.GetColumnDef(); cd != nil && cd.TypeName != nil {
				out = append(out, colDef{Table: cs.Relation, Col: cd, Name: cd.Colname, Kind: "create", Create: cs})
			}
		}
		return out
	}
	rel, cmds := AlterCmds(n)
	for _, c := range cmds {
		cd := c.GetDef().GetColumnDef()
		if cd == nil || cd.TypeName == nil {
			continue
		}
		switch c.Subtype {
		case pg_query.AlterTableType_AT_AddColumn:
			out = append(out, colDef{Table: rel, Col: cd, Name: cd.Colname, Kind: "add"})
		case pg_query.AlterTableType_AT_AlterColumnType:
			out = append(out, colDef{Table: rel, Col: cd, Name: c.Name, Kind: "type"})
		}
	}
	return out
}

// columnBaseType is the lower-case name of a built-in type as the parser
// normalises it ("int4", "varchar", "timestamp", "serial", "json"), or the
// qualified name of any other type. Array types keep their element name;
// isArrayType tells them apart.
func columnBaseType(tn *pg_query.TypeName) string {
	if tn == nil {
		return ""
	}
	var parts []string
	for _, n := range tn.Names {
		parts = append(parts, strings.ToLower(n.GetString_().GetSval()))
	}
	switch {
	case len(parts) == 1:
		return parts[0]
	case len(parts) == 2 && parts[0] == "pg_catalog":
		return parts[1]
	}
	return strings.Join(parts, ".")
}

func isArrayType(tn *pg_query.TypeName) bool { return tn != nil && len(tn.ArrayBounds) > 0 }

// typeLabel is the type as a user would write it, for messages.
func typeLabel(tn *pg_query.TypeName) string {
	name := columnBaseType(tn)
	label := map[string]string{
		"int2": "smallint", "int4": "integer", "int8": "bigint", "bpchar": "char",
		"varchar": "varchar", "timestamp": "timestamp", "serial4": "serial",
		"serial2": "smallserial", "serial8": "bigserial", "float8": "double precision",
	}[name]
	if label == "" {
		label = name
	}
	var mods []string
	for _, m := range tn.Typmods {
		if c := m.GetAConst(); c != nil && c.GetIval() != nil {
			mods = append(mods, strconv.Itoa(int(c.GetIval().Ival)))
		}
	}
	if len(mods) > 0 {
		label += "(" + strings.Join(mods, ",") + ")"
	}
	if isArrayType(tn) {
		label += "[]"
	}
	return label
}

// builtinTypeName returns a TypeName for a pg_catalog type, as the parser
// produces for a keyword type (e.g. "int8", "jsonb", "timestamptz").
func builtinTypeName(name string, typmods ...*pg_query.Node) *pg_query.TypeName {
	names := []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(name)}
	switch name {
	case "jsonb", "text", "bigserial", "timestamptz":
		// The deparser prints pg_catalog.jsonb literally; these names are
		// not keywords, so they are written unqualified.
		names = names[1:]
	}
	return &pg_query.TypeName{Names: names, Typmods: typmods, Typemod: -1}
}

// columnConstraint reports whether a column definition carries a constraint
// of the given type.
func columnConstraint(cd *pg_query.ColumnDef, t pg_query.ConstrType) *pg_query.Constraint {
	for _, c := range cd.Constraints {
		if k := c.GetConstraint(); k != nil && k.Contype == t {
			return k
		}
	}
	return nil
}

// qualifiedName joins the String nodes of a qualified name ("public.orders").
func qualifiedName(items []*pg_query.Node) string {
	var parts []string
	for _, it := range items {
		if s := it.GetString_(); s != nil {
			parts = append(parts, s.Sval)
		}
	}
	return strings.Join(parts, ".")
}

// dropObjects returns the names of the objects of a DROP statement, each
// qualified as written.
func dropObjects(ds *pg_query.DropStmt) []string {
	var out []string
	for _, o := range ds.Objects {
		switch {
		case o.GetList() != nil:
			out = append(out, qualifiedName(o.GetList().Items))
		case o.GetString_() != nil:
			out = append(out, o.GetString_().Sval)
		case o.GetTypeName() != nil:
			out = append(out, qualifiedName(o.GetTypeName().Names))
		case o.GetObjectWithArgs() != nil:
			out = append(out, qualifiedName(o.GetObjectWithArgs().Objname))
		default:
			out = append(out, "(object)")
		}
	}
	return out
}

// rangeVarFromName turns a qualified name ("s.t") into a RangeVar, for State.IsNew.
func rangeVarFromName(qualified string) *pg_query.RangeVar {
	parts := strings.Split(qualified, ".")
	rv := &pg_query.RangeVar{Relname: parts[len(parts)-1]}
	if len(parts) > 1 {
		rv.Schemaname = parts[len(parts)-2]
	}
	return rv
}

// identSQL quotes an identifier when PostgreSQL needs it quoted.
func identSQL(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || (i > 0 && (r >= '0' && r <= '9' || r == '$'))) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// relSQL quotes a RangeVar's name for SQL text in a fix.
func relSQL(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	if rv.Schemaname != "" {
		return identSQL(rv.Schemaname) + "." + identSQL(rv.Relname)
	}
	return identSQL(rv.Relname)
}

// listNames lists names for a message: "a", "a and b", "a, b and c".
func listNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// pluralize returns one when n == 1, else many.
func pluralize(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// earlierStmt reports whether a statement before the current one in the file's
// up part satisfies match (for objects the migration itself created).
func earlierStmt(p *Pass, match func(n *pg_query.Node) bool) bool {
	for _, st := range p.File.Statements {
		if st == p.Stmt || st.Index >= p.Stmt.Index {
			break
		}
		if st.Part == p.Stmt.Part && st.Node != nil && match(st.Node) {
			return true
		}
	}
	return false
}

// laterStmt reports whether a statement after the current one in the file's up
// part satisfies match.
func laterStmt(p *Pass, match func(n *pg_query.Node) bool) bool {
	for _, st := range p.File.Statements {
		if st.Index <= p.Stmt.Index || st.Part != p.Stmt.Part || st.Node == nil {
			continue
		}
		if match(st.Node) {
			return true
		}
	}
	return false
}

// schemaCreated reports whether the migration created the schema earlier.
func schemaCreated(p *Pass, name string) bool {
	return earlierStmt(p, func(n *pg_query.Node) bool {
		cs := n.GetCreateSchemaStmt()
		return cs != nil && strings.EqualFold(cs.Schemaname, name)
	})
}

// typeCreated reports whether the migration created the (enum or other)
// type earlier; name is qualified as written.
func typeCreated(p *Pass, name string) bool {
	return earlierStmt(p, func(n *pg_query.Node) bool {
		var names []*pg_query.Node
		switch {
		case n.GetCreateEnumStmt() != nil:
			names = n.GetCreateEnumStmt().TypeName
		case n.GetCompositeTypeStmt() != nil:
			return strings.EqualFold(RelName(n.GetCompositeTypeStmt().Typevar), name)
		case n.GetCreateDomainStmt() != nil:
			names = n.GetCreateDomainStmt().Domainname
		default:
			return false
		}
		return strings.EqualFold(qualifiedName(names), name)
	})
}

// sqlLiteral quotes s as an SQL string literal.
func sqlLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// fixColumns returns the statement with edit applied to every column that
// match selects, deparsed (see SafeSQL); "" if it cannot be deparsed.
func fixColumns(p *Pass, match func(c colDef) bool, edit func(c colDef)) string {
	return SafeSQL(p.Node(), func(n *pg_query.Node) {
		for _, c := range columnDefs(n) {
			if match(c) {
				edit(c)
			}
		}
	})
}

// colNames lists "table.column" of columns for a message.
func colNames(cols []colDef) string {
	var names []string
	for _, c := range cols {
		names = append(names, RelName(c.Table)+"."+c.Name)
	}
	return listNames(names)
}

// columnTypeIs returns a match func for columns whose base type is one of names.
func columnTypeIs(names ...string) func(c colDef) bool {
	return func(c colDef) bool {
		t := columnBaseType(c.Col.TypeName)
		for _, n := range names {
			if t == n {
				return true
			}
		}
		return false
	}
}

// matchingColumns returns the columns of the current statement that match.
func matchingColumns(p *Pass, match func(c colDef) bool) []colDef {
	if !p.colsDone {
		p.cols, p.colsDone = columnDefs(p.Node()), true
	}
	var out []colDef
	for _, c := range p.cols {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

// setColumnType replaces a column's type, keeping its array bounds.
func setColumnType(cd *pg_query.ColumnDef, tn *pg_query.TypeName) {
	tn.ArrayBounds = cd.TypeName.ArrayBounds
	cd.TypeName = tn
}

// ruleOn reports whether rule id, one that is on by default, runs with
// these settings: rules that cover the same statement use it so that only
// one of them speaks. (It cannot consult the registry: a Check that refers
// to the rule list would be an initialization cycle.)
func ruleOn(p *Pass, id string) bool { return !p.Settings.Disabled[id] }
