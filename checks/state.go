package checks

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// State is what the engine knows from the statements before the current
// one in the same file. It is updated after every rule has seen a
// statement, so a rule sees the state before its statement.
type State struct {
	// Created holds the tables, indexes and other relations created
	// earlier in the file (keys from RelKey). Lock rules skip them: nobody
	// else can be using a table that did not exist before the migration.
	Created map[string]bool
	// LockTimeout and StatementTimeout are true when an earlier statement
	// set them to a non-zero value for the statements that follow.
	LockTimeout, StatementTimeout bool
	// TransactionTimeout is the same for transaction_timeout (PostgreSQL
	// 17+).
	TransactionTimeout bool
	// TimeZone is the session time zone set by the migration, if any.
	TimeZone string
	// Catalog is the schema built by the statements before this one, in
	// this file and the files before it in the same run.
	Catalog *Catalog

	localLock, localStmt, localTx bool // set with SET LOCAL: lasts until the transaction ends
	localBlock                    int
	values                        map[string]any
	held                          map[int][]HeldLock
}

func newState(cat *Catalog) *State {
	if cat == nil {
		cat = NewCatalog()
	}
	return &State{Created: map[string]bool{}, values: map[string]any{}, Catalog: cat}
}

// Value returns per-file state a rule keeps under key (use the rule id).
func (s *State) Value(key string) any { return s.values[key] }

// SetValue stores per-file state for a rule.
func (s *State) SetValue(key string, v any) { s.values[key] = v }

// IsNew reports whether the relation was created earlier in the file.
func (s *State) IsNew(rv *pg_query.RangeVar) bool {
	if rv == nil {
		return false
	}
	return s.Created[RelKey(rv)] || s.Created[strings.ToLower(rv.Relname)]
}

// RelKey is the lower-case, optionally schema-qualified name of a relation.
func RelKey(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	if rv.Schemaname != "" {
		return strings.ToLower(rv.Schemaname + "." + rv.Relname)
	}
	return strings.ToLower(rv.Relname)
}

// RelName is the relation's name as written (schema-qualified if it was).
func RelName(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	if rv.Schemaname != "" {
		return rv.Schemaname + "." + rv.Relname
	}
	return rv.Relname
}

// after records the effects of a statement.
func (s *State) after(st *sqlparse.Statement) {
	s.recordLocks(st)
	if s.localBlock != 0 && st.TxBlock != s.localBlock {
		s.endLocalSettings()
	}
	s.Catalog.apply(st.Node)
	defer s.endOfBlock(st)
	if st.Node == nil {
		return
	}
	switch n := st.Node.Node.(type) {
	case *pg_query.Node_CreateStmt:
		s.addCreated(n.CreateStmt.Relation)
	case *pg_query.Node_CreateTableAsStmt:
		if n.CreateTableAsStmt.Into != nil {
			s.addCreated(n.CreateTableAsStmt.Into.Rel)
		}
	case *pg_query.Node_IndexStmt:
		if n.IndexStmt.Idxname != "" {
			rv := &pg_query.RangeVar{Relname: n.IndexStmt.Idxname}
			if n.IndexStmt.Relation != nil {
				rv.Schemaname = n.IndexStmt.Relation.Schemaname
			}
			if s.IsNew(n.IndexStmt.Relation) {
				s.addCreated(rv)
			}
		}
	case *pg_query.Node_VariableSetStmt:
		v := n.VariableSetStmt
		if v.IsLocal && !st.InTransaction {
			break // SET LOCAL outside a transaction block has no effect
		}
		name := strings.ToLower(v.Name)
		on := v.Kind == pg_query.VariableSetKind_VAR_SET_VALUE && !isZeroSetting(v.Args)
		if v.Kind == pg_query.VariableSetKind_VAR_RESET || v.Kind == pg_query.VariableSetKind_VAR_SET_DEFAULT || v.Kind == pg_query.VariableSetKind_VAR_RESET_ALL {
			on = false
		}
		switch name {
		case "lock_timeout", "":
			if name == "" && v.Kind != pg_query.VariableSetKind_VAR_RESET_ALL {
				break
			}
			s.LockTimeout = on
			if on && v.IsLocal {
				s.localLock, s.localBlock = true, st.TxBlock
			}
			if name == "" {
				s.StatementTimeout, s.TransactionTimeout = false, false
			}
		case "statement_timeout":
			s.StatementTimeout = on
			if on && v.IsLocal {
				s.localStmt, s.localBlock = true, st.TxBlock
			}
		case "transaction_timeout":
			s.TransactionTimeout = on
			if on && v.IsLocal {
				s.localTx, s.localBlock = true, st.TxBlock
			}
		case "timezone":
			if on {
				s.TimeZone = constString(v.Args)
			} else {
				s.TimeZone = ""
			}
		}
	}
}

// HeldLock is a lock that an earlier statement of the current transaction
// took on a table that existed before the file, and that is held until the
// transaction ends.
type HeldLock struct {
	RelLock
	Line int // where the statement that took it starts
}

// HeldLocks returns the locks taken by the earlier statements of the
// transaction block txBlock, in statement order (nil for 0: autocommit).
func (s *State) HeldLocks(txBlock int) []HeldLock {
	if txBlock == 0 {
		return nil
	}
	return s.held[txBlock]
}

// recordLocks notes the locks st takes, computed before st changes the
// catalog (a DROP INDEX must still find its table).
func (s *State) recordLocks(st *sqlparse.Statement) {
	if st.Node == nil || !st.InTransaction || st.TxBlock == 0 {
		return
	}
	if s.held == nil {
		s.held = map[int][]HeldLock{}
	}
	for _, l := range StatementLocks(st.Node, s.Catalog, false) {
		if !s.IsNew(l.Rel) {
			s.held[st.TxBlock] = append(s.held[st.TxBlock], HeldLock{RelLock: l, Line: st.Start.Line})
		}
	}
}

// endOfBlock drops SET LOCAL settings when st ends their transaction.
func (s *State) endOfBlock(st *sqlparse.Statement) {
	ts := st.Node.GetTransactionStmt()
	if ts == nil || s.localBlock == 0 || st.TxBlock != s.localBlock {
		return
	}
	switch ts.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK,
		pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
	default:
		return
	}
	s.endLocalSettings()
}

func (s *State) addCreated(rv *pg_query.RangeVar) {
	if rv == nil {
		return
	}
	s.Created[RelKey(rv)] = true
}

// isZeroSetting reports whether SET args are 0 or '0' (which disables a
// timeout).
func isZeroSetting(args []*pg_query.Node) bool {
	if len(args) != 1 {
		return false
	}
	c := args[0].GetAConst()
	if c == nil {
		return false
	}
	if iv := c.GetIval(); iv != nil {
		return iv.Ival == 0
	}
	if sv := c.GetSval(); sv != nil {
		v := strings.TrimSpace(sv.Sval)
		return v == "0" || strings.HasPrefix(v, "0 ") || v == "0ms" || v == "0s"
	}
	return c.GetIval() == nil && c.GetSval() == nil && c.GetFval() == nil
}

func constString(args []*pg_query.Node) string {
	if len(args) != 1 {
		return ""
	}
	c := args[0].GetAConst()
	if c == nil {
		return ""
	}
	if sv := c.GetSval(); sv != nil {
		return sv.Sval
	}
	return ""
}

// endLocalSettings forgets the timeouts that SET LOCAL set in the
// transaction that just ended.
func (s *State) endLocalSettings() {
	s.localBlock = 0
	if s.localLock {
		s.LockTimeout, s.localLock = false, false
	}
	if s.localStmt {
		s.StatementTimeout, s.localStmt = false, false
	}
	if s.localTx {
		s.TransactionTimeout, s.localTx = false, false
	}
}
