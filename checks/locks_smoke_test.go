package checks

import (
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// TestLockRulesOddStatements runs every rule over unusual but valid
// statements under several settings: no rule may panic, and statements
// the lock rules have no business with stay silent.
func TestLockRulesOddStatements(t *testing.T) {
	t.Parallel()
	odd := []string{
		"ALTER TABLE ONLY orders ALTER COLUMN id SET STATISTICS 500",
		"ALTER TABLE IF EXISTS missing ADD COLUMN x int",
		"ALTER INDEX orders_pkey SET (fillfactor = 80)",
		"ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE pg_default",
		"ALTER TABLE orders RENAME CONSTRAINT a TO b",
		"ALTER TABLE orders ALTER COLUMN id TYPE bigint USING id + 0",
		"ALTER TABLE orders ALTER COLUMN missing TYPE text",
		"ALTER TABLE orders ADD CONSTRAINT c CHECK (true) NO INHERIT",
		"ALTER TABLE orders ADD PRIMARY KEY USING INDEX missing_idx",
		"ALTER TABLE orders ADD UNIQUE (customer_id) DEFERRABLE INITIALLY DEFERRED",
		"ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers",
		"ALTER TABLE orders ATTACH PARTITION p DEFAULT",
		"ALTER TABLE orders DETACH PARTITION p FINALIZE",
		"ALTER MATERIALIZED VIEW mv SET TABLESPACE pg_default",
		"CREATE TABLE t2 AS SELECT * FROM orders",
		"CREATE TABLE p2 PARTITION OF parent FOR VALUES IN (1, 2)",
		"CREATE INDEX ON orders ((lower(note)))",
		"CREATE UNIQUE INDEX IF NOT EXISTS i ON orders (customer_id) WHERE customer_id > 0",
		"DROP INDEX IF EXISTS a, b CASCADE",
		"DROP TABLE IF EXISTS a, public.b",
		"REINDEX SYSTEM",
		"REINDEX (VERBOSE) SCHEMA public",
		"VACUUM",
		"VACUUM (FULL false) orders",
		"ANALYZE orders (id)",
		"CLUSTER",
		"LOCK TABLE orders IN SHARE MODE",
		"TRUNCATE ONLY orders RESTART IDENTITY",
		"UPDATE orders o SET customer_id = c.id FROM customers c WHERE o.id = c.id",
		"DELETE FROM orders USING customers WHERE orders.customer_id = customers.id",
		"INSERT INTO orders (id) VALUES (1), (2) ON CONFLICT DO NOTHING",
		"INSERT INTO orders SELECT * FROM (VALUES (1, 2)) v",
		"WITH x AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM x",
		"DO $$ BEGIN PERFORM 1; END $$",
		"CREATE DOMAIN d AS int NOT NULL",
		"ALTER DOMAIN d DROP CONSTRAINT c",
		"ALTER TYPE status ADD VALUE IF NOT EXISTS 'x' BEFORE 'y'",
		"CREATE TRIGGER trg BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION f()",
		"COMMENT ON TABLE orders IS 'x'",
		"GRANT SELECT ON orders TO app",
		"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
		"RESET ALL",
		"SAVEPOINT s",
		"ROLLBACK TO SAVEPOINT s",
		"SELECT pg_sleep(0)",
		"CREATE EXTENSION IF NOT EXISTS pgcrypto",
		"REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
	}
	settings := []Settings{{}, {PGVersion: Version{Major: 10}}, {PGVersion: Version{Major: 14, Minor: 1}}, {PGVersion: Version{Major: 19}, SessionTimeZone: "Asia/Tokyo"}}
	const schema = "CREATE TABLE customers (id bigint PRIMARY KEY);\nCREATE TABLE orders (id integer PRIMARY KEY, customer_id bigint, note varchar(10));\n"
	src := strings.Join(odd, ";\n") + ";\n"
	for _, s := range settings {
		for _, inTx := range []bool{false, true} {
			setup := sqlparse.ParseFile("setup.sql", []byte(schema), sqlparse.Options{Framework: sqlparse.FrameworkSQL})
			f := sqlparse.ParseFile("odd.sql", []byte(src), sqlparse.Options{AssumeInTransaction: inTx})
			for _, st := range f.Statements {
				if st.Err != nil {
					t.Fatalf("test input does not parse: %s: %s", st.Text, st.Err.Msg)
				}
			}
			res := Run([]*sqlparse.File{setup, f}, s) // must not panic
			for _, fd := range res.Findings {
				if fd.Message == "" || fd.Fix == "" || fd.Why == "" {
					t.Errorf("%s at line %d: empty message, why or fix: %+v", fd.Rule, fd.Line, fd)
				}
			}
		}
	}
}
