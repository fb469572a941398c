package checks

import (
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// TestCombinedCreateTableFix: the column rules on one CREATE TABLE show
// one statement with all their changes, which parses and raises none of
// them when checked again.
func TestCombinedCreateTableFix(t *testing.T) {
	src := "CREATE TABLE events (\n  id serial PRIMARY KEY,\n  name varchar(100) NOT NULL,\n  created_at timestamp NOT NULL,\n  payload json,\n  code char(3)\n);\n"
	res := Run([]*sqlparse.File{sqlparse.ParseFile("m.sql", []byte(src), sqlparse.Options{Framework: sqlparse.FrameworkSQL})}, Settings{})
	combined := []string{"json-not-jsonb", "small-integer-ids", "timestamp-without-tz", "varchar-length", "char-n"}
	var sql string
	for _, id := range combined {
		var fix string
		for _, f := range res.Findings {
			if f.Rule == id {
				fix = f.Fix
			}
		}
		if fix == "" {
			t.Fatalf("no %s finding", id)
		}
		i := strings.Index(fix, "    CREATE TABLE")
		j := strings.Index(fix, ");")
		if i < 0 || j < i {
			t.Fatalf("%s: no CREATE TABLE in fix:\n%s", id, fix)
		}
		got := strings.ReplaceAll(fix[i:j+2], "\n    ", "\n")[4:]
		if sql == "" {
			sql = got
		} else if got != sql {
			t.Errorf("%s shows another statement:\n%s\nthan the first:\n%s", id, got, sql)
		}
		if !strings.Contains(fix, "applies the fixes of") || strings.Contains(fix, "pg_catalog.") {
			t.Errorf("%s: fix does not name the combined rules or leaks pg_catalog.:\n%s", id, fix)
		}
	}
	f := sqlparse.ParseFile("fixed.sql", []byte(sql), sqlparse.Options{Framework: sqlparse.FrameworkSQL})
	if len(f.Statements) != 1 || f.Statements[0].Err != nil {
		t.Fatalf("combined statement does not parse:\n%s", sql)
	}
	for _, fd := range Run([]*sqlparse.File{f}, Settings{}).Findings {
		for _, id := range combined {
			if fd.Rule == id {
				t.Errorf("combined statement raises %s again: %s\n%s", id, fd.Message, sql)
			}
		}
	}
}

func TestColumnTextFixOneRule(t *testing.T) {
	src := "CREATE TABLE t (\n  id bigint PRIMARY KEY,\n  at timestamp(3) without time zone DEFAULT now()\n);\n"
	res := Run([]*sqlparse.File{sqlparse.ParseFile("m.sql", []byte(src), sqlparse.Options{Framework: sqlparse.FrameworkSQL})}, Settings{})
	for _, f := range res.Findings {
		if f.Rule != "timestamp-without-tz" {
			continue
		}
		want := "    CREATE TABLE t (\n      id bigint PRIMARY KEY,\n      at timestamptz(3) DEFAULT now()\n    );"
		if !strings.Contains(f.Fix, want) || strings.Contains(f.Fix, "applies the fixes of") {
			t.Errorf("fix:\n%s\nwant it to show:\n%s", f.Fix, want)
		}
		return
	}
	t.Fatal("no timestamp-without-tz finding")
}

// TestCombinedFixLeavesIgnoredRules: a rule ignored on the statement adds
// nothing to the combined statement.
func TestCombinedFixLeavesIgnoredRules(t *testing.T) {
	src := "-- pgai:ignore varchar-length the limit is the protocol's\nCREATE TABLE events (\n  id serial PRIMARY KEY,\n  name varchar(100) NOT NULL,\n  payload json\n);\n"
	res := Run([]*sqlparse.File{sqlparse.ParseFile("m.sql", []byte(src), sqlparse.Options{Framework: sqlparse.FrameworkSQL})}, Settings{})
	for _, f := range res.Findings {
		if f.Rule == "json-not-jsonb" {
			if !strings.Contains(f.Fix, "name varchar(100) NOT NULL,\n      payload jsonb") || !strings.Contains(f.Fix, "id bigint GENERATED ALWAYS AS IDENTITY") ||
				!strings.Contains(f.Fix, "json-not-jsonb and small-integer-ids together") {
				t.Errorf("fix:\n%s", f.Fix)
			}
			return
		}
	}
	t.Fatal("no json-not-jsonb finding")
}
