package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// definedNames returns the lower-case names of the objects a statement
// creates or renames (a table, index, view, sequence, type or function;
// a constraint; a column, together with its table in cols), which later
// statements can depend on.
func definedNames(n *pg_query.Node) (objs []string, table string, cols []string) {
	switch {
	case n.GetIndexStmt() != nil:
		objs = append(objs, n.GetIndexStmt().Idxname)
	case n.GetCreateStmt() != nil:
		objs = append(objs, n.GetCreateStmt().Relation.GetRelname())
	case n.GetViewStmt() != nil:
		objs = append(objs, n.GetViewStmt().View.GetRelname())
	case n.GetCreateTableAsStmt() != nil:
		objs = append(objs, n.GetCreateTableAsStmt().GetInto().GetRel().GetRelname())
	case n.GetCreateSeqStmt() != nil:
		objs = append(objs, n.GetCreateSeqStmt().Sequence.GetRelname())
	case n.GetCreateEnumStmt() != nil:
		objs = append(objs, lastName(n.GetCreateEnumStmt().TypeName))
	case n.GetCompositeTypeStmt() != nil:
		objs = append(objs, n.GetCompositeTypeStmt().Typevar.GetRelname())
	case n.GetCreateDomainStmt() != nil:
		objs = append(objs, lastName(n.GetCreateDomainStmt().Domainname))
	case n.GetCreateFunctionStmt() != nil:
		objs = append(objs, lastName(n.GetCreateFunctionStmt().Funcname))
	case n.GetRenameStmt() != nil:
		rs := n.GetRenameStmt()
		if rs.RenameType == pg_query.ObjectType_OBJECT_COLUMN {
			table, cols = rs.Relation.GetRelname(), []string{rs.Newname}
		} else {
			objs = append(objs, rs.Newname)
		}
	default:
		rv, cmds := AlterCmds(n)
		if rv == nil {
			break
		}
		table = rv.Relname
		for _, c := range cmds {
			if cd := c.GetDef().GetColumnDef(); c.Subtype == pg_query.AlterTableType_AT_AddColumn && cd != nil {
				cols = append(cols, cd.Colname)
			}
			if con := c.GetDef().GetConstraint(); c.Subtype == pg_query.AlterTableType_AT_AddConstraint && con != nil {
				objs = append(objs, constraintName(rv, con, ""))
			}
		}
	}
	for i := range objs {
		objs[i] = strings.ToLower(objs[i])
	}
	for i := range cols {
		cols[i] = strings.ToLower(cols[i])
	}
	return objs, strings.ToLower(table), cols
}

func lastName(items []*pg_query.Node) string {
	if len(items) == 0 {
		return ""
	}
	return items[len(items)-1].GetString_().GetSval()
}

// nodeNames returns every name and string a statement mentions, lower
// case: relation, index, constraint and column names, string constants.
func nodeNames(n *pg_query.Node) map[string]bool {
	out := map[string]bool{}
	var visit func(m protoreflect.Message)
	visit = func(m protoreflect.Message) {
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList():
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					if fd.Message() != nil {
						visit(l.Get(i).Message())
					} else if fd.Kind() == protoreflect.StringKind {
						out[strings.ToLower(l.Get(i).String())] = true
					}
				}
			case fd.Message() != nil:
				visit(v.Message())
			case fd.Kind() == protoreflect.StringKind:
				out[strings.ToLower(v.String())] = true
			}
			return true
		})
	}
	if n != nil {
		visit(n.ProtoReflect())
	}
	return out
}

// laterDependents returns the statements after the current one in the
// file that use what it creates: its index, table, constraint, or a
// column it adds (named together with its table). Moving the current
// statement to a later migration would break them.
func laterDependents(p *Pass) []*sqlparse.Statement {
	objs, table, cols := definedNames(p.Node())
	if len(objs) == 0 && len(cols) == 0 {
		return nil
	}
	var out []*sqlparse.Statement
	for _, st := range p.File.Statements {
		if st.Index <= p.Stmt.Index || st.Part != p.Stmt.Part || st.Node == nil || isSessionSetting(st.Node) {
			continue
		}
		names := nodeNames(st.Node)
		dep := false
		for _, o := range objs {
			dep = dep || (o != "" && names[o])
		}
		if table != "" && names[table] {
			for _, c := range cols {
				dep = dep || names[c]
			}
		}
		if dep {
			out = append(out, st)
		}
	}
	return out
}

// moveAdvice says how to give the current statement its own transaction
// (splitAdvice) and shows what to move: the statement alone, or, when later
// statements of the file use what it creates, the statement together with
// them, since on their own they would run before it and fail.
func moveAdvice(p *Pass) string {
	deps := laterDependents(p)
	if len(deps) == 0 {
		return splitAdvice(p) + "\n\n" + Indent(stmtSQL(p))
	}
	var lines []string
	sql := []string{stmtSQL(p)}
	for _, st := range deps {
		lines = append(lines, fmt.Sprint(st.Start.Line))
		sql = append(sql, strings.TrimSuffix(strings.TrimSpace(st.Text), ";")+";")
	}
	if strings.HasPrefix(splitAdvice(p), "End the transaction") {
		// COMMIT before it keeps the statements in their order.
		return splitAdvice(p) + "\n\n" + Indent(stmtSQL(p))
	}
	return fmt.Sprintf("The migration tool runs this whole file in one transaction, so move this statement to the next migration file, "+
		"together with the %s on %s %s that %s what it creates (left here, %s would run before it and fail):\n\n%s",
		pluralize(len(deps), "statement", "statements"), pluralize(len(deps), "line", "lines"), listNames(lines),
		pluralize(len(deps), "uses", "use"), pluralize(len(deps), "it", "they"), Indent(strings.Join(sql, "\n")))
}
