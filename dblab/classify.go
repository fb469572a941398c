package dblab

import (
	"strings"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// stmtKind is how the runner treats a statement.
type stmtKind int

const (
	kindOther   stmtKind = iota // DDL and the rest: may be wrapped in a transaction
	kindTxStart                 // BEGIN, START TRANSACTION
	kindTxEnd                   // COMMIT, ROLLBACK, END, PREPARE TRANSACTION
	kindTxOther                 // SAVEPOINT, RELEASE, ROLLBACK TO
	kindSetting                 // SET, RESET, SHOW, SET TRANSACTION: no snapshot queries around them
	kindDML                     // INSERT, UPDATE, DELETE, MERGE, SELECT: planned with EXPLAIN ANALYZE
	kindNoTx                    // cannot run inside a transaction block (CONCURRENTLY, VACUUM, …)
)

// classify tells the runner how to run a parsed statement. It reads the
// parse tree through the node's getters, so that only sqlparse and checks
// import the parser's package.
func classify(st *sqlparse.Statement) stmtKind {
	n := st.Node
	if n == nil {
		return kindOther
	}
	if ts := n.GetTransactionStmt(); ts != nil {
		switch ts.Kind.String() {
		case "TRANS_STMT_BEGIN", "TRANS_STMT_START":
			return kindTxStart
		case "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE":
			return kindTxEnd
		case "TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED":
			return kindNoTx
		}
		return kindTxOther
	}
	if n.GetVariableSetStmt() != nil || n.GetVariableShowStmt() != nil {
		return kindSetting
	}
	if idx := n.GetIndexStmt(); idx != nil && idx.Concurrent {
		return kindNoTx
	}
	if d := n.GetDropStmt(); d != nil && d.Concurrent {
		return kindNoTx
	}
	if r := n.GetReindexStmt(); r != nil {
		if r.Kind.String() != "REINDEX_OBJECT_INDEX" && r.Kind.String() != "REINDEX_OBJECT_TABLE" {
			return kindNoTx
		}
		for _, p := range r.Params {
			if de := p.GetDefElem(); de != nil && strings.EqualFold(de.Defname, "concurrently") {
				return kindNoTx
			}
		}
	}
	if at := n.GetAlterTableStmt(); at != nil {
		for _, c := range at.Cmds {
			if ac := c.GetAlterTableCmd(); ac != nil && ac.Subtype.String() == "AT_DetachPartition" {
				if pc := ac.Def.GetPartitionCmd(); pc != nil && pc.Concurrent {
					return kindNoTx
				}
			}
		}
	}
	if cl := n.GetClusterStmt(); cl != nil && cl.Relation == nil {
		return kindNoTx
	}
	if n.GetVacuumStmt() != nil || n.GetCreatedbStmt() != nil || n.GetDropdbStmt() != nil ||
		n.GetAlterSystemStmt() != nil || n.GetCreateTableSpaceStmt() != nil || n.GetDropTableSpaceStmt() != nil ||
		n.GetCreateSubscriptionStmt() != nil || n.GetDropSubscriptionStmt() != nil || n.GetAlterSubscriptionStmt() != nil ||
		n.GetCallStmt() != nil {
		return kindNoTx
	}
	if n.GetDoStmt() != nil {
		up := strings.ToUpper(st.SQL)
		if strings.Contains(up, "COMMIT") || strings.Contains(up, "ROLLBACK") {
			return kindNoTx // a DO block that ends transactions itself
		}
		return kindOther
	}
	if n.GetInsertStmt() != nil || n.GetUpdateStmt() != nil || n.GetDeleteStmt() != nil || n.GetMergeStmt() != nil {
		return kindDML
	}
	if s := n.GetSelectStmt(); s != nil && s.IntoClause == nil {
		return kindDML
	}
	return kindOther
}
