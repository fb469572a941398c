package checks

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// TestRobustAlterTable: the re-runnable form of an ALTER TABLE is made by
// editing the user's text; the result must parse to the statement that
// the parse-tree edit (SafeSQL, the fallback) gives.
func TestRobustAlterTable(t *testing.T) {
	t.Parallel()
	tests := []struct{ sql, want string }{
		{"ALTER TABLE orders ADD COLUMN note text", "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;"},
		{"alter table only public.orders add note numeric(10, 2) default 0, drop column old, drop constraint c_chk",
			"alter table only public.orders add IF NOT EXISTS note numeric(10, 2) default 0, drop column IF EXISTS old, drop constraint IF EXISTS c_chk;"},
		{"ALTER TABLE IF EXISTS \"Odd, name\" ADD COLUMN a text DEFAULT 'x, (y', ALTER COLUMN b SET NOT NULL, DROP b2",
			"ALTER TABLE IF EXISTS \"Odd, name\" ADD COLUMN IF NOT EXISTS a text DEFAULT 'x, (y', ALTER COLUMN b SET NOT NULL, DROP IF EXISTS b2;"},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, DROP COLUMN b", "ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, DROP COLUMN IF EXISTS b;"},
		{"ALTER TABLE t\n  ADD COLUMN a int CHECK (a > 0),\n  ADD CONSTRAINT t_u UNIQUE (a, b)",
			"ALTER TABLE t DROP CONSTRAINT IF EXISTS t_u;\nALTER TABLE t\n  ADD COLUMN IF NOT EXISTS a int CHECK (a > 0),\n  ADD CONSTRAINT t_u UNIQUE (a, b);"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			t.Parallel()
			st := sqlparse.ParseFile("m.sql", []byte(tt.sql+";"), sqlparse.Options{}).Statements[0]
			got, _ := robustForm(st, true)
			if got != tt.want {
				t.Errorf("robustForm:\n got %s\nwant %s", got, tt.want)
			}
			// The same statement as the parse-tree edit.
			lines := strings.Split(got, ";\n")
			edited := sqlparse.ParseFile("e.sql", []byte(lines[len(lines)-1]), sqlparse.Options{}).Statements[0]
			viaText, err := sqlparse.Deparse(edited.Node)
			if err != nil {
				t.Fatal(err)
			}
			viaTree := SafeSQL(st.Node, func(c *pg_query.Node) {
				for _, cmd := range c.GetAlterTableStmt().Cmds {
					switch ac := cmd.GetAlterTableCmd(); ac.Subtype {
					case pg_query.AlterTableType_AT_AddColumn, pg_query.AlterTableType_AT_DropColumn, pg_query.AlterTableType_AT_DropConstraint:
						ac.MissingOk = true
					}
				}
			})
			if viaText+";" != viaTree {
				t.Errorf("text edit and tree edit differ:\ntext %s;\ntree %s", viaText, viaTree)
			}
		})
	}
}
