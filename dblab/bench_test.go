package dblab_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// benchMigration is a typical migration: a new table, columns, an index, a
// backfill, a constraint and a type change, in one transaction.
const benchMigration = `BEGIN;
CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id int, at timestamptz DEFAULT now());
ALTER TABLE orders ADD COLUMN status text;
ALTER TABLE orders ADD COLUMN flags int DEFAULT 0;
UPDATE orders SET status = 'new' WHERE id % 10 = 0;
CREATE INDEX orders_status ON orders (status);
ALTER TABLE orders ADD CONSTRAINT orders_flags_check CHECK (flags >= 0);
ALTER TABLE audit ADD CONSTRAINT audit_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint;
INSERT INTO audit (order_id) SELECT id FROM orders WHERE id <= 100;
COMMIT;
`

const benchSchema = `CREATE TABLE orders (id int PRIMARY KEY, customer_id int, note text);
INSERT INTO orders SELECT g, g % 1000, md5(g::text) FROM generate_series(1, 20000) g;
ANALYZE orders;`

// BenchmarkMigration compares the wall time of the same migration run
// plainly (one connection, statement by statement, as a tool would) and
// under Experiment's measurement. Each iteration gets a fresh clone,
// made outside the timer. The difference is the tracing overhead.
func BenchmarkMigration(b *testing.B) {
	db := pgtest.New(b)
	db.Exec(b, benchSchema)
	p, err := localpg.New(localpg.Options{SourceDSN: db.URL, Prefix: "pgai_b" + strings.TrimPrefix(db.Name, "pgtest_") + "_"})
	if err != nil {
		b.Fatal(err)
	}
	f := sqlparse.ParseFile("bench.sql", []byte(benchMigration), sqlparse.Options{})
	fresh := func(b *testing.B) *dblab.Clone {
		b.StopTimer()
		defer b.StartTimer()
		c, err := p.Clone(context.Background(), dblab.CloneRequest{TTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	release := func(b *testing.B, c *dblab.Clone) {
		b.StopTimer()
		defer b.StartTimer()
		if err := c.Release(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			c := fresh(b)
			conn, err := pgx.Connect(context.Background(), c.DSN)
			if err != nil {
				b.Fatal(err)
			}
			for _, st := range f.Up() {
				if _, err := conn.PgConn().Exec(context.Background(), st.SQL).ReadAll(); err != nil {
					b.Fatalf("%s: %v", st.Text, err)
				}
			}
			conn.Close(context.Background())
			release(b, c)
		}
	})
	for _, tc := range []struct {
		name string
		opts dblab.Options
	}{
		{"measured", dblab.Options{}},
		{"measured-no-sampling", dblab.Options{SampleInterval: -1}},
		{"measured-probe", dblab.Options{ProbeTraffic: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				c := fresh(b)
				res, err := dblab.Experiment(context.Background(), c, []*sqlparse.File{f}, tc.opts)
				if err != nil || res.Stopped != "" {
					b.Fatalf("experiment: %v %s", err, res.Stopped)
				}
				release(b, c)
			}
		})
	}
}

// BenchmarkClone measures local clone creation (CREATE DATABASE …
// TEMPLATE) of the database named by PGAI_BENCH_SOURCE_DSN, with each
// strategy; bench/clone.sh builds a 1 GB source for it. Skipped without
// the variable.
func BenchmarkClone(b *testing.B) {
	dsn := os.Getenv("PGAI_BENCH_SOURCE_DSN")
	if dsn == "" {
		b.Skip("PGAI_BENCH_SOURCE_DSN not set (bench/clone.sh sets it)")
	}
	for _, strategy := range []string{"WAL_LOG", "FILE_COPY"} {
		b.Run(strategy, func(b *testing.B) {
			p, err := localpg.New(localpg.Options{SourceDSN: dsn, Strategy: strategy, Prefix: "pgai_bench_"})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				c, err := p.Clone(context.Background(), dblab.CloneRequest{TTL: time.Hour})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := c.Release(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
