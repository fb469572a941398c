package dblab_test

import (
	"context"
	"os"
	"slices"
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
// under Experiment's measurement: with lock sampling (the default),
// without it, and with the traffic probe. Each iteration runs every
// variant once, in turn, on fresh clones made outside the timing, so that
// the noise of a shared machine hits all variants alike; the medians are
// reported as plain_ms, measured_ms, nosampling_ms, probe_ms and the
// overhead of measuring as overhead_ms.
func BenchmarkMigration(b *testing.B) {
	db := pgtest.New(b)
	db.Exec(b, benchSchema)
	p, err := localpg.New(localpg.Options{SourceDSN: db.URL, Prefix: "pgai_b" + strings.TrimPrefix(db.Name, "pgtest_") + "_"})
	if err != nil {
		b.Fatal(err)
	}
	f := sqlparse.ParseFile("bench.sql", []byte(benchMigration), sqlparse.Options{})
	plain := func(c *dblab.Clone) {
		conn, err := pgx.Connect(context.Background(), c.DSN)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(context.Background())
		for _, st := range f.Up() {
			if _, err := conn.PgConn().Exec(context.Background(), st.SQL).ReadAll(); err != nil {
				b.Fatalf("%s: %v", st.Text, err)
			}
		}
	}
	measured := func(opts dblab.Options) func(c *dblab.Clone) {
		return func(c *dblab.Clone) {
			res, err := dblab.Experiment(context.Background(), c, []*sqlparse.File{f}, opts)
			if err != nil || res.Stopped != "" {
				b.Fatalf("experiment: %v %s", err, res.Stopped)
			}
		}
	}
	variants := []struct {
		metric string
		run    func(*dblab.Clone)
	}{
		{"plain_ms", plain},
		{"measured_ms", measured(dblab.Options{})},
		{"nosampling_ms", measured(dblab.Options{SampleInterval: -1})},
		{"probe_ms", measured(dblab.Options{ProbeTraffic: true})},
	}
	times := make([][]float64, len(variants))
	for b.Loop() {
		for i, v := range variants {
			b.StopTimer()
			c, err := p.Clone(context.Background(), dblab.CloneRequest{TTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			v.run(c)
			times[i] = append(times[i], float64(time.Since(start).Microseconds())/1000)
			b.StopTimer()
			if err := c.Release(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	med := make([]float64, len(variants))
	for i, v := range variants {
		med[i] = median(times[i])
		b.ReportMetric(med[i], v.metric)
	}
	b.ReportMetric(med[1]-med[0], "overhead_ms")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
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
