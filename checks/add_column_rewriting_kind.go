package checks

import "fmt"

var addColumnRewritingKind = &Rule{
	ID:       "add-column-rewriting-kind",
	Predicts: Prediction{Rewrite: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "ADD COLUMN of a serial/bigserial, identity or stored generated column on an existing table.",
	Why: "serial and identity columns take a nextval() value for every existing row, and a stored generated column is " +
		"computed for every existing row: PostgreSQL rewrites the whole table and rebuilds its indexes under ACCESS EXCLUSIVE, " +
		"so every read and write on the table waits until the rewrite ends.",
	Fix:     "Add a plain nullable column (no rewrite), attach the sequence or the computation for new rows, and fill existing rows in batches.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-COLUMN",
	Check: func(p *Pass) {
		rv, cols := addedColumns(p)
		for _, cd := range cols {
			kind, detail := columnRewriteKind(p, cd)
			table, col := RelName(rv), quoteIdent(cd.Colname)
			var msg, fix string
			switch kind {
			case "serial", "identity":
				typ := "bigint"
				if kind == "serial" {
					switch CanonicalType(cd.TypeName) {
					case "serial4":
						typ = "integer"
					case "serial2":
						typ = "smallint"
					}
				} else if cd.TypeName != nil {
					typ = TypeSQL(cd.TypeName)
				}
				seq := rv.Relname + "_" + cd.Colname + "_seq"
				msg = fmt.Sprintf("ADD COLUMN %s %s rewrites table %s under ACCESS EXCLUSIVE to number every existing row.", cd.Colname, detail, table)
				fix = "Add a plain column and a sequence, and give new rows numbers from it (none of these rewrites):\n\n" +
					Indent(fmt.Sprintf("CREATE SEQUENCE %s AS %s;\nALTER TABLE %s ADD COLUMN %s %s;\nALTER TABLE %s ALTER COLUMN %s SET DEFAULT nextval('%s');\nALTER SEQUENCE %s OWNED BY %s.%s;",
						seq, typ, table, col, typ, table, col, seq, seq, table, col)) +
					"\n\nThen number existing rows in batches (UPDATE … SET " + col + " = nextval('" + seq + "') WHERE " + col + " IS NULL … LIMIT), each batch in its own transaction, " +
					"and make the column NOT NULL through a validated CHECK (" + col + " IS NOT NULL) constraint."
			case "generated":
				msg = fmt.Sprintf("ADD COLUMN %s %s rewrites table %s under ACCESS EXCLUSIVE to compute it for every existing row.", cd.Colname, detail, table)
				fix = "Add a plain nullable column (no rewrite), keep it up to date for new rows with a BEFORE INSERT OR UPDATE trigger, " +
					"and fill existing rows in batches:\n\n" + Indent(fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s;", table, col, TypeSQL(cd.TypeName)))
				if p.Settings.PGVersion.AtLeast(18, 0) {
					fix += "\n\nOn PostgreSQL 18 and later a virtual generated column (GENERATED ALWAYS AS (…) VIRTUAL, the default) is computed on read and needs no rewrite."
				}
			default:
				continue
			}
			p.Report(msg, "", fix)
		}
	},
}
