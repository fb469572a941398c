// Command gen writes a folder of realistic, deterministic migration files
// for benchmarks: `go run ./bench/gen -files 2000 -statements 15000 -out DIR`.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	files := flag.Int("files", 2000, "number of migration files")
	stmts := flag.Int("statements", 15000, "total number of statements")
	out := flag.String("out", "bench/out/migrations", "output directory")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := generate(*out, *files, *stmts, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
}

var templates = []func(r *rand.Rand, n int) string{
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("CREATE TABLE IF NOT EXISTS t%d (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    account_id bigint NOT NULL,\n    name text NOT NULL,\n    payload jsonb,\n    status varchar(32) NOT NULL DEFAULT 'new',\n    created_at timestamptz NOT NULL DEFAULT now(),\n    updated_at timestamptz\n);", n)
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("ALTER TABLE t%d ADD COLUMN c%d text;", r.IntN(n+1), n)
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("CREATE INDEX CONCURRENTLY IF NOT EXISTS t%d_account_%d_idx ON t%d (account_id, created_at DESC);", n, n, r.IntN(n+1))
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("CREATE INDEX t%d_status_%d_idx ON t%d (status) WHERE status <> 'done';", n, n, r.IntN(n+1))
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("ALTER TABLE t%d ADD CONSTRAINT t%d_account_fk_%d FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;", r.IntN(n+1), n, n)
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("ALTER TABLE t%d VALIDATE CONSTRAINT t%d_account_fk_%d;", r.IntN(n+1), n, n)
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("ALTER TABLE t%d ALTER COLUMN status TYPE text;", r.IntN(n+1))
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("UPDATE t%d SET status = 'archived' WHERE created_at < now() - interval '1 year' AND id BETWEEN %d AND %d;", r.IntN(n+1), n*1000, n*1000+999)
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("COMMENT ON TABLE t%d IS 'Rows of kind %d; see the design doc ''%d''.';", r.IntN(n+1), n, n)
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("CREATE OR REPLACE FUNCTION touch_%d() RETURNS trigger\nLANGUAGE plpgsql AS $$\nBEGIN\n    NEW.updated_at := now(); -- keep in sync\n    RETURN NEW;\nEND;\n$$;", n)
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("INSERT INTO settings (key, value) VALUES ('feature_%d', '{\"on\": true}') ON CONFLICT (key) DO NOTHING;", n)
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("ALTER TABLE t%d ALTER COLUMN name SET NOT NULL;", r.IntN(n+1))
	},
	func(r *rand.Rand, n int) string {
		return fmt.Sprintf("DROP INDEX CONCURRENTLY IF EXISTS t%d_old_idx;", r.IntN(n+1))
	},
}

func generate(dir string, files, stmts int, seed uint64) error {
	if files < 1 || stmts < files {
		return fmt.Errorf("need at least one statement per file (files=%d statements=%d)", files, stmts)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	per := stmts / files
	extra := stmts % files
	n := 0
	for i := 1; i <= files; i++ {
		k := per
		if i <= extra {
			k++
		}
		var b strings.Builder
		fmt.Fprintf(&b, "-- Migration %d: generated for benchmarks.\nSET lock_timeout = '2s';\n", i)
		for j := 1; j < k; j++ {
			b.WriteString("\n")
			b.WriteString(templates[r.IntN(len(templates))](r, n))
			b.WriteString("\n")
			n++
		}
		name := filepath.Join(dir, fmt.Sprintf("V%d__change_%d.sql", i, i))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
