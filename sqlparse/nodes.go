package sqlparse

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

type txKind int

const (
	txOther txKind = iota
	txBegin
	txEnd      // COMMIT, ROLLBACK, END, ABORT, PREPARE TRANSACTION
	txEndChain // COMMIT AND CHAIN, ROLLBACK AND CHAIN
)

// txKindOf classifies a statement's effect on the transaction state.
func txKindOf(n *Node) txKind {
	ts := n.GetTransactionStmt()
	if ts == nil {
		return txOther
	}
	switch ts.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
		return txBegin
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		if ts.Chain {
			return txEndChain
		}
		return txEnd
	case pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
		return txEnd
	}
	return txOther
}

// flywayNonTx reports, in words, whether Flyway's PostgreSQL parser treats
// a statement as one that cannot run in a transaction
// (flyway-database-postgresql PostgreSQLParser.detectCanExecuteInTransaction:
// ^(CREATE|DROP) (DATABASE|TABLESPACE|SUBSCRIPTION), ^ALTER SYSTEM,
// ^(CREATE|DROP)( UNIQUE)? INDEX CONCURRENTLY, ^REINDEX( VERBOSE)?
// (SCHEMA|DATABASE|SYSTEM), ^VACUUM, ^DISCARD ALL). "" means transactional.
func flywayNonTx(n *Node) string {
	switch {
	case n.GetIndexStmt() != nil:
		if n.GetIndexStmt().Concurrent {
			return "CREATE INDEX CONCURRENTLY"
		}
	case n.GetDropStmt() != nil:
		d := n.GetDropStmt()
		if d.Concurrent && d.RemoveType == pg_query.ObjectType_OBJECT_INDEX {
			return "DROP INDEX CONCURRENTLY"
		}
	case n.GetCreatedbStmt() != nil:
		return "CREATE DATABASE"
	case n.GetDropdbStmt() != nil:
		return "DROP DATABASE"
	case n.GetCreateTableSpaceStmt() != nil:
		return "CREATE TABLESPACE"
	case n.GetDropTableSpaceStmt() != nil:
		return "DROP TABLESPACE"
	case n.GetCreateSubscriptionStmt() != nil:
		return "CREATE SUBSCRIPTION"
	case n.GetDropSubscriptionStmt() != nil:
		return "DROP SUBSCRIPTION"
	case n.GetAlterSystemStmt() != nil:
		return "ALTER SYSTEM"
	case n.GetVacuumStmt() != nil:
		if n.GetVacuumStmt().IsVacuumcmd {
			return "VACUUM"
		}
	case n.GetReindexStmt() != nil:
		switch n.GetReindexStmt().Kind {
		case pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA, pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE, pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM:
			return "REINDEX " + map[pg_query.ReindexObjectType]string{
				pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA:   "SCHEMA",
				pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE: "DATABASE",
				pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM:   "SYSTEM",
			}[n.GetReindexStmt().Kind]
		}
	case n.GetDiscardStmt() != nil:
		if n.GetDiscardStmt().Target == pg_query.DiscardMode_DISCARD_ALL {
			return "DISCARD ALL"
		}
	}
	return ""
}
