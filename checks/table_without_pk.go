package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var tableWithoutPK = &Rule{
	ID:       "table-without-pk",
	Group:    "types",
	Severity: Warning,
	Summary:  "CREATE TABLE without a primary key (and none added later in the migration).",
	Why: "Without a primary key a row cannot be addressed reliably: once the table is in a logical-replication publication (upgrades, " +
		"CDC, Debezium) every UPDATE and DELETE on it fails with \"cannot update table … because it does not have a replica identity " +
		"and publishes updates\" (55000) unless REPLICA IDENTITY FULL is set, which makes the subscriber scan for each row. " +
		"pg_repack and other online rewrite tools refuse it, ORMs cannot update single rows, and duplicate rows creep in.",
	Fix:     "Declare the natural key as PRIMARY KEY, or add a surrogate key: `id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`.",
	DocsURL: "https://www.postgresql.org/docs/current/logical-replication-publication.html",
	Check: func(p *Pass) {
		cs := p.Node().GetCreateStmt()
		// Partitions get the parent's key, typed tables and LIKE copies
		// may bring one along, temporary tables live for one session.
		if cs == nil || cs.Partbound != nil || cs.OfTypename != nil || cs.Relation.GetRelpersistence() == "t" || hasLike(cs) {
			return
		}
		if createHasPK(cs) || laterStmt(p, func(n *pg_query.Node) bool { return addsPK(n, cs.Relation) }) {
			return
		}
		safe := SafeSQL(p.Node(), func(n *pg_query.Node) {
			c := n.GetCreateStmt()
			for _, e := range c.TableElts {
				if cd := e.GetColumnDef(); cd != nil && strings.EqualFold(cd.Colname, "id") {
					cd.Constraints = append(cd.Constraints, &pg_query.Node{Node: &pg_query.Node_Constraint{Constraint: &pg_query.Constraint{Contype: pg_query.ConstrType_CONSTR_PRIMARY}}})
					return
				}
			}
			id := &pg_query.ColumnDef{Colname: "id", TypeName: builtinTypeName("int8"), IsLocal: true, Constraints: []*pg_query.Node{
				{Node: &pg_query.Node_Constraint{Constraint: &pg_query.Constraint{Contype: pg_query.ConstrType_CONSTR_IDENTITY, GeneratedWhen: "a"}}},
				{Node: &pg_query.Node_Constraint{Constraint: &pg_query.Constraint{Contype: pg_query.ConstrType_CONSTR_PRIMARY}}},
			}}
			c.TableElts = append([]*pg_query.Node{{Node: &pg_query.Node_ColumnDef{ColumnDef: id}}}, c.TableElts...)
		})
		fix := p.Rule().Fix
		if safe != "" {
			fix = "Declare the natural key as PRIMARY KEY (col, …) if the table has one; otherwise give it a key:\n\n" + Indent(safe)
		}
		p.Report(fmt.Sprintf("Table %s has no primary key: its UPDATEs and DELETEs fail once it is in a logical-replication publication.", RelName(cs.Relation)), "", fix)
	},
}

func hasLike(cs *pg_query.CreateStmt) bool {
	for _, e := range cs.TableElts {
		if e.GetTableLikeClause() != nil {
			return true
		}
	}
	return false
}

func createHasPK(cs *pg_query.CreateStmt) bool {
	for _, e := range cs.TableElts {
		if k := e.GetConstraint(); k != nil && k.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
			return true
		}
		if cd := e.GetColumnDef(); cd != nil && columnConstraint(cd, pg_query.ConstrType_CONSTR_PRIMARY) != nil {
			return true
		}
	}
	return false
}

// addsPK reports whether n is an ALTER TABLE on rel that adds a primary key.
func addsPK(n *pg_query.Node, rel *pg_query.RangeVar) bool {
	r, cmds := AlterCmds(n)
	if r == nil || RelKey(r) != RelKey(rel) {
		return false
	}
	for _, c := range cmds {
		switch c.Subtype {
		case pg_query.AlterTableType_AT_AddConstraint:
			if k := c.GetDef().GetConstraint(); k != nil && k.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
				return true
			}
		case pg_query.AlterTableType_AT_AddColumn:
			if cd := c.GetDef().GetColumnDef(); cd != nil && columnConstraint(cd, pg_query.ConstrType_CONSTR_PRIMARY) != nil {
				return true
			}
		}
	}
	return false
}
