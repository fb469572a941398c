package checks

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Catalog is the schema as the reviewed migrations built it, across all the
// files of a run in the order the tool applies them: tables with their
// columns (type, nullability), indexes and constraints. Rules use it for
// facts that the statement alone does not give: the current type of a
// column whose type changes, whether primary-key columns are nullable,
// whether a foreign key has an index, whether a validated CHECK (c IS NOT
// NULL) exists. A table the migrations never mention is unknown (nil), and
// rules must not guess about it.
type Catalog struct {
	Tables map[string]*Table
	// indexOwner maps a lower-case index name to the table that has it,
	// so that DROP INDEX and REINDEX find the table without walking every
	// table (which made a long migration history quadratic).
	indexOwner map[string]*Table
}

// Table is one table of the Catalog.
type Table struct {
	Name    string
	Columns map[string]*Column
	// Indexes are the indexes on the table, including those behind
	// primary keys and unique constraints.
	Indexes map[string]*Index
	// Constraints by lower-case name.
	Constraints map[string]*Constraint
	// PartitionKey lists the key columns of a partitioned table
	// (PARTITION BY … (col, …)); "" for an expression.
	PartitionKey []string
	// Stats is the table's size in a live database (--schema-dsn), nil
	// when unknown: the migrations created the table, or no database was
	// read. Size-aware rules read it; it follows the table through
	// renames and is dropped with it.
	Stats *TableStats
}

// TableStats is what a live database says of a table's size, read from
// its statistics (pg_class, pg_table_size, pg_indexes_size): enough for a
// verdict that depends on size (a rewrite of 10 rows is not an outage; of
// 100 GB it is). The figures are estimates as of the last VACUUM or
// ANALYZE.
type TableStats struct {
	// Bytes is pg_table_size: heap, TOAST, free space and visibility maps.
	Bytes int64
	// IndexBytes is pg_indexes_size: every index of the table.
	IndexBytes int64
	// Rows is pg_class.reltuples, the planner's row estimate; -1 when
	// the table was never vacuumed or analysed (PostgreSQL 14+ says -1).
	Rows int64
}

// String renders the stats for a finding: "2.3 GB, ~41,000,000 rows".
func (s TableStats) String() string {
	out := FormatBytes(s.Bytes)
	if s.Rows >= 0 {
		out += ", ~" + groupDigits(s.Rows) + " rows"
	} else {
		out += ", rows unknown (never analysed)"
	}
	return out
}

// FormatBytes renders a byte count with a binary unit (kB, MB, GB, TB, as
// pg_size_pretty does).
func FormatBytes(n int64) string {
	units := []string{"bytes", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i]
}

func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// SetStats records the live size of the table named by rv; false when
// the catalog does not know the table.
func (c *Catalog) SetStats(rv *pg_query.RangeVar, s TableStats) bool {
	t := c.Table(rv)
	if t == nil {
		return false
	}
	t.Stats = &s
	return true
}

// Column is one column of a Table.
type Column struct {
	Name    string
	Type    *pg_query.TypeName
	NotNull bool
}

// Index is one index of a Table.
type Index struct {
	Name    string
	Columns []string // key columns, lower case; "" for an expression
	Unique  bool
}

// Constraint is one constraint of a Table.
type Constraint struct {
	Name string
	Type pg_query.ConstrType
	// Validated is false for a NOT VALID constraint not yet validated.
	Validated bool
	// NotNull lists the columns the constraint proves non-null (a CHECK
	// whose expression is c IS NOT NULL, or an AND containing it).
	NotNull []string
	// Columns are the constrained (referencing) columns.
	Columns []string
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{Tables: map[string]*Table{}, indexOwner: map[string]*Table{}}
}

// putIndex records an index of t.
func (c *Catalog) putIndex(t *Table, ix *Index) {
	key := strings.ToLower(ix.Name)
	t.Indexes[key] = ix
	if c.indexOwner == nil {
		c.indexOwner = map[string]*Table{}
	}
	c.indexOwner[key] = t
}

// dropIndex forgets index name (any case) of t.
func (c *Catalog) dropIndex(t *Table, name string) {
	key := strings.ToLower(name)
	delete(t.Indexes, key)
	if c.indexOwner[key] == t {
		delete(c.indexOwner, key)
	}
}

// dropTable forgets a table under key and the index names it owned.
func (c *Catalog) dropTable(key string) {
	t := c.Tables[key]
	if t == nil {
		return
	}
	delete(c.Tables, key)
	for k := range t.Indexes {
		if c.indexOwner[k] == t {
			delete(c.indexOwner, k)
		}
	}
}

// Table returns the table named by rv, or nil when the migrations have not
// created it.
func (c *Catalog) Table(rv *pg_query.RangeVar) *Table {
	if c == nil || rv == nil {
		return nil
	}
	if t := c.Tables[RelKey(rv)]; t != nil {
		return t
	}
	if rv.Schemaname == "public" || rv.Schemaname == "" {
		return c.Tables[strings.ToLower(rv.Relname)]
	}
	return nil
}

// Column returns a column of the table, or nil.
func (t *Table) Column(name string) *Column {
	if t == nil {
		return nil
	}
	return t.Columns[strings.ToLower(name)]
}

// ProvedNotNull reports whether a validated CHECK constraint proves the
// column non-null.
func (t *Table) ProvedNotNull(col string) bool {
	if t == nil {
		return false
	}
	for _, c := range t.Constraints {
		if !c.Validated || c.Type != pg_query.ConstrType_CONSTR_CHECK {
			continue
		}
		for _, n := range c.NotNull {
			if n == strings.ToLower(col) {
				return true
			}
		}
	}
	return false
}

// HasIndexLeading reports whether an index on the table has cols (in any
// order) as its leading key columns.
func (t *Table) HasIndexLeading(cols []string) bool {
	if t == nil {
		return false
	}
	for _, ix := range t.Indexes {
		if leadingCover(ix.Columns, cols) {
			return true
		}
	}
	return false
}

func leadingCover(index, cols []string) bool {
	if len(cols) == 0 || len(index) < len(cols) {
		return false
	}
	want := map[string]bool{}
	for _, c := range cols {
		want[strings.ToLower(c)] = true
	}
	for _, c := range index[:len(cols)] {
		if !want[c] {
			return false
		}
	}
	return true
}

// apply records the effect of one statement.
func (c *Catalog) apply(n *pg_query.Node) {
	if c == nil || n == nil {
		return
	}
	switch s := n.Node.(type) {
	case *pg_query.Node_CreateStmt:
		c.createTable(s.CreateStmt)
	case *pg_query.Node_AlterTableStmt:
		if s.AlterTableStmt.Objtype != pg_query.ObjectType_OBJECT_TABLE {
			return
		}
		t := c.Table(s.AlterTableStmt.Relation)
		if t == nil {
			return
		}
		for _, cmd := range s.AlterTableStmt.Cmds {
			if ac := cmd.GetAlterTableCmd(); ac != nil {
				c.alter(t, ac)
			}
		}
	case *pg_query.Node_IndexStmt:
		t := c.Table(s.IndexStmt.Relation)
		if t == nil {
			return
		}
		name := s.IndexStmt.Idxname
		if name == "" {
			name = t.Name + "_" + strings.Join(indexCols(s.IndexStmt.IndexParams), "_") + "_idx"
		}
		c.putIndex(t, &Index{Name: name, Columns: indexCols(s.IndexStmt.IndexParams), Unique: s.IndexStmt.Unique})
	case *pg_query.Node_DropStmt:
		for _, o := range s.DropStmt.Objects {
			names := nameList(o)
			if len(names) == 0 {
				continue
			}
			switch s.DropStmt.RemoveType {
			case pg_query.ObjectType_OBJECT_TABLE:
				c.dropTable(strings.ToLower(strings.Join(names, ".")))
				c.dropTable(strings.ToLower(names[len(names)-1]))
			case pg_query.ObjectType_OBJECT_INDEX:
				if t := c.IndexTable(names); t != nil {
					c.dropIndex(t, names[len(names)-1])
				}
			}
		}
	case *pg_query.Node_RenameStmt:
		r := s.RenameStmt
		if r.RenameType == pg_query.ObjectType_OBJECT_INDEX || r.RenameType == pg_query.ObjectType_OBJECT_TABLE {
			// ALTER INDEX … RENAME, or ALTER TABLE … RENAME naming an index.
			if it := c.IndexTable(rangeVarNames(r.Relation)); it != nil {
				if ix := it.Indexes[strings.ToLower(r.Relation.Relname)]; ix != nil {
					c.dropIndex(it, ix.Name)
					ix.Name = r.Newname
					c.putIndex(it, ix)
				}
				return
			}
		}
		t := c.Table(r.Relation)
		if t == nil {
			return
		}
		switch r.RenameType {
		case pg_query.ObjectType_OBJECT_TABLE:
			delete(c.Tables, RelKey(r.Relation))
			delete(c.Tables, strings.ToLower(r.Relation.Relname))
			t.Name = r.Newname
			key := strings.ToLower(r.Newname)
			if r.Relation.Schemaname != "" && r.Relation.Schemaname != "public" {
				key = strings.ToLower(r.Relation.Schemaname) + "." + key
			}
			c.Tables[key] = t
		case pg_query.ObjectType_OBJECT_COLUMN:
			if col := t.Column(r.Subname); col != nil {
				delete(t.Columns, strings.ToLower(r.Subname))
				col.Name = r.Newname
				t.Columns[strings.ToLower(r.Newname)] = col
			}
		}
	}
}

func (c *Catalog) createTable(cs *pg_query.CreateStmt) {
	if cs.Relation == nil {
		return
	}
	t := &Table{Name: RelName(cs.Relation), Columns: map[string]*Column{}, Indexes: map[string]*Index{}, Constraints: map[string]*Constraint{}}
	for _, el := range cs.TableElts {
		switch e := el.Node.(type) {
		case *pg_query.Node_ColumnDef:
			c.addColumn(t, e.ColumnDef)
		case *pg_query.Node_Constraint:
			c.addConstraint(t, e.Constraint, "")
		}
	}
	if cs.Partspec != nil {
		for _, pe := range cs.Partspec.PartParams {
			if e := pe.GetPartitionElem(); e != nil {
				t.PartitionKey = append(t.PartitionKey, strings.ToLower(e.Name))
			}
		}
	}
	key := RelKey(cs.Relation)
	if cs.Relation.Schemaname == "public" {
		key = strings.ToLower(cs.Relation.Relname)
	}
	c.dropTable(key) // a table created again replaces the old one, indexes and all
	c.Tables[key] = t
}

func (c *Catalog) addColumn(t *Table, cd *pg_query.ColumnDef) {
	col := &Column{Name: cd.Colname, Type: cd.TypeName, NotNull: cd.IsNotNull}
	t.Columns[strings.ToLower(cd.Colname)] = col
	for _, cn := range cd.Constraints {
		con := cn.GetConstraint()
		if con == nil {
			continue
		}
		switch con.Contype {
		case pg_query.ConstrType_CONSTR_NOTNULL, pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_IDENTITY:
			col.NotNull = true
		}
		c.addConstraint(t, con, cd.Colname)
	}
	if cd.TypeName != nil && isSerial(cd.TypeName) {
		// serial is integer with a sequence default: its type is the integer.
		col.NotNull = true
		col.Type = &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(strings.Replace(CanonicalType(cd.TypeName), "serial", "int", 1))}}
	}
}

func (c *Catalog) alter(t *Table, ac *pg_query.AlterTableCmd) {
	switch ac.Subtype {
	case pg_query.AlterTableType_AT_AddColumn:
		if cd := ac.Def.GetColumnDef(); cd != nil {
			c.addColumn(t, cd)
		}
	case pg_query.AlterTableType_AT_DropColumn:
		delete(t.Columns, strings.ToLower(ac.Name))
	case pg_query.AlterTableType_AT_AlterColumnType:
		if col := t.Column(ac.Name); col != nil {
			if cd := ac.Def.GetColumnDef(); cd != nil && cd.TypeName != nil {
				col.Type = cd.TypeName
			}
		}
	case pg_query.AlterTableType_AT_SetNotNull:
		if col := t.Column(ac.Name); col != nil {
			col.NotNull = true
		}
	case pg_query.AlterTableType_AT_DropNotNull:
		if col := t.Column(ac.Name); col != nil {
			col.NotNull = false
		}
	case pg_query.AlterTableType_AT_AddConstraint:
		if con := ac.Def.GetConstraint(); con != nil {
			c.addConstraint(t, con, "")
		}
	case pg_query.AlterTableType_AT_ValidateConstraint:
		if con := t.Constraints[strings.ToLower(ac.Name)]; con != nil {
			con.Validated = true
		}
	case pg_query.AlterTableType_AT_DropConstraint:
		delete(t.Constraints, strings.ToLower(ac.Name))
		c.dropIndex(t, ac.Name)
	}
}

// addConstraint records a table constraint, or a column constraint of
// column col.
func (c *Catalog) addConstraint(t *Table, con *pg_query.Constraint, col string) {
	cols := stringList(con.Keys)
	if con.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
		cols = stringList(con.FkAttrs)
	}
	if len(cols) == 0 && col != "" {
		cols = []string{strings.ToLower(col)}
	}
	name := con.Conname
	switch con.Contype {
	case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE:
		if name == "" {
			if con.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
				name = DefaultConstraintName(t.Name, nil, "_pkey") // PostgreSQL: <table>_pkey
			} else {
				name = DefaultConstraintName(t.Name, cols, "_key")
			}
		}
		if con.Indexname != "" {
			if ix := t.Indexes[strings.ToLower(con.Indexname)]; ix != nil {
				cols = ix.Columns
				c.dropIndex(t, con.Indexname)
				if con.Conname == "" {
					name = con.Indexname
				}
			}
		}
		c.putIndex(t, &Index{Name: name, Columns: cols, Unique: true})
		if con.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
			for _, k := range cols {
				if c := t.Column(k); c != nil {
					c.NotNull = true
				}
			}
		}
	case pg_query.ConstrType_CONSTR_CHECK:
		if name == "" {
			name = DefaultConstraintName(t.Name, cols, "_check")
		}
	case pg_query.ConstrType_CONSTR_FOREIGN:
		if name == "" {
			name = DefaultConstraintName(t.Name, cols, "_fkey")
		}
	case pg_query.ConstrType_CONSTR_EXCLUSION:
		if name == "" {
			name = DefaultConstraintName(t.Name, cols, "_excl")
		}
	default:
		return
	}
	k := &Constraint{Name: name, Type: con.Contype, Validated: !con.SkipValidation, Columns: cols}
	if con.Contype == pg_query.ConstrType_CONSTR_CHECK {
		k.NotNull = notNullColumns(con.RawExpr)
	}
	t.Constraints[strings.ToLower(name)] = k
}

// DefaultConstraintName is the name PostgreSQL gives an unnamed constraint
// (ChooseConstraintName: table_col1_col2_suffix, cut to 63 bytes).
func DefaultConstraintName(table string, cols []string, suffix string) string {
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		table = table[i+1:]
	}
	parts := append([]string{table}, cols...)
	name := strings.Join(parts, "_") + suffix
	if len(name) > 63 {
		name = name[:63-len(suffix)] + suffix
	}
	return name
}

// notNullColumns returns the columns that an expression proves non-null:
// c IS NOT NULL, alone or inside an AND.
func notNullColumns(e *pg_query.Node) []string {
	if e == nil {
		return nil
	}
	if nt := e.GetNullTest(); nt != nil && nt.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL {
		if cr := nt.Arg.GetColumnRef(); cr != nil {
			f := stringList(cr.Fields)
			if len(f) > 0 {
				return []string{f[len(f)-1]}
			}
		}
		return nil
	}
	if b := e.GetBoolExpr(); b != nil && b.Boolop == pg_query.BoolExprType_AND_EXPR {
		var out []string
		for _, a := range b.Args {
			out = append(out, notNullColumns(a)...)
		}
		return out
	}
	return nil
}

// indexCols returns the key columns of an index (lower case; "" for
// expressions).
func indexCols(params []*pg_query.Node) []string {
	var out []string
	for _, p := range params {
		ie := p.GetIndexElem()
		if ie == nil {
			continue
		}
		out = append(out, strings.ToLower(ie.Name))
	}
	return out
}

// stringList returns the String values of a list of nodes (column names,
// qualified names), lower-cased.
func stringList(ns []*pg_query.Node) []string {
	var out []string
	for _, n := range ns {
		if s := n.GetString_(); s != nil {
			out = append(out, strings.ToLower(s.Sval))
		}
	}
	return out
}

// nameList returns the parts of a qualified name in a DROP statement's
// object list.
func nameList(n *pg_query.Node) []string {
	if l := n.GetList(); l != nil {
		var out []string
		for _, i := range l.Items {
			if s := i.GetString_(); s != nil {
				out = append(out, s.Sval)
			}
		}
		return out
	}
	if s := n.GetString_(); s != nil {
		return []string{s.Sval}
	}
	return nil
}

// TypeNameString is the type's name as written, lower case, without
// pg_catalog and without modifiers ("varchar", "timestamptz", "int8").
func TypeNameString(tn *pg_query.TypeName) string {
	if tn == nil {
		return ""
	}
	names := stringList(tn.Names)
	if len(names) > 1 && names[0] == "pg_catalog" {
		names = names[1:]
	}
	return strings.Join(names, ".")
}

// typeAliases maps SQL spellings to PostgreSQL's internal type names.
var typeAliases = map[string]string{
	"character varying": "varchar", "character": "bpchar", "char": "bpchar",
	"int": "int4", "integer": "int4", "smallint": "int2", "bigint": "int8",
	"real": "float4", "double precision": "float8", "float": "float8",
	"decimal": "numeric", "boolean": "bool", "bit varying": "varbit",
	"timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
	"time without time zone": "time", "time with time zone": "timetz",
	"serial": "serial4", "bigserial": "serial8", "smallserial": "serial2",
}

// typeDisplay names internal type names the way SQL usually spells them.
var typeDisplay = map[string]string{
	"int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real", "float8": "double precision",
	"bool": "boolean", "bpchar": "char",
}

// CanonicalType returns the internal name of a type ("int4", "varchar",
// "timestamptz").
func CanonicalType(tn *pg_query.TypeName) string {
	s := TypeNameString(tn)
	if a, ok := typeAliases[s]; ok {
		return a
	}
	return s
}

// typmods returns the integer type modifiers (varchar(10) → [10],
// numeric(10,2) → [10 2]); ok is false when a modifier is not a constant.
func typmods(tn *pg_query.TypeName) ([]int32, bool) {
	var out []int32
	for _, m := range tn.Typmods {
		c := m.GetAConst()
		if c == nil || c.GetIval() == nil {
			return nil, false
		}
		out = append(out, c.GetIval().Ival)
	}
	return out, true
}

// isSerial reports whether the type is serial, bigserial or smallserial.
func isSerial(tn *pg_query.TypeName) bool {
	switch CanonicalType(tn) {
	case "serial4", "serial8", "serial2":
		return len(tn.Names) == 1
	}
	return false
}

// TypeSQL renders a type as SQL ("varchar(20)", "numeric(12,2)").
func TypeSQL(tn *pg_query.TypeName) string {
	if tn == nil {
		return ""
	}
	s := TypeNameString(tn)
	if d, ok := typeDisplay[s]; ok {
		s = d
	}
	if m, ok := typmods(tn); ok && len(m) > 0 {
		var parts []string
		for _, v := range m {
			parts = append(parts, strconv.Itoa(int(v)))
		}
		s += "(" + strings.Join(parts, ",") + ")"
	}
	if len(tn.ArrayBounds) > 0 {
		s += "[]"
	}
	return s
}
