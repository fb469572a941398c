package sqlparse

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchMigration is a realistic migration of eight statements: the kind of
// file a reviewer sees most, with comments, a function body and a backfill.
const benchMigration = `-- Add the orders table and its indexes.
SET lock_timeout = '2s';

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    status text NOT NULL DEFAULT 'new',
    total numeric(12, 2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_customer_id_idx ON orders (customer_id);

ALTER TABLE orders
    ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;

ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;

CREATE OR REPLACE FUNCTION orders_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := now();
    RETURN NEW;
END;
$$;

UPDATE customers SET status = 'active' WHERE status IS NULL AND created_at < now() - interval '1 day';

COMMENT ON TABLE orders IS 'Customer orders; one row per checkout.';
`

func BenchmarkParseFile(b *testing.B) {
	src := []byte(benchMigration)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		f := ParseFile("V7__orders.sql", src, Options{})
		if len(f.Statements) != 8 {
			b.Fatalf("got %d statements", len(f.Statements))
		}
	}
}

// BenchmarkLoad loads a directory of 200 Flyway migrations of eight
// statements each: finding, ordering, reading and parsing them
// concurrently.
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	for i := 1; i <= 200; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("V%d__orders.sql", i)), []byte(benchMigration), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		files, err := Load(b.Context(), []string{dir}, Options{})
		if err != nil || len(files) != 200 {
			b.Fatalf("Load: %d files, %v", len(files), err)
		}
	}
}

// BenchmarkCollect lists and orders a directory of 2,000 Flyway
// migrations (the files are empty: only names matter here). It runs
// before any file is parsed, on one CPU, so it adds straight to the wall
// time of a review.
func BenchmarkCollect(b *testing.B) {
	dir := b.TempDir()
	for i := 1; i <= 2000; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("V%d__change_%d.sql", i, i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		jobs, err := collectAll([]string{dir}, Options{})
		if err != nil || len(jobs) != 2000 {
			b.Fatalf("collect: %d files, %v", len(jobs), err)
		}
	}
}
