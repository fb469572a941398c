package checks

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/sqlparse"
)

func TestLongIdentifiers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 64)
	tests := []struct {
		name, sql string
		want      []string
	}{
		{"short names", "CREATE TABLE orders (id bigint)", nil},
		{"exactly 63 bytes", "CREATE TABLE " + strings.Repeat("b", 63) + " (id bigint)", nil},
		{"unquoted, folded to lower case", "CREATE TABLE " + strings.ToUpper(long) + " (id bigint)", []string{long}},
		{"quoted keeps case and doubled quotes", `CREATE TABLE "` + strings.Repeat("A", 62) + `""x" (id bigint)`, []string{strings.Repeat("A", 62) + `"x`}},
		{"reported once", "CREATE INDEX ON t (" + long + ", " + long + ")", []string{long}},
		{"string constant", "COMMENT ON TABLE t IS '" + long + "'", nil},
		{"string with doubled quote", "SELECT 'it''s " + long + "'", nil},
		{"escape string", `SELECT E'\'` + long + `'`, nil},
		{"prefixed string", "SELECT X'" + long + "'", nil},
		{"dollar quoted body", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1 AS " + long + " $body$", nil},
		{"line comment", "SELECT 1 -- " + long, nil},
		{"nested block comment", "SELECT /* /* " + long + " */ still comment */ 1", nil},
		{"multi-byte characters count in bytes", "CREATE TABLE " + strings.Repeat("é", 32) + " (id int)", []string{strings.Repeat("é", 32)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if d := cmp.Diff(tt.want, longIdentifiers(tt.sql)); d != "" {
				t.Errorf("longIdentifiers(%q) (-want +got):\n%s", tt.sql, d)
			}
		})
	}
}

func TestTruncateIdent(t *testing.T) {
	t.Parallel()
	// 31 two-byte characters are 62 bytes; the 32nd would end at byte 64,
	// so PostgreSQL keeps 62 bytes rather than split it.
	in := strings.Repeat("é", 40)
	if got, want := truncateIdent(in), strings.Repeat("é", 31); got != want {
		t.Errorf("truncateIdent = %q (%d bytes), want %q", got, len(got), want)
	}
	if got := truncateIdent(strings.Repeat("x", 70)); len(got) != 63 {
		t.Errorf("truncateIdent of 70 ASCII bytes has %d bytes, want 63", len(got))
	}
}

// TestFixSQL checks the mechanical fixes: the statement the user wrote,
// deparsed with the fix applied.
func TestFixSQL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule, setup, sql string
		pg               string
		want             []string // lines the fix must contain
	}{
		{rule: "json-not-jsonb", sql: "CREATE TABLE w (id bigint PRIMARY KEY, payload json[], meta json)",
			want: []string{"CREATE TABLE w (id bigint PRIMARY KEY, payload jsonb[], meta jsonb);"}},
		{rule: "small-integer-ids", sql: "CREATE TABLE o (id serial PRIMARY KEY, c int REFERENCES c (id))",
			want: []string{"CREATE TABLE o (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, c bigint REFERENCES c (id));"}},
		{rule: "small-integer-ids", pg: "9.6", sql: "CREATE TABLE o (id serial PRIMARY KEY)",
			want: []string{"CREATE TABLE o (id bigserial PRIMARY KEY);"}},
		{rule: "serial-not-identity", sql: "CREATE TABLE o (id bigserial PRIMARY KEY, n text)",
			want: []string{"CREATE TABLE o (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n text);"}},
		{rule: "timestamp-without-tz", sql: "ALTER TABLE o ADD COLUMN at timestamp(3)",
			want: []string{"ALTER TABLE o ADD COLUMN at timestamptz(3);"}},
		{rule: "varchar-length", sql: "CREATE TABLE p (name varchar(50) NOT NULL)",
			want: []string{"CREATE TABLE p (name text NOT NULL CHECK (char_length(name) <= 50));"}},
		{rule: "varchar-length", sql: "ALTER TABLE p ALTER COLUMN name TYPE varchar(80)",
			want: []string{"ALTER TABLE p ALTER COLUMN name TYPE text;", "ALTER TABLE p ADD CONSTRAINT p_name_length CHECK (char_length(name) <= 80) NOT VALID;"}},
		{rule: "char-n", sql: "ALTER TABLE a ADD COLUMN country char(2)",
			want: []string{"ALTER TABLE a ADD COLUMN country text;", "ALTER TABLE a VALIDATE CONSTRAINT a_country_length;  -- separate transaction, SHARE UPDATE EXCLUSIVE"}},
		{rule: "drop-cascade", sql: "DROP VIEW v, w CASCADE", want: []string{"DROP VIEW v, w;"}},
		{rule: "on-delete-cascade", sql: "ALTER TABLE l ADD CONSTRAINT l_o_fkey FOREIGN KEY (o) REFERENCES o (id) ON DELETE CASCADE",
			want: []string{"ALTER TABLE l ADD CONSTRAINT l_o_fkey FOREIGN KEY (o) REFERENCES o (id) ON DELETE RESTRICT;"}},
		{rule: "table-without-pk", sql: "CREATE TABLE v (user_id bigint, url text)",
			want: []string{"CREATE TABLE v (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint, url text);"}},
		{rule: "add-required-column", setup: "CREATE TABLE u (id bigint PRIMARY KEY);", sql: "ALTER TABLE u ADD COLUMN t bigint NOT NULL REFERENCES t (id)",
			want: []string{"ALTER TABLE u ADD COLUMN t bigint REFERENCES t (id);", "ALTER TABLE u ALTER COLUMN t SET NOT NULL;  -- uses the valid CHECK, no scan", "ALTER TABLE u ADD COLUMN t bigint NOT NULL DEFAULT <constant>;"}},
		{rule: "add-required-column", pg: "11", sql: "ALTER TABLE u ADD COLUMN t bigint NOT NULL",
			want: []string{"-- before PostgreSQL 12, SET NOT NULL scans the table under ACCESS EXCLUSIVE even with the CHECK: keep the CHECK instead"}},
		{rule: "wide-index", sql: "CREATE INDEX i ON t (a, b, c, d, e)",
			want: []string{"CREATE INDEX i ON t USING btree (a, b, c) INCLUDE (d, e);"}},
		{rule: "unqualified-names", sql: "CREATE VIEW v AS SELECT 1",
			want: []string{"CREATE VIEW public.v AS SELECT 1;"}},
		// Keyword and type fixes edit the statement's own text; a comment
		// in it sends them to the deparser.
		{rule: "varchar-length", sql: "CREATE TABLE p (\"Name\" character varying (20), x int, y varchar(3) DEFAULT 'a,(b' NOT NULL)",
			want: []string{`CREATE TABLE p ("Name" text CHECK (char_length("Name") <= 20), x int, y text DEFAULT 'a,(b' NOT NULL CHECK (char_length(y) <= 3));`}},
		{rule: "varchar-length", sql: "CREATE TABLE p (a varchar(5) /* short */, b int)",
			want: []string{"CREATE TABLE p (a text CHECK (char_length(a) <= 5), b int);"}},
		{rule: "index-create-nonconcurrent", setup: "CREATE TABLE t (x int);", sql: "create unique\n  index i on t (x)",
			want: []string{"create unique", "index CONCURRENTLY i on t (x);"}},
		{rule: "index-create-nonconcurrent", setup: "CREATE TABLE t (x int);", sql: "CREATE INDEX /* c */ i ON t (x)",
			want: []string{"CREATE INDEX CONCURRENTLY i ON t USING btree (x);"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule+" "+tt.sql, func(t *testing.T) {
			t.Parallel()
			s := Settings{Enabled: map[string]bool{tt.rule: true}}
			if tt.pg != "" {
				v, err := ParseVersion(tt.pg)
				if err != nil {
					t.Fatal(err)
				}
				s.PGVersion = v
			}
			var files []*sqlparse.File
			if tt.setup != "" {
				files = append(files, sqlparse.ParseFile("setup.sql", []byte(tt.setup), sqlparse.Options{Framework: sqlparse.FrameworkSQL}))
			}
			files = append(files, sqlparse.ParseFile("m.sql", []byte(tt.sql+";"), sqlparse.Options{Framework: sqlparse.FrameworkSQL}))
			var fix string
			n := 0
			for _, f := range Run(files, s).Findings {
				if f.Rule == tt.rule && f.Path == "m.sql" {
					fix, n = f.Fix, n+1
				}
			}
			if n != 1 {
				t.Fatalf("%d %s findings, want 1", n, tt.rule)
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(fix, "\n") {
				lines[strings.TrimSpace(l)] = true
			}
			for _, w := range tt.want {
				if !lines[w] {
					t.Errorf("fix lacks the line %q:\n%s", w, fix)
				}
			}
		})
	}
}

// TestRuleOnDefaults checks what ruleOn assumes: the rules it is asked
// about exist and are on by default.
func TestRuleOnDefaults(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"small-integer-ids", "drop-table", "drop-column", "drop-schema"} {
		if r := Lookup(id); r == nil || r.Off {
			t.Errorf("ruleOn(%q) assumes a rule that is on by default; got %+v", id, r)
		}
	}
}

// TestOneFindingPerHazard checks that rules covering the same statement
// leave it to one of them, and take over when that one is disabled.
func TestOneFindingPerHazard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sql      string
		disabled string
		want     []string
	}{
		{sql: "DROP TABLE users CASCADE", want: []string{"drop-table"}},
		{sql: "DROP TABLE users CASCADE", disabled: "drop-table", want: []string{"drop-cascade"}},
		{sql: "ALTER TABLE users DROP COLUMN email CASCADE", want: []string{"drop-column"}},
		{sql: "ALTER TABLE users DROP COLUMN email CASCADE", disabled: "drop-column", want: []string{"drop-cascade"}},
		{sql: "DROP SCHEMA billing CASCADE", want: []string{"drop-schema"}},
		{sql: "DROP VIEW v CASCADE", want: []string{"drop-cascade"}},
		{sql: "CREATE TABLE t (id serial PRIMARY KEY, n text)", want: []string{"small-integer-ids"}},
		{sql: "CREATE TABLE t (id serial PRIMARY KEY, n text)", disabled: "small-integer-ids", want: []string{"serial-not-identity"}},
		{sql: "CREATE TABLE t (id bigserial PRIMARY KEY, n text)", want: []string{"serial-not-identity"}},
	}
	ours := map[string]bool{}
	for _, r := range append(append([]*Rule{}, compatibilityRules...), typeRules...) {
		ours[r.ID] = true
	}
	for _, tt := range tests {
		t.Run(tt.sql+" -"+tt.disabled, func(t *testing.T) {
			t.Parallel()
			s := Settings{Disabled: map[string]bool{tt.disabled: true}}
			f := sqlparse.ParseFile("m.sql", []byte(tt.sql+";"), sqlparse.Options{Framework: sqlparse.FrameworkSQL})
			var got []string
			for _, fd := range Run([]*sqlparse.File{f}, s).Findings {
				if ours[fd.Rule] {
					got = append(got, fd.Rule)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("rules reporting (-want +got):\n%s", d)
			}
		})
	}
}

// TestRulesOnOddStatements runs every rule, including those off by default,
// over unusual forms of the statements they inspect: none may panic, and
// the ones listed must report.
func TestRulesOnOddStatements(t *testing.T) {
	t.Parallel()
	stmts := []struct {
		sql  string
		want []string // rules of ours that must report
	}{
		{"CREATE TABLE t ()", []string{"table-without-pk"}},
		{"CREATE TABLE t OF some_type", nil},
		{"CREATE TABLE p_default PARTITION OF p DEFAULT", nil},
		{"CREATE TABLE t AS SELECT 1 AS a", nil},
		{"CREATE TABLE t (LIKE other INCLUDING ALL)", nil},
		{"CREATE UNLOGGED TABLE t (a int[] , b json[], c varchar(10)[], d char)", []string{"char-n", "json-not-jsonb", "table-without-pk", "varchar-length"}},
		{"CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)", []string{"small-integer-ids"}},
		{"CREATE TABLE t (a int, b int, PRIMARY KEY (a, b), FOREIGN KEY (b) REFERENCES p ON DELETE CASCADE)", []string{"on-delete-cascade", "small-integer-ids"}},
		{"ALTER TABLE ONLY t ALTER COLUMN c TYPE json USING c::json", []string{"json-not-jsonb"}},
		{"ALTER TABLE IF EXISTS t DROP COLUMN IF EXISTS c", []string{"drop-column"}},
		{"ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_idx", nil},
		{"ALTER TABLE t ADD CONSTRAINT u UNIQUE NULLS NOT DISTINCT (a)", []string{"data-dependent-unique"}},
		{"ALTER TABLE t RENAME CONSTRAINT a_fkey TO b_fkey", nil},
		{"ALTER INDEX i RENAME TO j", nil},
		{"ALTER VIEW v RENAME TO w", []string{"rename-table"}},
		{"ALTER MATERIALIZED VIEW v RENAME COLUMN a TO b", []string{"rename-column"}},
		{"ALTER TYPE s.e ADD VALUE IF NOT EXISTS 'x'", []string{"enum-value-append"}},
		{"ALTER TYPE e RENAME VALUE 'a' TO 'b'", []string{"rename-enum-value"}},
		{"ALTER TYPE e RENAME TO f", nil},
		{"CREATE TYPE pair AS (a int, b int)", nil},
		{"DROP FUNCTION f(int), g() CASCADE", []string{"drop-cascade"}},
		{"DROP TYPE IF EXISTS a, b CASCADE", []string{"drop-cascade"}},
		{"DROP OWNED BY someone CASCADE", nil},
		{"DROP DATABASE IF EXISTS x WITH (FORCE)", []string{"drop-database"}},
		{"DROP TABLE IF EXISTS s.t", []string{"drop-table"}},
		{"DROP SCHEMA a, b", []string{"drop-schema"}},
		{"CREATE INDEX ON t ((lower(a)), b, c, d)", []string{"wide-index"}},
		{"CREATE UNIQUE INDEX ON t ((lower(email)))", []string{"data-dependent-unique"}},
		{`CREATE TABLE "` + strings.Repeat("x", 64) + `" (id bigint PRIMARY KEY)`, []string{"identifier-too-long"}},
		{"SELECT 1", nil},
		{"DO $$ BEGIN PERFORM 1; END $$", nil},
	}
	ours := map[string]bool{}
	s := Settings{Enabled: map[string]bool{}}
	for _, r := range append(append([]*Rule{}, compatibilityRules...), typeRules...) {
		ours[r.ID] = true
		s.Enabled[r.ID] = true
	}
	for _, tt := range stmts {
		t.Run(tt.sql, func(t *testing.T) {
			t.Parallel()
			f := sqlparse.ParseFile("m.sql", []byte(tt.sql+";"), sqlparse.Options{Framework: sqlparse.FrameworkSQL})
			if len(f.Statements) == 0 || f.Statements[0].Err != nil {
				t.Fatalf("does not parse: %+v", f.Statements)
			}
			got := map[string]bool{}
			for _, fd := range Run([]*sqlparse.File{f}, s).Findings {
				if ours[fd.Rule] {
					got[fd.Rule] = true
				}
			}
			for _, w := range tt.want {
				if !got[w] {
					t.Errorf("no %s finding (got %v)", w, got)
				}
			}
		})
	}
}

// TestFixturesMainFirst checks that a rule's main fixture comes before its
// variants (the rule docs show the first fixture's examples).
func TestFixturesMainFirst(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"add-required-column", "data-dependent-unique", "small-integer-ids"} {
		fxs := Fixtures(id)
		if len(fxs) < 2 || fxs[0].Name != id {
			var names []string
			for _, fx := range fxs {
				names = append(names, fx.Name)
			}
			t.Errorf("Fixtures(%q) = %v, want %q first and variants after", id, names, id)
		}
	}
}
