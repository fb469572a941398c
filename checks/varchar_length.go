package checks

import (
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

var varcharLength = &Rule{
	ID:       "varchar-length",
	Group:    "types",
	Severity: Info,
	Summary:  "A column of type varchar(n).",
	Why: "In PostgreSQL varchar(n) has no speed or storage advantage over text; the n is a business rule baked into the type. " +
		"Raising it later is a catalog-only change but still takes ACCESS EXCLUSIVE on the table; lowering it rewrites the table " +
		"and its indexes under ACCESS EXCLUSIVE. A CHECK constraint expresses the same rule and can be replaced without either: " +
		"add the new one NOT VALID, VALIDATE it (SHARE UPDATE EXCLUSIVE), drop the old.",
	Fix:     "Use text with CHECK (char_length(col) <= n).",
	DocsURL: "https://www.postgresql.org/docs/current/datatype-character.html",
	Check: func(p *Pass) {
		match := func(c colDef) bool {
			return columnTypeIs("varchar")(c) && len(c.Col.TypeName.Typmods) > 0 && !widensVarchar(p, c)
		}
		cols := matchingColumns(p, match)
		if len(cols) == 0 {
			return
		}
		fix, offer := textWithCheck(p, match, p.Rule().Fix)
		var parts []string
		for _, c := range cols {
			parts = append(parts, fmt.Sprintf("%s.%s (%s)", RelName(c.Table), c.Name, typeLabel(c.Col.TypeName)))
		}
		p.Report(fmt.Sprintf("%s %s %s a length limit in the type; text with a CHECK constraint is easier to change later.",
			pluralize(len(cols), "Column", "Columns"), listNames(parts), pluralize(len(cols), "puts", "put")), "", fix)
		offer()
	},
}

// widensVarchar reports whether c raises the limit of a column the catalog
// knows as varchar(n): that change is catalog-only, and the column's type
// was already reported when it was created.
func widensVarchar(p *Pass, c colDef) bool {
	if c.Kind != "type" {
		return false
	}
	col := p.State.Catalog.Table(c.Table).Column(c.Name)
	if col == nil || col.Type == nil || CanonicalType(col.Type) != "varchar" {
		return false
	}
	old := firstTypmod(col.Type)
	return old > 0 && firstTypmod(c.Col.TypeName) >= old
}

// textWithCheck builds the fix of char-n and varchar-length: the columns
// become text, and their length limit a CHECK constraint — inline for a
// new table, NOT VALID + VALIDATE for an existing one. When the fix is
// the CREATE TABLE's own text edited, offer reports it to the runner
// (offerColumnFix) once the finding is reported.
func textWithCheck(p *Pass, match func(c colDef) bool, fallback string) (fix string, offer func()) {
	offer = func() {}
	var extra []string
	cols := matchingColumns(p, match)
	for _, c := range cols {
		limit := firstTypmod(c.Col.TypeName)
		if limit <= 0 || isArrayType(c.Col.TypeName) || c.Kind == "create" {
			continue
		}
		t := relSQL(c.Table)
		name := identSQL(c.Table.Relname + "_" + c.Name + "_length")
		extra = append(extra, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (char_length(%s) <= %d) NOT VALID;\n"+
			"ALTER TABLE %s VALIDATE CONSTRAINT %s;  -- separate transaction, SHARE UPDATE EXCLUSIVE", t, name, identSQL(c.Name), limit, t, name))
	}
	// The statement's own text with the types replaced, else the tree
	// deparsed with the same change.
	safe, ok := textTypeFix(p.Stmt, cols)
	if ok && len(extra) == 0 && p.Stmt.Node.GetCreateStmt() != nil {
		if edits, ok := textCheckEdits(p.Stmt, cols); ok {
			offer = func() { p.offerColumnFix(safe, edits) }
		}
	}
	if !ok {
		safe = fixColumns(p, match, func(c colDef) {
			limit := firstTypmod(c.Col.TypeName)
			setColumnType(c.Col, builtinTypeName("text"))
			if limit > 0 && !isArrayType(c.Col.TypeName) && c.Kind == "create" {
				c.Col.Constraints = append(c.Col.Constraints, lengthCheck(c.Name, limit))
			}
		})
	}
	if safe == "" {
		return fallback, offer
	}
	sql := safe
	if len(extra) > 0 {
		sql += "\n" + strings.Join(extra, "\n")
	}
	return "Use text and state the limit as a constraint:\n\n" + Indent(sql), offer
}

// textCheckEdits are textTypeFix's changes to CREATE TABLE columns as
// column edits: the type becomes text, the limit a CHECK at the end of the
// column's definition.
func textCheckEdits(st *sqlparse.Statement, cols []colDef) ([]columnEdit, bool) {
	sql, ok := stmtText(st)
	if !ok {
		return nil, false
	}
	var edits []columnEdit
	for _, c := range cols {
		e := columnEdit{col: c, typ: "text"}
		if limit := firstTypmod(c.Col.TypeName); limit > 0 {
			name, ok := columnNameAt(sql, st.SQLOffset(c.Col.Location))
			if !ok {
				return nil, false
			}
			e.suffix = " CHECK (char_length(" + name + ") <= " + strconv.FormatInt(limit, 10) + ")"
		}
		edits = append(edits, e)
	}
	return edits, true
}

// firstTypmod returns the first type modifier (the n of varchar(n)), or 0.
func firstTypmod(tn *pg_query.TypeName) int64 {
	if tn == nil || len(tn.Typmods) == 0 {
		return 0
	}
	if c := tn.Typmods[0].GetAConst(); c != nil && c.GetIval() != nil {
		return int64(c.GetIval().Ival)
	}
	return 0
}

// lengthCheck is the column constraint CHECK (char_length(col) <= n).
func lengthCheck(col string, n int64) *pg_query.Node {
	expr := pg_query.MakeAExprNode(pg_query.A_Expr_Kind_AEXPR_OP, []*pg_query.Node{pg_query.MakeStrNode("<=")},
		pg_query.MakeFuncCallNode([]*pg_query.Node{pg_query.MakeStrNode("char_length")},
			[]*pg_query.Node{pg_query.MakeColumnRefNode([]*pg_query.Node{pg_query.MakeStrNode(col)}, -1)}, -1),
		pg_query.MakeAConstIntNode(n, -1), -1)
	return &pg_query.Node{Node: &pg_query.Node_Constraint{Constraint: &pg_query.Constraint{
		Contype: pg_query.ConstrType_CONSTR_CHECK, RawExpr: expr, InitiallyValid: true}}}
}
