package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var attachPartitionScan = &Rule{
	ID:       "attach-partition-scan",
	Group:    "locks",
	Severity: Warning,
	Summary:  "ATTACH PARTITION of an existing table without a validated CHECK constraint that implies the partition bound.",
	Why: "ATTACH PARTITION scans the whole table being attached to prove every row fits the partition bound, holding ACCESS " +
		"EXCLUSIVE on it (and, from PostgreSQL 12, SHARE UPDATE EXCLUSIVE on the partitioned table; before 12 ACCESS EXCLUSIVE " +
		"on the partitioned table too, blocking all its traffic). The scan is skipped when a validated CHECK constraint on the " +
		"table already implies the bound.",
	Fix: "Add a CHECK constraint matching the bound NOT VALID, VALIDATE it in a separate transaction (SHARE UPDATE EXCLUSIVE), " +
		"attach, then drop the CHECK.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-ATTACH-PARTITION",
	Check: func(p *Pass) {
		rv, cmds := p.AlterCmds()
		if rv == nil || p.State.IsNew(rv) {
			return
		}
		for _, c := range cmds {
			pc := c.Def.GetPartitionCmd()
			if c.Subtype != pg_query.AlterTableType_AT_AttachPartition || pc == nil || pc.Name == nil || p.State.IsNew(pc.Name) {
				continue
			}
			child := p.State.Catalog.Table(pc.Name)
			if child != nil {
				validated := false
				for _, k := range child.Constraints {
					validated = validated || (k.Type == pg_query.ConstrType_CONSTR_CHECK && k.Validated)
				}
				if validated {
					continue // assume the CHECK was written for this bound
				}
			}
			parent := p.State.Catalog.Table(rv)
			check := boundCheck(parent, pc.Bound)
			name := DefaultConstraintName(pc.Name.Relname, nil, "_partition_bound")
			fix := "Prove the bound with a validated CHECK first, so that ATTACH skips the scan:\n\n" +
				Indent(fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s) NOT VALID;", RelName(pc.Name), name, check)) +
				"\n\nThen, in a separate transaction:\n\n" +
				Indent(fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;\n%s\nALTER TABLE %s DROP CONSTRAINT %s;",
					RelName(pc.Name), name, strings.TrimSpace(p.Stmt.Text)+";", RelName(pc.Name), name))
			parentLock := "SHARE UPDATE EXCLUSIVE on " + RelName(rv)
			if !p.Settings.PGVersion.AtLeast(12, 0) {
				parentLock = "ACCESS EXCLUSIVE on " + RelName(rv) + " (before PostgreSQL 12), blocking all its traffic"
			}
			p.Report(fmt.Sprintf("ATTACH PARTITION %s scans it under ACCESS EXCLUSIVE, holding %s, because no validated CHECK constraint implies the partition bound.",
				RelName(pc.Name), parentLock), "", fix)
		}
	},
}

// boundCheck writes a partition bound as a CHECK expression when the key is
// one column and the bound a range or a list; otherwise a placeholder.
func boundCheck(parent *Table, b *pg_query.PartitionBoundSpec) string {
	if parent == nil || len(parent.PartitionKey) != 1 || parent.PartitionKey[0] == "" || b == nil || b.IsDefault {
		return "<the partition bound as a condition>"
	}
	k := quoteIdent(parent.PartitionKey[0])
	vals := func(ns []*pg_query.Node) []string {
		var out []string
		for _, n := range ns {
			out = append(out, exprSQL(n))
		}
		return out
	}
	switch b.Strategy {
	case "r":
		lo, hi := vals(b.Lowerdatums), vals(b.Upperdatums)
		if len(lo) != 1 || len(hi) != 1 {
			break
		}
		var parts []string
		parts = append(parts, k+" IS NOT NULL")
		if !strings.EqualFold(lo[0], "MINVALUE") {
			parts = append(parts, fmt.Sprintf("%s >= %s", k, lo[0]))
		}
		if !strings.EqualFold(hi[0], "MAXVALUE") {
			parts = append(parts, fmt.Sprintf("%s < %s", k, hi[0]))
		}
		return strings.Join(parts, " AND ")
	case "l":
		return fmt.Sprintf("%s IS NOT NULL AND %s IN (%s)", k, k, strings.Join(vals(b.Listdatums), ", "))
	}
	return "<the partition bound as a condition>"
}
