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
		"again for every table whose foreign key points at it. bigint costs 4 more bytes per row, often none after alignment.",
	Fix:     "Declare ids bigint from the start: `bigint GENERATED ALWAYS AS IDENTITY` for keys, `bigint` for the columns that reference them.",
	DocsURL: "https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-INT",
	Check: func(p *Pass) {
		cols := matchingColumns(p, isSmallID)
		if len(cols) == 0 {
			return
		}
		identity := p.Settings.PGVersion.AtLeast(10, 0)
		safe := fixColumns(p, isSmallID, func(c colDef) {
			if !strings.Contains(columnBaseType(c.Col.TypeName), "serial") {
				setColumnType(c.Col, builtinTypeName("int8"))
			} else if identity {
				makeIdentity(c.Col) // as serial-not-identity advises
			} else {
				setColumnType(c.Col, builtinTypeName("bigserial"))
			}
		})
		fix := p.Rule().Fix
		if safe != "" {
			fix = "Use bigint now, while the table is small:\n\n" + Indent(safe)
		}
		var parts []string
		for _, c := range cols {
			parts = append(parts, fmt.Sprintf("%s.%s (%s)", RelName(c.Table), c.Name, typeLabel(c.Col.TypeName)))
		}
		p.Report(fmt.Sprintf("Id %s %s can run out of values; use bigint.", pluralize(len(cols), "column", "columns"), listNames(parts)), "", fix)
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
	if c.Create == nil {
		return false
	}
	for _, e := range c.Create.TableElts {
		k := e.GetConstraint()
		if k == nil {
			continue
		}
		var cols []*pg_query.Node
		switch k.Contype {
		case pg_query.ConstrType_CONSTR_PRIMARY:
			cols = k.Keys
		case pg_query.ConstrType_CONSTR_FOREIGN:
			cols = k.FkAttrs
		}
		for _, n := range cols {
			if strings.EqualFold(n.GetString_().GetSval(), c.Name) {
				return true
			}
		}
	}
	return false
}
