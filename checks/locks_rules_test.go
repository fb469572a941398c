package checks

import (
	"testing"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// TestLockRuleSettings covers what fixtures cannot: settings under which a
// rule must stay silent, and rules that speak once per file.
func TestLockRuleSettings(t *testing.T) {
	t.Parallel()
	const schema = "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, placed_at timestamp);\n"
	tests := []struct {
		name     string
		sql      string
		settings Settings
		opts     sqlparse.Options
		rule     string
		want     int
	}{
		{"lock timeout assumed by the runner", "ALTER TABLE orders ADD COLUMN note text;", Settings{AssumeLockTimeout: true}, sqlparse.Options{}, "missing-lock-timeout", 0},
		{"lock timeout reported once per file", "ALTER TABLE orders ADD COLUMN a text;\nALTER TABLE orders ADD COLUMN b text;\nDROP INDEX orders_x;", Settings{}, sqlparse.Options{}, "missing-lock-timeout", 1},
		{"lock timeout not needed for new tables", "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN a text;", Settings{}, sqlparse.Options{}, "missing-lock-timeout", 0},
		{"SET LOCAL outside a transaction does nothing", "SET LOCAL lock_timeout = '1s';\nALTER TABLE orders ADD COLUMN a text;", Settings{}, sqlparse.Options{}, "missing-lock-timeout", 1},
		{"SET LOCAL in the tool's transaction counts", "SET LOCAL lock_timeout = '1s';\nALTER TABLE orders ADD COLUMN a text;", Settings{}, sqlparse.Options{AssumeInTransaction: true}, "missing-lock-timeout", 0},
		{"lock_timeout = 0 disables it", "SET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN a text;", Settings{}, sqlparse.Options{}, "missing-lock-timeout", 1},
		{"statement timeout assumed", "UPDATE orders SET customer_id = 1;", Settings{AssumeStatementTimeout: true}, sqlparse.Options{}, "missing-statement-timeout", 0},
		{"transaction_timeout before 17 does not count", "SET transaction_timeout = '1min';\nUPDATE orders SET customer_id = 1;", Settings{PGVersion: Version{Major: 16}}, sqlparse.Options{}, "missing-statement-timeout", 1},
		{"transaction_timeout from 17 counts", "SET transaction_timeout = '1min';\nUPDATE orders SET customer_id = 1;", Settings{PGVersion: Version{Major: 17}}, sqlparse.Options{}, "missing-statement-timeout", 0},
		{"non-idempotent only outside transactions", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);", Settings{}, sqlparse.Options{AssumeInTransaction: true}, "non-idempotent-stmt", 0},
		{"non-idempotent ignores a one-statement file", "CREATE TABLE a (id int);", Settings{}, sqlparse.Options{}, "non-idempotent-stmt", 0},
		{"non-idempotent once per file", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);", Settings{}, sqlparse.Options{}, "non-idempotent-stmt", 1},
		{"non-idempotent skips an explicit transaction", "BEGIN;\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCOMMIT;", Settings{}, sqlparse.Options{}, "non-idempotent-stmt", 0},
		{"pg 14.4 has the fix", "CREATE INDEX CONCURRENTLY i ON orders (customer_id);", Settings{PGVersion: Version{Major: 14, Minor: 4}}, sqlparse.Options{}, "pg14-concurrent-index-bug", 0},
		{"pg 15 is not affected", "CREATE INDEX CONCURRENTLY i ON orders (customer_id);", Settings{}, sqlparse.Options{}, "pg14-concurrent-index-bug", 0},
		{"timestamptz under a UTC SET earlier in the file", "SET TIME ZONE 'UTC';\nALTER TABLE orders ALTER COLUMN placed_at TYPE timestamptz;", Settings{SessionTimeZone: "Europe/Berlin"}, sqlparse.Options{}, "alter-column-type", 0},
		{"timestamptz under a non-UTC SET earlier in the file", "SET TimeZone = 'America/New_York';\nALTER TABLE orders ALTER COLUMN placed_at TYPE timestamptz;", Settings{}, sqlparse.Options{}, "alter-column-type", 1},
		{"timestamptz with Etc/UTC configured", "ALTER TABLE orders ALTER COLUMN placed_at TYPE timestamptz;", Settings{SessionTimeZone: "Etc/UTC"}, sqlparse.Options{}, "alter-column-type", 0},
		{"CONCURRENTLY outside a transaction is fine", "CREATE INDEX CONCURRENTLY i ON orders (customer_id);", Settings{}, sqlparse.Options{}, "concurrent-in-transaction", 0},
		{"ADD VALUE in a transaction from PG 12", "ALTER TYPE status ADD VALUE 'x';", Settings{}, sqlparse.Options{AssumeInTransaction: true}, "concurrent-in-transaction", 0},
		{"statement after ACCESS EXCLUSIVE reported once per transaction", "ALTER TABLE orders ADD COLUMN a text;\nUPDATE orders SET a = 'x' WHERE id < 10;\nUPDATE orders SET a = 'y' WHERE id < 20;", Settings{}, sqlparse.Options{AssumeInTransaction: true}, "statement-after-access-exclusive", 1},
		{"no statement-after-access-exclusive in autocommit", "ALTER TABLE orders ADD COLUMN a text;\nUPDATE orders SET a = 'x' WHERE id < 10;", Settings{}, sqlparse.Options{}, "statement-after-access-exclusive", 0},
		{"set not null after a validated check", "ALTER TABLE orders ADD CONSTRAINT c CHECK (customer_id IS NOT NULL AND id > 0);\nALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;", Settings{}, sqlparse.Options{}, "set-not-null", 0},
		{"set not null after a NOT VALID check that was never validated", "ALTER TABLE orders ADD CONSTRAINT c CHECK (customer_id IS NOT NULL) NOT VALID;\nALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;", Settings{}, sqlparse.Options{}, "set-not-null", 1},
		{"stable default needs no rewrite", "ALTER TABLE orders ADD COLUMN at timestamptz DEFAULT now();", Settings{}, sqlparse.Options{}, "add-column-volatile-default", 0},
		{"user function default is volatile by default", "ALTER TABLE orders ADD COLUMN code text DEFAULT app.next_code();", Settings{}, sqlparse.Options{}, "add-column-volatile-default", 1},
		{"DEFAULT NULL before 11 does not rewrite", "ALTER TABLE orders ADD COLUMN note text DEFAULT NULL;", Settings{PGVersion: Version{Major: 10}}, sqlparse.Options{}, "add-column-volatile-default", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			setup := sqlparse.ParseFile("setup.sql", []byte(schema), sqlparse.Options{Framework: sqlparse.FrameworkSQL})
			f := sqlparse.ParseFile("m.sql", []byte(tc.sql), tc.opts)
			res := Run([]*sqlparse.File{setup, f}, tc.settings)
			got := 0
			for _, fd := range res.Findings {
				if fd.Rule == tc.rule && fd.Path == "m.sql" {
					got++
				}
			}
			if got != tc.want {
				t.Errorf("%s: %d findings, want %d: %+v", tc.rule, got, tc.want, res.Findings)
			}
		})
	}
}

// TestRunnerLearn checks that a file passed to Learn (an unchanged
// migration of a merge request) is not reported on but teaches the rules
// its schema.
func TestRunnerLearn(t *testing.T) {
	t.Parallel()
	old := sqlparse.ParseFile("001.sql", []byte("CREATE TABLE items (id bigint PRIMARY KEY, sku varchar(20));\nCREATE INDEX items_sku_idx ON items (sku);"), sqlparse.Options{})
	change := "ALTER TABLE items ALTER COLUMN sku TYPE varchar(40);"
	tests := []struct {
		name  string
		learn bool
		want  int
	}{
		{"schema learned: widening is binary-coercible", true, 0},
		{"schema unknown: the change may rewrite", false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := NewRunner(Settings{})
			if tc.learn {
				r.Learn(old)
			}
			got := 0
			for _, f := range r.File(sqlparse.ParseFile("002.sql", []byte(change), sqlparse.Options{})) {
				if f.Rule == "alter-column-type" {
					got++
				}
			}
			if got != tc.want {
				t.Errorf("alter-column-type findings = %d, want %d", got, tc.want)
			}
		})
	}
}
