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

// defElemNames returns the lower-case names of the DefElem options in
// opts (VACUUM (FULL, ANALYZE), REINDEX (CONCURRENTLY), …).
func defElemNames(opts []*pg_query.Node) map[string]bool {
	out := map[string]bool{}
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil {
			on := true
			if d.Arg != nil {
				if b := d.Arg.GetBoolean(); b != nil {
					on = b.Boolval
				}
				if s := d.Arg.GetString_(); s != nil {
					v := strings.ToLower(s.Sval)
					on = v != "false" && v != "off" && v != "0"
				}
				if c := d.Arg.GetAConst(); c != nil {
					if iv := c.GetIval(); iv != nil {
						on = iv.Ival != 0
					}
					if bv := c.GetBoolval(); bv != nil {
						on = bv.Boolval
					}
				}
			}
			out[strings.ToLower(d.Defname)] = on
		}
	}
	return out
}

// NonTransactional names the kind of statement n when PostgreSQL refuses
// to run it inside a transaction block (PreventInTransactionBlock: it fails
// with SQLSTATE 25001 there), e.g. "CREATE INDEX CONCURRENTLY"; it returns
// "" for statements that may run in a transaction. ALTER TYPE … ADD VALUE
// is version-dependent and not listed here.
func NonTransactional(n *pg_query.Node) string {
	if n == nil {
		return ""
	}
	switch s := n.Node.(type) {
	case *pg_query.Node_IndexStmt:
		if s.IndexStmt.Concurrent {
			return "CREATE INDEX CONCURRENTLY"
		}
	case *pg_query.Node_DropStmt:
		if s.DropStmt.Concurrent {
			return "DROP INDEX CONCURRENTLY"
		}
		switch s.DropStmt.RemoveType {
		case pg_query.ObjectType_OBJECT_TABLESPACE:
			return "DROP TABLESPACE"
		case pg_query.ObjectType_OBJECT_SUBSCRIPTION:
			return "DROP SUBSCRIPTION"
		}
	case *pg_query.Node_ReindexStmt:
		if defElemNames(s.ReindexStmt.Params)["concurrently"] {
			return "REINDEX CONCURRENTLY"
		}
		switch s.ReindexStmt.Kind {
		case pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE, pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM, pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA:
			return "REINDEX " + strings.TrimPrefix(s.ReindexStmt.Kind.String(), "REINDEX_OBJECT_")
		}
	case *pg_query.Node_VacuumStmt:
		if s.VacuumStmt.IsVacuumcmd {
			if defElemNames(s.VacuumStmt.Options)["full"] {
				return "VACUUM FULL"
			}
			return "VACUUM"
		}
	case *pg_query.Node_ClusterStmt:
		if s.ClusterStmt.Relation == nil {
			return "CLUSTER (all tables)"
		}
	case *pg_query.Node_AlterTableStmt:
		for _, c := range s.AlterTableStmt.Cmds {
			ac := c.GetAlterTableCmd()
			if ac == nil || ac.Subtype != pg_query.AlterTableType_AT_DetachPartition {
				continue
			}
			if pc := ac.Def.GetPartitionCmd(); pc != nil && pc.Concurrent {
				return "DETACH PARTITION CONCURRENTLY"
			}
		}
	case *pg_query.Node_CreatedbStmt:
		return "CREATE DATABASE"
	case *pg_query.Node_DropdbStmt:
		return "DROP DATABASE"
	case *pg_query.Node_AlterSystemStmt:
		return "ALTER SYSTEM"
	case *pg_query.Node_CreateTableSpaceStmt:
		return "CREATE TABLESPACE"
	}
	return ""
}
