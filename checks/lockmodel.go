package checks

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Table-level lock modes, named as pg_locks names them, from the weakest.
const (
	AccessShare          = "AccessShareLock"
	RowShare             = "RowShareLock"
	RowExclusive         = "RowExclusiveLock"
	ShareUpdateExclusive = "ShareUpdateExclusiveLock"
	Share                = "ShareLock"
	ShareRowExclusive    = "ShareRowExclusiveLock"
	Exclusive            = "ExclusiveLock"
	AccessExclusive      = "AccessExclusiveLock"
)

var lockRank = map[string]int{
	AccessShare: 1, RowShare: 2, RowExclusive: 3, ShareUpdateExclusive: 4,
	Share: 5, ShareRowExclusive: 6, Exclusive: 7, AccessExclusive: 8,
}

// LockSQLName is the mode as SQL spells it ("ACCESS EXCLUSIVE").
func LockSQLName(mode string) string {
	switch mode {
	case AccessShare:
		return "ACCESS SHARE"
	case RowShare:
		return "ROW SHARE"
	case RowExclusive:
		return "ROW EXCLUSIVE"
	case ShareUpdateExclusive:
		return "SHARE UPDATE EXCLUSIVE"
	case Share:
		return "SHARE"
	case ShareRowExclusive:
		return "SHARE ROW EXCLUSIVE"
	case Exclusive:
		return "EXCLUSIVE"
	case AccessExclusive:
		return "ACCESS EXCLUSIVE"
	}
	return mode
}

// LockBlocks says in words what a lock mode blocks for other sessions.
func LockBlocks(mode string) string {
	switch mode {
	case AccessExclusive:
		return "every read and write"
	case Exclusive:
		return "every write and SELECT … FOR UPDATE/SHARE (plain reads go on)"
	case ShareRowExclusive, Share:
		return "INSERT, UPDATE and DELETE (reads go on)"
	case ShareUpdateExclusive:
		return "other schema changes, VACUUM and ANALYZE (reads and writes go on)"
	}
	return "only schema changes that need ACCESS EXCLUSIVE"
}

// blocksWrites reports whether the mode blocks INSERT/UPDATE/DELETE.
func blocksWrites(mode string) bool { return lockRank[mode] >= lockRank[Share] }

// RelLock is a lock a statement takes on a relation.
type RelLock struct {
	Rel  *pg_query.RangeVar
	Name string // as written, for messages ("index x" for an index)
	// Table is the table whose queries the lock holds up: the relation
	// itself, or the table of an index (queries on a table lock all its
	// indexes while they are planned), for messages.
	Table string
	Mode  string
}

// StatementLocks returns the strongest table lock a statement takes on each
// relation it names, as PostgreSQL's lock levels document them
// (https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES).
// Indexes dropped by name are reported on their table when the catalog
// knows it, else on the index. Statements that take only ACCESS SHARE or
// ROW EXCLUSIVE (queries, DML) return nothing unless dml is true.
func StatementLocks(n *pg_query.Node, cat *Catalog, dml bool) []RelLock {
	var out []RelLock
	add := func(rv *pg_query.RangeVar, mode string) {
		if rv == nil {
			return
		}
		for i := range out {
			if RelKey(out[i].Rel) == RelKey(rv) {
				if lockRank[mode] > lockRank[out[i].Mode] {
					out[i].Mode = mode
				}
				return
			}
		}
		l := RelLock{Rel: rv, Name: RelName(rv), Table: RelName(rv), Mode: mode}
		if t := cat.IndexTable(rangeVarNames(rv)); t != nil {
			// ALTER INDEX, or ALTER TABLE naming an index: never call an
			// index a table.
			l.Name, l.Table = "index "+RelName(rv), t.Name
		}
		out = append(out, l)
	}
	switch s := n.Node.(type) {
	case *pg_query.Node_AlterTableStmt:
		at := s.AlterTableStmt
		switch at.Objtype {
		case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_MATVIEW, pg_query.ObjectType_OBJECT_INDEX, pg_query.ObjectType_OBJECT_VIEW:
		default:
			return nil
		}
		mode := ""
		for _, c := range at.Cmds {
			ac := c.GetAlterTableCmd()
			if ac == nil {
				continue
			}
			m := alterCmdLock(ac)
			if lockRank[m] > lockRank[mode] {
				mode = m
			}
			if con := ac.Def.GetConstraint(); con != nil && con.Contype == pg_query.ConstrType_CONSTR_FOREIGN && con.Pktable != nil {
				add(con.Pktable, ShareRowExclusive)
			}
			if cd := ac.Def.GetColumnDef(); cd != nil {
				for _, cn := range cd.Constraints {
					if con := cn.GetConstraint(); con != nil && con.Contype == pg_query.ConstrType_CONSTR_FOREIGN && con.Pktable != nil {
						add(con.Pktable, ShareRowExclusive)
					}
				}
			}
		}
		if mode != "" {
			add(at.Relation, mode)
		}
	case *pg_query.Node_IndexStmt:
		if s.IndexStmt.Concurrent {
			add(s.IndexStmt.Relation, ShareUpdateExclusive)
		} else {
			add(s.IndexStmt.Relation, Share)
		}
	case *pg_query.Node_DropStmt:
		ds := s.DropStmt
		switch ds.RemoveType {
		case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_MATVIEW, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_SEQUENCE, pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
			for _, o := range ds.Objects {
				add(rangeVarOf(nameList(o)), AccessExclusive)
			}
		case pg_query.ObjectType_OBJECT_INDEX:
			mode := AccessExclusive
			if ds.Concurrent {
				mode = ShareUpdateExclusive
			}
			for _, o := range ds.Objects {
				names := nameList(o)
				if t := cat.IndexTable(names); t != nil {
					add(rangeVarOf(strings.Split(t.Name, ".")), mode)
				} else {
					add(rangeVarOf(names), mode)
				}
			}
		case pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_POLICY, pg_query.ObjectType_OBJECT_RULE:
			for _, o := range ds.Objects {
				names := nameList(o)
				if len(names) > 1 {
					add(rangeVarOf(names[:len(names)-1]), AccessExclusive)
				}
			}
		}
	case *pg_query.Node_TruncateStmt:
		for _, r := range s.TruncateStmt.Relations {
			add(r.GetRangeVar(), AccessExclusive)
		}
	case *pg_query.Node_ReindexStmt:
		if defElemNames(s.ReindexStmt.Params)["concurrently"] {
			add(s.ReindexStmt.Relation, ShareUpdateExclusive)
			break
		}
		switch s.ReindexStmt.Kind {
		case pg_query.ReindexObjectType_REINDEX_OBJECT_INDEX:
			if t := cat.IndexTable(rangeVarNames(s.ReindexStmt.Relation)); t != nil {
				add(rangeVarOf(strings.Split(t.Name, ".")), Share)
			} else {
				add(s.ReindexStmt.Relation, AccessExclusive)
			}
		case pg_query.ReindexObjectType_REINDEX_OBJECT_TABLE:
			add(s.ReindexStmt.Relation, Share)
		}
	case *pg_query.Node_VacuumStmt:
		if s.VacuumStmt.IsVacuumcmd && defElemNames(s.VacuumStmt.Options)["full"] {
			for _, r := range s.VacuumStmt.Rels {
				if vr := r.GetVacuumRelation(); vr != nil {
					add(vr.Relation, AccessExclusive)
				}
			}
		}
	case *pg_query.Node_ClusterStmt:
		add(s.ClusterStmt.Relation, AccessExclusive)
	case *pg_query.Node_LockStmt:
		mode := lockStmtMode(s.LockStmt.Mode)
		for _, r := range s.LockStmt.Relations {
			add(r.GetRangeVar(), mode)
		}
	case *pg_query.Node_CreateTrigStmt:
		add(s.CreateTrigStmt.Relation, ShareRowExclusive)
	case *pg_query.Node_RenameStmt:
		switch s.RenameStmt.RenameType {
		case pg_query.ObjectType_OBJECT_INDEX:
			// ALTER INDEX … RENAME takes SHARE UPDATE EXCLUSIVE since
			// PostgreSQL 12 (RenameRelation in tablecmds.c).
			add(s.RenameStmt.Relation, ShareUpdateExclusive)
		case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_COLUMN, pg_query.ObjectType_OBJECT_TABCONSTRAINT, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW:
			add(s.RenameStmt.Relation, AccessExclusive)
		}
	case *pg_query.Node_CreatePolicyStmt:
		add(s.CreatePolicyStmt.Table, AccessExclusive)
	case *pg_query.Node_RefreshMatViewStmt:
		if s.RefreshMatViewStmt.Concurrent {
			add(s.RefreshMatViewStmt.Relation, Exclusive)
		} else {
			add(s.RefreshMatViewStmt.Relation, AccessExclusive)
		}
	case *pg_query.Node_CreateStmt:
		// A new table referencing an existing one takes SHARE ROW
		// EXCLUSIVE on the referenced table to add the FK triggers.
		for _, el := range s.CreateStmt.TableElts {
			if con := el.GetConstraint(); con != nil && con.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
				add(con.Pktable, ShareRowExclusive)
			}
			if cd := el.GetColumnDef(); cd != nil {
				for _, cn := range cd.Constraints {
					if con := cn.GetConstraint(); con != nil && con.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
						add(con.Pktable, ShareRowExclusive)
					}
				}
			}
		}
	case *pg_query.Node_UpdateStmt:
		if dml {
			add(s.UpdateStmt.Relation, RowExclusive)
		}
	case *pg_query.Node_DeleteStmt:
		if dml {
			add(s.DeleteStmt.Relation, RowExclusive)
		}
	case *pg_query.Node_InsertStmt:
		if dml {
			add(s.InsertStmt.Relation, RowExclusive)
		}
	}
	return out
}

// alterCmdLock is the lock level of one ALTER TABLE subcommand
// (AlterTableGetLockLevel in src/backend/commands/tablecmds.c).
func alterCmdLock(ac *pg_query.AlterTableCmd) string {
	switch ac.Subtype {
	case pg_query.AlterTableType_AT_ValidateConstraint, pg_query.AlterTableType_AT_SetStatistics,
		pg_query.AlterTableType_AT_ClusterOn, pg_query.AlterTableType_AT_DropCluster,
		pg_query.AlterTableType_AT_SetOptions, pg_query.AlterTableType_AT_ResetOptions,
		pg_query.AlterTableType_AT_AttachPartition:
		return ShareUpdateExclusive
	case pg_query.AlterTableType_AT_SetRelOptions, pg_query.AlterTableType_AT_ResetRelOptions:
		return ShareUpdateExclusive
	case pg_query.AlterTableType_AT_DetachPartition:
		if pc := ac.Def.GetPartitionCmd(); pc != nil && pc.Concurrent {
			return ShareUpdateExclusive
		}
		return AccessExclusive
	case pg_query.AlterTableType_AT_EnableTrig, pg_query.AlterTableType_AT_DisableTrig,
		pg_query.AlterTableType_AT_EnableAlwaysTrig, pg_query.AlterTableType_AT_EnableReplicaTrig,
		pg_query.AlterTableType_AT_EnableTrigAll, pg_query.AlterTableType_AT_DisableTrigAll,
		pg_query.AlterTableType_AT_EnableTrigUser, pg_query.AlterTableType_AT_DisableTrigUser:
		return ShareRowExclusive
	case pg_query.AlterTableType_AT_AddConstraint:
		if con := ac.Def.GetConstraint(); con != nil && con.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
			return ShareRowExclusive
		}
	}
	return AccessExclusive
}

func lockStmtMode(m int32) string {
	// LOCK TABLE modes as lockdefs.h numbers them.
	switch m {
	case 1:
		return AccessShare
	case 2:
		return RowShare
	case 3:
		return RowExclusive
	case 4:
		return ShareUpdateExclusive
	case 5:
		return Share
	case 6:
		return ShareRowExclusive
	case 7:
		return Exclusive
	}
	return AccessExclusive
}

func rangeVarOf(names []string) *pg_query.RangeVar {
	switch len(names) {
	case 0:
		return nil
	case 1:
		return &pg_query.RangeVar{Relname: names[0], Inh: true}
	}
	return &pg_query.RangeVar{Schemaname: names[len(names)-2], Relname: names[len(names)-1], Inh: true}
}

func rangeVarNames(rv *pg_query.RangeVar) []string {
	if rv == nil {
		return nil
	}
	if rv.Schemaname != "" {
		return []string{rv.Schemaname, rv.Relname}
	}
	return []string{rv.Relname}
}

// IndexTable returns the table an index (qualified name parts) belongs
// to, when the catalog knows it.
func (c *Catalog) IndexTable(names []string) *Table {
	if c == nil || len(names) == 0 {
		return nil
	}
	ix := strings.ToLower(names[len(names)-1])
	if t := c.indexOwner[ix]; t != nil && t.Indexes[ix] != nil {
		return t
	}
	return nil
}

// existingLocks filters locks to relations not created earlier in the
// file.
func existingLocks(p *Pass, locks []RelLock) []RelLock {
	var out []RelLock
	for _, l := range locks {
		if !p.State.IsNew(l.Rel) {
			out = append(out, l)
		}
	}
	return out
}

// strongest returns the lock with the highest mode, or false.
func strongest(locks []RelLock) (RelLock, bool) {
	var best RelLock
	ok := false
	for _, l := range locks {
		if !ok || lockRank[l.Mode] > lockRank[best.Mode] {
			best, ok = l, true
		}
	}
	return best, ok
}

// IsSlow reports whether a statement's running time grows with the size of
// an existing table: it scans, rewrites, builds an index or changes rows.
// CONCURRENTLY builds are slow too, but hold no lock that blocks traffic.
func IsSlow(p *Pass) (string, bool) {
	n := p.Node()
	switch s := n.Node.(type) {
	case *pg_query.Node_IndexStmt:
		if !p.State.IsNew(s.IndexStmt.Relation) {
			return "CREATE INDEX", true
		}
	case *pg_query.Node_UpdateStmt:
		return "UPDATE", !p.State.IsNew(s.UpdateStmt.Relation)
	case *pg_query.Node_DeleteStmt:
		return "DELETE", !p.State.IsNew(s.DeleteStmt.Relation)
	case *pg_query.Node_InsertStmt:
		if s.InsertStmt.SelectStmt != nil && len(s.InsertStmt.SelectStmt.GetSelectStmt().GetFromClause()) > 0 {
			return "INSERT … SELECT", true
		}
	case *pg_query.Node_ReindexStmt:
		return "REINDEX", true
	case *pg_query.Node_VacuumStmt:
		if s.VacuumStmt.IsVacuumcmd {
			return "VACUUM", true
		}
		return "ANALYZE", true
	case *pg_query.Node_ClusterStmt:
		return "CLUSTER", true
	case *pg_query.Node_RefreshMatViewStmt:
		return "REFRESH MATERIALIZED VIEW", true
	case *pg_query.Node_CreateTableAsStmt:
		return "CREATE TABLE AS", true
	case *pg_query.Node_DoStmt:
		return "DO block", true
	case *pg_query.Node_AlterDomainStmt:
		if s.AlterDomainStmt.Subtype == "C" || s.AlterDomainStmt.Subtype == "V" {
			return "ALTER DOMAIN", true
		}
	case *pg_query.Node_AlterTableStmt:
		if p.State.IsNew(s.AlterTableStmt.Relation) {
			return "", false
		}
		t := p.State.Catalog.Table(s.AlterTableStmt.Relation)
		for _, c := range s.AlterTableStmt.Cmds {
			ac := c.GetAlterTableCmd()
			if ac == nil {
				continue
			}
			switch ac.Subtype {
			case pg_query.AlterTableType_AT_ValidateConstraint:
				return "VALIDATE CONSTRAINT", true
			case pg_query.AlterTableType_AT_AlterColumnType:
				cd := ac.Def.GetColumnDef()
				if col := t.Column(ac.Name); cd != nil && cd.TypeName != nil && cd.RawDefault == nil && col != nil && col.Type != nil {
					if rw, _ := typeChange(p, col.Type, cd.TypeName); !rw {
						continue // binary-coercible: a catalog change only
					}
				}
				return "ALTER COLUMN … TYPE", true
			case pg_query.AlterTableType_AT_SetNotNull:
				if !(p.Settings.PGVersion.AtLeast(12, 0) && t.ProvedNotNull(ac.Name)) {
					return "SET NOT NULL", true
				}
			case pg_query.AlterTableType_AT_AddConstraint:
				if con := ac.Def.GetConstraint(); con != nil && !con.SkipValidation && con.Indexname == "" {
					return "ADD CONSTRAINT", true
				}
			case pg_query.AlterTableType_AT_AddColumn:
				if cd := ac.Def.GetColumnDef(); cd != nil && columnRewrites(p, cd) != "" {
					return "ADD COLUMN", true
				}
			case pg_query.AlterTableType_AT_SetTableSpace, pg_query.AlterTableType_AT_SetLogged, pg_query.AlterTableType_AT_SetUnLogged, pg_query.AlterTableType_AT_SetAccessMethod:
				return "ALTER TABLE (rewrite)", true
			}
		}
	}
	return "", false
}
