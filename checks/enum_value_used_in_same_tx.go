package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

var enumValueUsedInSameTx = &Rule{
	ID:       "enum-value-used-in-same-tx",
	Group:    "transactions",
	Severity: Error,
	Summary:  "An enum value added with ALTER TYPE … ADD VALUE and used later in the same transaction.",
	Why: "From PostgreSQL 12, ALTER TYPE … ADD VALUE may run inside a transaction block, but the new value cannot be used " +
		"until the transaction commits: the statement that uses it fails with SQLSTATE 55P04 (unsafe use of new value), " +
		"and the migration fails at deploy time.",
	Fix:     "Commit between adding the value and using it: put the statements that use it in the next migration.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertype.html#SQL-ALTERTYPE-NOTES",
	Check: func(p *Pass) {
		if !p.Stmt.InTransaction || !p.Settings.PGVersion.AtLeast(12, 0) {
			return // before 12 ADD VALUE itself fails in a transaction: concurrent-in-transaction
		}
		added := map[string]string{} // value → "type (line n)"
		for _, st := range sameTxEarlier(p) {
			if ae := st.Node.GetAlterEnumStmt(); ae != nil && ae.OldVal == "" && ae.NewVal != "" {
				added[ae.NewVal] = fmt.Sprintf("%s (line %d)", strings.Join(nodeStrings(ae.TypeName), "."), st.Start.Line)
			}
		}
		if len(added) == 0 {
			return
		}
		used := ""
		walkNodes(p.Node(), func(n *pg_query.Node) {
			if c := n.GetAConst(); c != nil && used == "" {
				if sv := c.GetSval(); sv != nil {
					if _, ok := added[sv.Sval]; ok {
						used = sv.Sval
					}
				}
			}
		})
		if used == "" {
			return
		}
		p.Report(fmt.Sprintf("'%s' was added to enum %s in this same transaction: using it before COMMIT fails with SQLSTATE 55P04.", used, added[used]), "",
			"Commit first. "+moveAdvice(p))
	},
}
