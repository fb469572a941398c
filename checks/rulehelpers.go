package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"gitlab.com/pgai/reviewer/sqlparse"
)

type (
	protoMessage         = protoreflect.ProtoMessage
	protoFieldDescriptor = protoreflect.FieldDescriptor
	protoValue           = protoreflect.Value
)

// This file holds helpers shared by the lock and transaction rules.

// alterSQL renders ALTER TABLE rel <cmds>; as SQL.
func alterSQL(rv *pg_query.RangeVar, cmds ...*pg_query.AlterTableCmd) string {
	var nodes []*pg_query.Node
	for _, c := range cmds {
		nodes = append(nodes, &pg_query.Node{Node: &pg_query.Node_AlterTableCmd{AlterTableCmd: c}})
	}
	n := &pg_query.Node{Node: &pg_query.Node_AlterTableStmt{AlterTableStmt: &pg_query.AlterTableStmt{
		Relation: rv, Cmds: nodes, Objtype: pg_query.ObjectType_OBJECT_TABLE,
	}}}
	return SafeSQL(n, nil)
}

// deparseNode renders any statement node as SQL with a semicolon.
func deparseNode(n *pg_query.Node) string { return SafeSQL(n, nil) }

// exprSQL renders an expression as SQL (by deparsing SELECT expr).
func exprSQL(e *pg_query.Node) string {
	if e == nil {
		return ""
	}
	sel := &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{
		TargetList: []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: e}}}},
	}}}
	s := SafeSQL(sel, nil)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "SELECT "), ";")
	return s
}

// quoteIdent quotes an identifier when PostgreSQL needs it.
func quoteIdent(s string) string {
	ok := s != ""
	for i, r := range s {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// constraintName is the name of a constraint as written or as PostgreSQL
// will choose it for table t.
func constraintName(rv *pg_query.RangeVar, con *pg_query.Constraint, column string) string {
	if con.Conname != "" {
		return con.Conname
	}
	cols := stringList(con.Keys)
	suffix := ""
	switch con.Contype {
	case pg_query.ConstrType_CONSTR_FOREIGN:
		cols, suffix = stringList(con.FkAttrs), "_fkey"
	case pg_query.ConstrType_CONSTR_CHECK:
		suffix = "_check"
		if len(cols) == 0 {
			cols = exprColumns(con.RawExpr)
			if len(cols) > 1 {
				cols = cols[:1]
			}
		}
	case pg_query.ConstrType_CONSTR_PRIMARY:
		suffix = "_pkey"
		cols = nil
	case pg_query.ConstrType_CONSTR_UNIQUE:
		suffix = "_key"
	case pg_query.ConstrType_CONSTR_EXCLUSION:
		suffix = "_excl"
	}
	if len(cols) == 0 && column != "" && suffix != "_pkey" {
		cols = []string{strings.ToLower(column)}
	}
	return DefaultConstraintName(rv.Relname, cols, suffix)
}

// exprColumns lists the column names an expression references, in order.
func exprColumns(e *pg_query.Node) []string {
	var out []string
	seen := map[string]bool{}
	walkNodes(e, func(n *pg_query.Node) {
		if cr := n.GetColumnRef(); cr != nil {
			f := stringList(cr.Fields)
			if len(f) > 0 && !seen[f[len(f)-1]] {
				seen[f[len(f)-1]] = true
				out = append(out, f[len(f)-1])
			}
		}
	})
	return out
}

// walkNodes calls fn on n and every node below it.
func walkNodes(n *pg_query.Node, fn func(*pg_query.Node)) {
	if n == nil {
		return
	}
	var visit func(m protoMessage)
	visit = func(m protoMessage) {
		m.ProtoReflect().Range(func(fd protoFieldDescriptor, v protoValue) bool {
			switch {
			case fd.IsList():
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					if msg, ok := l.Get(i).Message().Interface().(*pg_query.Node); ok {
						fn(msg)
						visit(msg)
					} else if fd.Message() != nil {
						visit(l.Get(i).Message().Interface())
					}
				}
			case fd.Message() != nil:
				if msg, ok := v.Message().Interface().(*pg_query.Node); ok {
					fn(msg)
					visit(msg)
				} else {
					visit(v.Message().Interface())
				}
			}
			return true
		})
	}
	fn(n)
	visit(n)
}

// txContext says how the current statement came to run in a transaction:
// an explicit BEGIN in the file, or the migration tool's wrapping.
func txContext(p *Pass) string {
	for _, st := range p.File.Statements {
		if st.Index >= p.Stmt.Index {
			break
		}
		if st.TxBlock != p.Stmt.TxBlock || st.Node == nil {
			continue
		}
		if ts := st.Node.GetTransactionStmt(); ts != nil && (ts.Kind == pg_query.TransactionStmtKind_TRANS_STMT_BEGIN || ts.Kind == pg_query.TransactionStmtKind_TRANS_STMT_START) {
			return fmt.Sprintf("inside the transaction opened by BEGIN on line %d", st.Start.Line)
		}
	}
	if fw := p.File.Framework; fw != sqlparse.FrameworkAuto && fw != sqlparse.FrameworkSQL {
		return "inside the transaction " + fw.Runner() + " wraps around this migration"
	}
	return "inside the transaction the migration runner wraps around this file"
}

// noTxHow says how to make this file run outside a transaction, for the
// file's framework (each framework gives its own advice, sqlparse
// frameworks.go).
func noTxHow(p *Pass) string { return p.File.Framework.NoTxAdvice() }

// sameTxEarlier returns the statements before the current one that run in
// the same transaction block (none when the statement autocommits).
func sameTxEarlier(p *Pass) []*sqlparse.Statement {
	var out []*sqlparse.Statement
	if p.Stmt.TxBlock == 0 || !p.Stmt.InTransaction {
		return nil
	}
	for _, st := range p.File.Statements {
		if st.Index >= p.Stmt.Index {
			break
		}
		if st.Part == p.Stmt.Part && st.InTransaction && st.TxBlock == p.Stmt.TxBlock && st.Node != nil {
			out = append(out, st)
		}
	}
	return out
}

// sameTxLater returns the statements after the current one in the same
// transaction block.
func sameTxLater(p *Pass) []*sqlparse.Statement {
	var out []*sqlparse.Statement
	if p.Stmt.TxBlock == 0 || !p.Stmt.InTransaction {
		return nil
	}
	for _, st := range p.File.Statements {
		if st.Index <= p.Stmt.Index {
			continue
		}
		if st.Part == p.Stmt.Part && st.InTransaction && st.TxBlock == p.Stmt.TxBlock && st.Node != nil {
			out = append(out, st)
		}
	}
	return out
}

// isTxControl reports whether n is BEGIN/COMMIT/ROLLBACK/SAVEPOINT…
func isTxControl(n *pg_query.Node) bool { return n.GetTransactionStmt() != nil }

// isSessionSetting reports statements that change no data or schema (SET,
// RESET, SHOW, transaction control).
func isSessionSetting(n *pg_query.Node) bool {
	switch n.Node.(type) {
	case *pg_query.Node_VariableSetStmt, *pg_query.Node_VariableShowStmt, *pg_query.Node_TransactionStmt:
		return true
	}
	return false
}

// plural returns word with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// addedConstraint is a constraint an ALTER TABLE adds: a table constraint
// (ADD CONSTRAINT) or a column constraint of an added column (Column set).
type addedConstraint struct {
	Con    *pg_query.Constraint
	Column *pg_query.ColumnDef
}

// addedConstraints returns the constraints an ALTER TABLE on an existing
// table adds, with the table; nil for other statements.
func addedConstraints(p *Pass) (*pg_query.RangeVar, []addedConstraint) {
	rv, cmds := p.AlterCmds()
	if rv == nil || p.State.IsNew(rv) {
		return nil, nil
	}
	var out []addedConstraint
	for _, c := range cmds {
		switch c.Subtype {
		case pg_query.AlterTableType_AT_AddConstraint:
			if con := c.Def.GetConstraint(); con != nil {
				out = append(out, addedConstraint{Con: con})
			}
		case pg_query.AlterTableType_AT_AddColumn:
			if cd := c.Def.GetColumnDef(); cd != nil {
				for _, cn := range cd.Constraints {
					if con := cn.GetConstraint(); con != nil {
						out = append(out, addedConstraint{Con: con, Column: cd})
					}
				}
			}
		}
	}
	return rv, out
}

// asTableConstraint returns the constraint as a named table constraint
// (column constraints get their column as key).
func asTableConstraint(rv *pg_query.RangeVar, ac addedConstraint) *pg_query.Constraint {
	c := protoCloneConstraint(ac.Con)
	col := ""
	if ac.Column != nil {
		col = ac.Column.Colname
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_FOREIGN:
			if len(c.FkAttrs) == 0 {
				c.FkAttrs = []*pg_query.Node{pg_query.MakeStrNode(col)}
			}
		case pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_PRIMARY:
			if len(c.Keys) == 0 {
				c.Keys = []*pg_query.Node{pg_query.MakeStrNode(col)}
			}
		}
	}
	c.Conname = constraintName(rv, ac.Con, col)
	return c
}

func addConstraintCmd(c *pg_query.Constraint) *pg_query.AlterTableCmd {
	return &pg_query.AlterTableCmd{Subtype: pg_query.AlterTableType_AT_AddConstraint, Def: &pg_query.Node{Node: &pg_query.Node_Constraint{Constraint: c}}}
}

func validateCmd(name string) *pg_query.AlterTableCmd {
	return &pg_query.AlterTableCmd{Subtype: pg_query.AlterTableType_AT_ValidateConstraint, Name: name}
}

// protoCloneConstraint copies a constraint so that a fix can change it.
func protoCloneConstraint(c *pg_query.Constraint) *pg_query.Constraint {
	return proto.Clone(c).(*pg_query.Constraint)
}
