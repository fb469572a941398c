package checks

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// SafeSQL deparses a copy of n after mutate changed it: the statement as
// the user wrote it, with the fix applied (e.g. Concurrent = true). It
// returns "" if the copy cannot be deparsed.
func SafeSQL(n *pg_query.Node, mutate func(*pg_query.Node)) string {
	c := proto.Clone(n).(*pg_query.Node)
	if mutate != nil {
		mutate(c)
	}
	s, err := sqlparse.Deparse(c)
	if err != nil {
		return ""
	}
	return s + ";"
}

// Indent indents SQL for a fix text (Markdown code block by indentation).
func Indent(sql string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(sql), "\n", "\n    ")
}

// AlterCmds returns the subcommands of an ALTER TABLE statement, with its
// relation; nil when the statement is not ALTER TABLE.
func AlterCmds(n *pg_query.Node) (*pg_query.RangeVar, []*pg_query.AlterTableCmd) {
	at := n.GetAlterTableStmt()
	if at == nil || at.Objtype != pg_query.ObjectType_OBJECT_TABLE {
		return nil, nil
	}
	var cmds []*pg_query.AlterTableCmd
	for _, c := range at.Cmds {
		if ac := c.GetAlterTableCmd(); ac != nil {
			cmds = append(cmds, ac)
		}
	}
	return at.Relation, cmds
}
