package checks

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// utcZones are time zone names with offset 0 and no daylight saving time:
// with one of them as the session TimeZone, timestamp ↔ timestamptz needs
// no rewrite (TimestampTimestampTzRequiresRewrite, PostgreSQL 12+).
var utcZones = map[string]bool{
	"UTC": true, "ETC/UTC": true, "GMT": true, "ETC/GMT": true, "UCT": true, "ETC/UCT": true,
	"UNIVERSAL": true, "ETC/UNIVERSAL": true, "ZULU": true, "ETC/ZULU": true, "GMT0": true, "ETC/GMT0": true,
	"GMT+0": true, "GMT-0": true, "ETC/GMT+0": true, "ETC/GMT-0": true, "GREENWICH": true, "ETC/GREENWICH": true,
}

func isUTC(tz string) bool { return utcZones[strings.ToUpper(strings.TrimSpace(tz))] }

// sessionTimeZone is the TimeZone the statement runs with: set earlier in
// the file, or the configured one.
func sessionTimeZone(p *Pass) string {
	if p.State.TimeZone != "" {
		return p.State.TimeZone
	}
	if p.Settings.SessionTimeZone != "" {
		return p.Settings.SessionTimeZone
	}
	return "UTC"
}

// typeChange says whether changing a column from old to new rewrites the
// table. The conversions that do not rewrite are the binary-coercible ones
// (pg_cast.castmethod = 'b') and the typmod changes whose length-coercion
// function has a support function that drops it (varchar_support,
// numeric_support, varbit_support, timestamp_support, time_support);
// each is proven by the rule's fixtures on PostgreSQL.
func typeChange(p *Pass, old, new *pg_query.TypeName) (rewrites bool, why string) {
	if len(old.ArrayBounds) != len(new.ArrayBounds) {
		return true, "array dimension changes"
	}
	o, n := CanonicalType(old), CanonicalType(new)
	om, ok1 := typmods(old)
	nm, ok2 := typmods(new)
	if !ok1 || !ok2 {
		return true, "type modifiers are not constants"
	}
	same := func() bool {
		if len(om) != len(nm) {
			return false
		}
		for i := range om {
			if om[i] != nm[i] {
				return false
			}
		}
		return true
	}
	widened := func() bool { // a length/precision limit raised or removed
		return len(nm) == 0 || (len(om) == 1 && len(nm) == 1 && nm[0] >= om[0])
	}
	switch {
	case o == n && same():
		return false, "the type does not change"
	case o == "varchar" && n == "varchar", o == "varbit" && n == "varbit":
		if widened() {
			return false, "raising or removing the length limit is binary-coercible"
		}
		return true, "a shorter length limit must rewrite (and check) every value"
	case (o == "varchar" || o == "text" || o == "xml") && n == "text":
		return false, o + " → text is binary-coercible"
	case o == "text" && n == "varchar":
		if len(nm) == 0 {
			return false, "text → varchar without a length is binary-coercible"
		}
		return true, "text → varchar(n) checks and rewrites every value"
	case o == "cidr" && n == "inet":
		return false, "cidr → inet is binary-coercible"
	case o == "numeric" && n == "numeric":
		switch {
		case len(nm) == 0:
			return false, "removing the precision limit is binary-coercible"
		case len(om) == 0:
			return true, "adding a precision limit rewrites every value"
		}
		os, ns := int32(0), int32(0)
		if len(om) > 1 {
			os = om[1]
		}
		if len(nm) > 1 {
			ns = nm[1]
		}
		if os == ns && nm[0] >= om[0] {
			return false, "raising the precision with the same scale is binary-coercible"
		}
		return true, "changing the scale or lowering the precision rewrites every value"
	case (o == "timestamp" || o == "timestamptz" || o == "time" || o == "timetz" || o == "interval") && n == o:
		if widened() {
			return false, "raising or removing the fractional-seconds precision is binary-coercible"
		}
		return true, "lowering the precision rounds (rewrites) every value"
	case (o == "timestamp" && n == "timestamptz") || (o == "timestamptz" && n == "timestamp"):
		if !(len(nm) == 0 || (len(om) == 1 && len(nm) == 1 && nm[0] >= om[0])) {
			return true, "lowering the precision rounds (rewrites) every value"
		}
		tz := sessionTimeZone(p)
		if !p.Settings.PGVersion.AtLeast(12, 0) {
			return true, fmt.Sprintf("before PostgreSQL 12 (target: %s) %s → %s always rewrites", p.Settings.PGVersion, o, n)
		}
		if isUTC(tz) {
			return false, "with the session TimeZone " + tz + " the conversion is binary-coercible (PostgreSQL 12+)"
		}
		return true, fmt.Sprintf("the session TimeZone is %s, not UTC, so every value is converted", tz)
	}
	return true, fmt.Sprintf("%s → %s is not binary-coercible", TypeSQL(old), TypeSQL(new))
}

var alterColumnType = &Rule{
	ID:       "alter-column-type",
	Predicts: Prediction{Rewrite: true},
	Group:    "locks",
	Severity: Error,
	Summary:  "ALTER COLUMN … TYPE that rewrites an existing table.",
	Why: "Unless the conversion is binary-coercible, ALTER COLUMN … TYPE rewrites every row and rebuilds every index of the " +
		"table while holding ACCESS EXCLUSIVE: every read and write waits until it ends. Binary-coercible changes (varchar " +
		"widening, varchar → text, numeric precision increase with the same scale, timestamp ↔ timestamptz with a UTC session " +
		"TimeZone on PostgreSQL 12+, cidr → inet, …) only update the catalog and are not reported. A new type may also break " +
		"application code that reads the column.",
	Fix: "Add a new column of the new type, keep it in sync with a trigger, backfill it in batches, then swap the columns " +
		"in one short transaction; or choose a binary-coercible change.",
	DocsURL: "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DATA-TYPE",
	Check: func(p *Pass) {
		rv, cmds := p.AlterCmds()
		if rv == nil || p.State.IsNew(rv) {
			return
		}
		t := p.State.Catalog.Table(rv)
		for _, c := range cmds {
			cd := c.Def.GetColumnDef()
			if c.Subtype != pg_query.AlterTableType_AT_AlterColumnType || cd == nil || cd.TypeName == nil {
				continue
			}
			table, col := RelName(rv), c.Name
			newType := TypeSQL(cd.TypeName)
			using := cd.RawDefault
			if using != nil && isSameColumn(using, col, cd.TypeName) {
				using = nil
			}
			old := t.Column(col)
			if using != nil {
				p.Report(fmt.Sprintf("ALTER COLUMN %s.%s TYPE %s USING %s rewrites table %s and rebuilds its indexes under ACCESS EXCLUSIVE.",
					table, col, newType, exprSQL(using), table), "", typeChangeFix(p, rv, col, cd.TypeName, exprSQL(using), ""))
				continue
			}
			if old == nil || old.Type == nil {
				p.Report(fmt.Sprintf("ALTER COLUMN %s.%s TYPE %s may rewrite table %s under ACCESS EXCLUSIVE: the column's current type is not in the reviewed migrations, so it cannot be told whether the change is binary-coercible.",
					table, col, newType, table), "", typeChangeFix(p, rv, col, cd.TypeName, "", ""))
				continue
			}
			rewrites, why := typeChange(p, old.Type, cd.TypeName)
			if !rewrites {
				continue
			}
			p.Report(fmt.Sprintf("ALTER COLUMN %s.%s TYPE %s (from %s) rewrites table %s and rebuilds its indexes under ACCESS EXCLUSIVE: %s.",
				table, col, newType, TypeSQL(old.Type), table, why), "", typeChangeFix(p, rv, col, cd.TypeName, "", CanonicalType(old.Type)))
		}
	},
}

// isSameColumn reports whether a USING expression is just the column, or
// the column cast to the new type (which behaves like no USING).
func isSameColumn(e *pg_query.Node, col string, tn *pg_query.TypeName) bool {
	if tc := e.GetTypeCast(); tc != nil {
		if CanonicalType(tc.TypeName) != CanonicalType(tn) {
			return false
		}
		e = tc.Arg
	}
	cr := e.GetColumnRef()
	if cr == nil {
		return false
	}
	f := stringList(cr.Fields)
	return len(f) == 1 && f[0] == strings.ToLower(col)
}

func typeChangeFix(p *Pass, rv *pg_query.RangeVar, col string, tn *pg_query.TypeName, using, oldCanon string) string {
	table, q, newType := RelName(rv), quoteIdent(col), TypeSQL(tn)
	newCol := quoteIdent(col + "_new")
	key := batchKey(p, rv)
	conv := q + "::" + newType
	if using != "" {
		conv = using
	}
	var b strings.Builder
	newCanon := CanonicalType(tn)
	switch {
	case (oldCanon == "timestamp" && newCanon == "timestamptz") || (oldCanon == "timestamptz" && newCanon == "timestamp"):
		if p.Settings.PGVersion.AtLeast(12, 0) {
			b.WriteString("If the stored values are UTC, run the change with a UTC session time zone: on PostgreSQL 12+ it then needs no rewrite.\n\n")
			b.WriteString(Indent(withTimeouts(p.Stmt.InTransaction, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s;", table, q, newType), timeout{"TimeZone", "'UTC'"})))
			b.WriteString("\n\nOtherwise, move the data to a new column:\n\n")
		} else {
			b.WriteString("Move the data to a new column of the new type instead of rewriting the table under ACCESS EXCLUSIVE (from PostgreSQL 12 the change needs no rewrite when the session TimeZone is UTC):\n\n")
		}
	case oldCanon == "varchar" && newCanon == "varchar":
		b.WriteString(fmt.Sprintf("To limit the length without a rewrite, use text or an unlimited varchar with a CHECK constraint, added NOT VALID and validated separately:\n\n"+
			Indent("ALTER TABLE %s ADD CONSTRAINT %s CHECK (char_length(%s) <= N) NOT VALID;\nALTER TABLE %s VALIDATE CONSTRAINT %s;  -- separate transaction")+
			"\n\nOr move the data to a new column:\n\n", table, DefaultConstraintName(rv.Relname, []string{col}, "_length"), q, table, DefaultConstraintName(rv.Relname, []string{col}, "_length")))
	default:
		b.WriteString("Move the data to a new column of the new type instead of rewriting the table under ACCESS EXCLUSIVE:\n\n")
	}
	b.WriteString(Indent(fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s %s;
-- keep new writes in sync: a BEFORE INSERT OR UPDATE trigger setting NEW.%s := %s
-- backfill in batches, each in its own transaction:
UPDATE %s SET %s = %s WHERE %s IN (SELECT %s FROM %s WHERE %s IS NULL LIMIT 10000);
-- then swap in one short transaction:
%s`,
		table, newCol, newType, newCol, strings.ReplaceAll(conv, q, "NEW."+q),
		table, newCol, conv, key, key, table, newCol,
		inOneTransaction(p.Stmt.InTransaction, fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s;\nALTER TABLE %s RENAME COLUMN %s TO %s;",
			table, q, quoteIdent(col+"_old"), table, newCol, q), lockTimeout2s))))
	b.WriteString("\n\nRecreate indexes and constraints on the new column with CREATE INDEX CONCURRENTLY and NOT VALID + VALIDATE before the swap.")
	return b.String()
}
