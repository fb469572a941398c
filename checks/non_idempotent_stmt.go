package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// robustForm returns a short description of a statement that has a
// re-runnable form (IF [NOT] EXISTS, OR REPLACE) and, when withSQL is
// set, that form; "" when the statement is already re-runnable or has no
// such form. The form is the statement's own text with the keywords added
// where that edit is plain, else the deparsed tree.
func robustForm(st *sqlparse.Statement, withSQL bool) (sql, what string) {
	n := st.Node
	// edit adds ins after the leading keywords, or deparses n after mutate.
	edit := func(ins string, mutate func(*pg_query.Node), pattern ...kw) string {
		if !withSQL {
			return ""
		}
		if sql, ok := insertAfterKeywords(st, ins, pattern...); ok {
			return sql
		}
		return SafeSQL(n, mutate)
	}
	switch s := n.Node.(type) {
	case *pg_query.Node_CreateStmt:
		if !s.CreateStmt.IfNotExists {
			return edit(" IF NOT EXISTS", func(c *pg_query.Node) { c.GetCreateStmt().IfNotExists = true },
				must("create"), opt("global", "local"), opt("temp", "temporary", "unlogged"), must("table")), "CREATE TABLE " + RelName(s.CreateStmt.Relation)
		}
	case *pg_query.Node_IndexStmt:
		if !s.IndexStmt.IfNotExists && s.IndexStmt.Idxname != "" {
			if !withSQL {
				return "", "CREATE INDEX " + s.IndexStmt.Idxname
			}
			sql := edit(" IF NOT EXISTS", func(c *pg_query.Node) { c.GetIndexStmt().IfNotExists = true },
				must("create"), opt("unique"), must("index"), opt("concurrently"))
			if s.IndexStmt.Concurrent {
				// A failed concurrent build leaves an INVALID index that
				// IF NOT EXISTS would silently keep.
				sql = fmt.Sprintf("DROP INDEX CONCURRENTLY IF EXISTS %s;  -- a failed build leaves an INVALID index behind\n%s", quoteIdent(s.IndexStmt.Idxname), sql)
			}
			return sql, "CREATE INDEX " + s.IndexStmt.Idxname
		}
	case *pg_query.Node_CreateSeqStmt:
		if !s.CreateSeqStmt.IfNotExists {
			return edit(" IF NOT EXISTS", func(c *pg_query.Node) { c.GetCreateSeqStmt().IfNotExists = true },
				must("create"), opt("temp", "temporary", "unlogged"), must("sequence")), "CREATE SEQUENCE " + RelName(s.CreateSeqStmt.Sequence)
		}
	case *pg_query.Node_CreateSchemaStmt:
		if !s.CreateSchemaStmt.IfNotExists {
			return edit(" IF NOT EXISTS", func(c *pg_query.Node) { c.GetCreateSchemaStmt().IfNotExists = true },
				must("create"), must("schema")), "CREATE SCHEMA " + s.CreateSchemaStmt.Schemaname
		}
	case *pg_query.Node_CreateExtensionStmt:
		if !s.CreateExtensionStmt.IfNotExists {
			return edit(" IF NOT EXISTS", func(c *pg_query.Node) { c.GetCreateExtensionStmt().IfNotExists = true },
				must("create"), must("extension")), "CREATE EXTENSION " + s.CreateExtensionStmt.Extname
		}
	case *pg_query.Node_DropStmt:
		if !s.DropStmt.MissingOk {
			return edit(" IF EXISTS", func(c *pg_query.Node) { c.GetDropStmt().MissingOk = true },
				must("drop"), opt("materialized", "foreign"),
				must("table", "index", "view", "sequence", "type", "domain", "schema", "extension"), opt("concurrently")), "DROP " + strings.TrimPrefix(s.DropStmt.RemoveType.String(), "OBJECT_")
		}
	case *pg_query.Node_ViewStmt:
		if !s.ViewStmt.Replace {
			return edit(" OR REPLACE", func(c *pg_query.Node) { c.GetViewStmt().Replace = true }, must("create")), "CREATE VIEW " + RelName(s.ViewStmt.View)
		}
	case *pg_query.Node_CreateFunctionStmt:
		if !s.CreateFunctionStmt.Replace {
			return edit(" OR REPLACE", func(c *pg_query.Node) { c.GetCreateFunctionStmt().Replace = true }, must("create")), "CREATE FUNCTION " + strings.Join(nodeStrings(s.CreateFunctionStmt.Funcname), ".")
		}
	case *pg_query.Node_AlterTableStmt:
		at := s.AlterTableStmt
		changed, what := false, ""
		var pre []string
		for _, c := range at.Cmds {
			ac := c.GetAlterTableCmd()
			if ac == nil || ac.MissingOk {
				continue
			}
			switch ac.Subtype {
			case pg_query.AlterTableType_AT_AddColumn, pg_query.AlterTableType_AT_DropColumn, pg_query.AlterTableType_AT_DropConstraint:
				changed = true
				if what == "" {
					what = "ALTER TABLE " + RelName(at.Relation)
				}
			case pg_query.AlterTableType_AT_AddConstraint:
				if con := ac.Def.GetConstraint(); con != nil && con.Conname != "" {
					pre = append(pre, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s;", RelName(at.Relation), quoteIdent(con.Conname)))
					if what == "" {
						what = "ALTER TABLE " + RelName(at.Relation) + " ADD CONSTRAINT " + con.Conname
					}
				}
			}
		}
		if !changed && len(pre) == 0 {
			return "", ""
		}
		if !withSQL {
			return "", what
		}
		pattern := make([][]kw, len(at.Cmds))
		ins := make([]string, len(at.Cmds))
		for i, cmd := range at.Cmds {
			ac := cmd.GetAlterTableCmd()
			if ac == nil || ac.MissingOk {
				continue
			}
			switch ac.Subtype {
			case pg_query.AlterTableType_AT_AddColumn:
				pattern[i], ins[i] = []kw{must("add"), opt("column")}, " IF NOT EXISTS"
			case pg_query.AlterTableType_AT_DropColumn:
				pattern[i], ins[i] = []kw{must("drop"), opt("column")}, " IF EXISTS"
			case pg_query.AlterTableType_AT_DropConstraint:
				pattern[i], ins[i] = []kw{must("drop"), must("constraint")}, " IF EXISTS"
			}
		}
		sql, ok := alterTableEdits(st, len(at.Cmds), pattern, ins)
		if !ok {
			sql = SafeSQL(n, func(c *pg_query.Node) {
				for _, cmd := range c.GetAlterTableStmt().Cmds {
					if ac := cmd.GetAlterTableCmd(); ac != nil {
						switch ac.Subtype {
						case pg_query.AlterTableType_AT_AddColumn, pg_query.AlterTableType_AT_DropColumn, pg_query.AlterTableType_AT_DropConstraint:
							ac.MissingOk = true
						}
					}
				}
			})
		}
		if len(pre) > 0 {
			sql = strings.Join(pre, "\n") + "\n" + sql
		}
		return sql, what
	}
	return "", ""
}

var nonIdempotentStmt = &Rule{
	ID:       "non-idempotent-stmt",
	Group:    "transactions",
	Severity: Warning,
	Summary:  "Statements that cannot be re-run, in a file the migration tool does not run in one transaction (reported once per file).",
	Why: "Outside a transaction every statement commits on its own. If a later statement fails, the earlier ones stay " +
		"applied while the tool records the migration as failed, and re-running the file stops at the first statement " +
		"with \"already exists\" (or \"does not exist\"): someone has to repair the database by hand.",
	Fix: "Make each statement re-runnable (IF NOT EXISTS, IF EXISTS, OR REPLACE), or let the tool run the file in a transaction " +
		"when it has no statement that needs to run outside one.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-createtable.html",
	Check: func(p *Pass) {
		if p.Stmt.InTransaction || p.ReportedInFile() > 0 {
			return
		}
		// Statements that commit on their own, except the last of the
		// file: a failure there leaves nothing to re-run.
		var lines []string
		var fixes []string
		first := true
		up := p.File.Up()
		for i, st := range up {
			if st.Index < p.Stmt.Index || st.Node == nil || st.InTransaction || i == len(up)-1 {
				continue
			}
			sql, what := robustForm(st, len(fixes) < 5)
			if what == "" {
				if st.Index == p.Stmt.Index {
					return // report on the first non-idempotent statement
				}
				continue
			}
			if st.Index == p.Stmt.Index {
				first = false
			} else if first {
				return
			}
			lines = append(lines, fmt.Sprintf("%d (%s)", st.Start.Line, what))
			if sql != "" {
				fixes = append(fixes, sql)
			}
		}
		if len(lines) == 0 {
			return
		}
		fix := "Make them re-runnable:\n\n" + Indent(strings.Join(fixes, "\n"))
		if len(lines) > len(fixes) {
			fix += fmt.Sprintf("\n\n(and %d more of the same kind)", len(lines)-len(fixes))
		}
		verb := "commit on their own and cannot be re-run"
		if len(lines) == 1 {
			verb = "commits on its own and cannot be re-run"
		}
		p.Report(fmt.Sprintf("%s of this file %s after a later statement fails: line %s.",
			plural(len(lines), "statement"), verb, strings.Join(lines, ", line ")), "", fix)
	},
}
