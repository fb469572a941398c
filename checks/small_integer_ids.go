package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var smallIntegerIDs = &Rule{
	ID:       "small-integer-ids",
	Group:    "types",
	Severity: Warning,
	Summary:  "A primary key, identity, serial or foreign-key column of type integer or smallint.",
	Why: "integer ends at 2,147,483,647 and smallint at 32,767. Ids only grow (rolled-back inserts and sequence caching burn values too): " +
		"when the sequence reaches the limit every INSERT fails (\"nextval: reached maximum value of sequence\", 2200H, or \"integer out of range\", 22003), " +
		"and the repair — ALTER COLUMN … TYPE bigint — rewrites the table and every index under ACCESS EXCLUSIVE, then the same " +
		"again for every table whose foreign key points at it. A foreign-key column narrower than the bigint key it references " +
		"fails the same way once the parent's ids pass its range. bigint costs 4 more bytes per row, often none after alignment.",
	Fix:     "Declare ids bigint from the start: `bigint GENERATED ALWAYS AS IDENTITY` for keys, `bigint` for the columns that reference them.",
	DocsURL: "https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-INT",
	Check: func(p *Pass) {
		match := func(c colDef) bool { return isSmallID(c) && !referencesSmallKey(p, c) }
		if cols := matchingColumns(p, match); len(cols) > 0 {
			identity := p.Settings.PGVersion.AtLeast(10, 0)
			var edits []columnEdit
			for _, c := range cols {
				typ := "bigint"
				if strings.Contains(columnBaseType(c.Col.TypeName), "serial") {
					typ = "bigserial"
					if identity {
						typ = "bigint GENERATED ALWAYS AS IDENTITY" // as serial-not-identity advises
					}
				}
				edits = append(edits, columnEdit{col: c, typ: typ})
			}
			safe, text := columnFixSQL(p, edits, func() string {
				return fixColumns(p, match, func(c colDef) {
					if !strings.Contains(columnBaseType(c.Col.TypeName), "serial") {
						setColumnType(c.Col, builtinTypeName("int8"))
					} else if identity {
						makeIdentity(c.Col) // as serial-not-identity advises
					} else {
						setColumnType(c.Col, builtinTypeName("bigserial"))
					}
				})
			})
			fix := p.Rule().Fix
			if safe != "" {
				fix = "Use bigint now, while the table is small:\n\n" + Indent(safe)
			}
			var parts []string
			for _, c := range cols {
				label := typeLabel(c.Col.TypeName)
				if parent := bigintParent(p, c); parent != "" {
					label += ", referencing bigint " + parent
				}
				parts = append(parts, fmt.Sprintf("%s.%s (%s)", RelName(c.Table), c.Name, label))
			}
			p.Report(fmt.Sprintf("Id %s %s can run out of values; use bigint.", pluralize(len(cols), "column", "columns"), listNames(parts)), "", fix)
			if text {
				p.offerColumnFix(safe, edits)
			}
		}
		narrowForeignKeys(p)
	},
}

// isSmallID reports whether a column is a 16/32-bit id: a serial/smallserial
// column, or an integer/smallint column that is a primary key, an identity
// or a foreign key.
func isSmallID(c colDef) bool {
	if c.Kind == "type" || isArrayType(c.Col.TypeName) {
		return false
	}
	switch columnBaseType(c.Col.TypeName) {
	case "serial", "serial4", "smallserial", "serial2":
		return true
	case "int4", "int2", "integer", "smallint", "int":
	default:
		return false
	}
	if columnConstraint(c.Col, pg_query.ConstrType_CONSTR_PRIMARY) != nil || columnConstraint(c.Col, pg_query.ConstrType_CONSTR_IDENTITY) != nil ||
		columnConstraint(c.Col, pg_query.ConstrType_CONSTR_FOREIGN) != nil {
		return true
	}
	return len(tableConstraintsOn(c, pg_query.ConstrType_CONSTR_PRIMARY))+len(tableConstraintsOn(c, pg_query.ConstrType_CONSTR_FOREIGN)) > 0
}

// tableConstraintsOn returns the table constraints of c's CREATE TABLE of
// type t that include the column (PRIMARY KEY keys, FOREIGN KEY columns).
func tableConstraintsOn(c colDef, t pg_query.ConstrType) []*pg_query.Constraint {
	if c.Create == nil {
		return nil
	}
	var out []*pg_query.Constraint
	for _, e := range c.Create.TableElts {
		k := e.GetConstraint()
		if k == nil || k.Contype != t {
			continue
		}
		cols := k.Keys
		if t == pg_query.ConstrType_CONSTR_FOREIGN {
			cols = k.FkAttrs
		}
		for _, n := range cols {
			if strings.EqualFold(n.GetString_().GetSval(), c.Name) {
				out = append(out, k)
			}
		}
	}
	return out
}

// referencesSmallKey reports whether c is only an id because it is a
// foreign key, and the key it references is known (from the catalog) to be
// 16 or 32 bits as well: the column has to match it, and the parent's own
// key is where the problem was (or will be) reported.
func referencesSmallKey(p *Pass, c colDef) bool {
	if columnConstraint(c.Col, pg_query.ConstrType_CONSTR_PRIMARY) != nil || columnConstraint(c.Col, pg_query.ConstrType_CONSTR_IDENTITY) != nil ||
		strings.Contains(columnBaseType(c.Col.TypeName), "serial") || len(tableConstraintsOn(c, pg_query.ConstrType_CONSTR_PRIMARY)) > 0 {
		return false
	}
	var fks []*pg_query.Constraint
	var pos []int
	if k := columnConstraint(c.Col, pg_query.ConstrType_CONSTR_FOREIGN); k != nil {
		fks, pos = append(fks, k), append(pos, 0)
	}
	for _, k := range tableConstraintsOn(c, pg_query.ConstrType_CONSTR_FOREIGN) {
		for i, n := range k.FkAttrs {
			if strings.EqualFold(n.GetString_().GetSval(), c.Name) {
				fks, pos = append(fks, k), append(pos, i)
			}
		}
	}
	if len(fks) == 0 {
		return false
	}
	for i, k := range fks {
		switch referencedType(p, k, pos[i]) {
		case "int4", "int2", "serial4", "serial2":
		default:
			return false
		}
	}
	return true
}

// bigintParent names the bigint key a foreign-key column references, when
// the catalog knows it ("orders.id"), else "".
func bigintParent(p *Pass, c colDef) string {
	k := columnConstraint(c.Col, pg_query.ConstrType_CONSTR_FOREIGN)
	pos := 0
	if k == nil {
		for _, tk := range tableConstraintsOn(c, pg_query.ConstrType_CONSTR_FOREIGN) {
			for i, n := range tk.FkAttrs {
				if strings.EqualFold(n.GetString_().GetSval(), c.Name) {
					k, pos = tk, i
				}
			}
		}
	}
	if k == nil {
		return ""
	}
	if t := referencedType(p, k, pos); t != "int8" && t != "serial8" {
		return ""
	}
	col := "key"
	if pos < len(k.PkAttrs) {
		col = k.PkAttrs[pos].GetString_().GetSval()
	}
	return RelName(k.Pktable) + "." + col
}

// referencedType is the canonical type of the i-th column a foreign key
// references, from the catalog; "" when unknown.
func referencedType(p *Pass, k *pg_query.Constraint, i int) string {
	t := p.State.Catalog.Table(k.Pktable)
	if t == nil {
		return ""
	}
	var cols []string
	for _, n := range k.PkAttrs {
		cols = append(cols, n.GetString_().GetSval())
	}
	if len(cols) == 0 { // REFERENCES parent: its primary key
		for _, con := range t.Constraints {
			if con.Type == pg_query.ConstrType_CONSTR_PRIMARY {
				cols = con.Columns
			}
		}
	}
	if i >= len(cols) {
		return ""
	}
	col := t.Column(cols[i])
	if col == nil || col.Type == nil {
		return ""
	}
	return CanonicalType(col.Type)
}

// narrowForeignKeys reports ALTER TABLE … ADD FOREIGN KEY whose columns are
// known to be integer or smallint while the key they reference is bigint.
func narrowForeignKeys(p *Pass) {
	rel, cmds := p.AlterCmds()
	child := p.State.Catalog.Table(rel)
	if child == nil {
		return
	}
	for _, c := range cmds {
		k := c.GetDef().GetConstraint()
		if c.Subtype != pg_query.AlterTableType_AT_AddConstraint || k == nil || k.Contype != pg_query.ConstrType_CONSTR_FOREIGN {
			continue
		}
		for i, n := range k.FkAttrs {
			col := child.Column(n.GetString_().GetSval())
			if col == nil || col.Type == nil {
				continue
			}
			ct, pt := CanonicalType(col.Type), referencedType(p, k, i)
			if (ct != "int4" && ct != "int2") || (pt != "int8" && pt != "serial8") {
				continue
			}
			alter := fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE bigint;", relSQL(rel), identSQL(col.Name))
			fix := "Widen the column to match the key it references:\n\n" + Indent(alter)
			if !p.State.IsNew(rel) {
				fix += "\n\nOn a large table this rewrites it under ACCESS EXCLUSIVE; instead add a bigint column, fill it in batches, " +
					"and swap it in (expand/contract) before the parent's ids leave the integer range."
			}
			p.Report(fmt.Sprintf("Foreign-key column %s.%s (%s) references a bigint key of %s: inserts fail once its ids pass %s.",
				RelName(rel), col.Name, typeLabel(col.Type), RelName(k.Pktable), map[string]string{"int4": "2,147,483,647", "int2": "32,767"}[ct]), "", fix)
		}
	}
}
