// Command histgen writes a realistic, deterministic migration history for
// benchmarks: `go run ./bench/histgen -files 8000 -out DIR`.
//
// Unlike bench/gen (many statements, few tables), the history grows a
// schema the way an application's does: about a third of the migrations
// create a table with an identity primary key, a foreign key to an
// earlier table, a unique index and a plain index; the others alter the
// tables created so far (add, retype, rename and drop columns, set NOT
// NULL, add foreign keys NOT VALID and validate them, build and drop
// indexes concurrently, backfill in key ranges), rename tables and drop
// them. After 8,000 files the catalog holds a few thousand tables, so any
// per-file work that walks the whole catalog shows up in the figures.
//
// Files are named <version>_<name>.sql with a 14-digit timestamp, one
// statement per line group, as squawk and the reviewer both read them.
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
	out := flag.String("out", "bench/out/history", "output directory")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	n, err := generate(*out, *files, *seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "histgen:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "histgen: %d files, %d statements in %s\n", *files, n, *out)
}

type table struct {
	name    string
	cols    []string // added text columns that can be altered or dropped
	indexes []string
	fks     []string // NOT VALID foreign keys not yet validated
}

type history struct {
	r      *rand.Rand
	tables []*table
	seq    int
	stmts  int
}

func (h *history) next() int { h.seq++; return h.seq }

func (h *history) pick() *table { return h.tables[h.r.IntN(len(h.tables))] }

func (h *history) remove(t *table) {
	for i, x := range h.tables {
		if x == t {
			h.tables = append(h.tables[:i], h.tables[i+1:]...)
			return
		}
	}
}

// migration returns the statements of one migration.
func (h *history) migration() []string {
	if len(h.tables) < 3 || h.r.IntN(100) < 34 {
		return h.createTable()
	}
	t := h.pick()
	switch k := h.r.IntN(100); {
	case k < 14:
		c := fmt.Sprintf("c%d", h.next())
		t.cols = append(t.cols, c)
		return []string{fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s text;", t.name, c)}
	case k < 22:
		c := fmt.Sprintf("flag%d", h.next())
		return []string{fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s boolean NOT NULL DEFAULT false;", t.name, c)}
	case k < 32:
		ix := fmt.Sprintf("%s_%d_idx", t.name, h.next())
		t.indexes = append(t.indexes, ix)
		return []string{fmt.Sprintf("CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON %s (created_at, status);", ix, t.name)}
	case k < 38:
		ix := fmt.Sprintf("%s_%d_key", t.name, h.next())
		t.indexes = append(t.indexes, ix)
		return []string{fmt.Sprintf("CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (external_id, created_at);", ix, t.name)}
	case k < 44 && len(t.indexes) > 0:
		ix := t.indexes[len(t.indexes)-1]
		t.indexes = t.indexes[:len(t.indexes)-1]
		return []string{fmt.Sprintf("DROP INDEX CONCURRENTLY IF EXISTS %s;", ix)}
	case k < 52:
		p := h.pick()
		fk := fmt.Sprintf("%s_%s_fk_%d", t.name, p.name, h.next())
		col := fmt.Sprintf("ref%d_id", h.seq)
		t.fks = append(t.fks, fk)
		return []string{
			"SET lock_timeout = '3s';",
			fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s bigint;", t.name, col),
			fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (id) NOT VALID;", t.name, fk, col, p.name),
		}
	case k < 58 && len(t.fks) > 0:
		fk := t.fks[0]
		t.fks = t.fks[1:]
		return []string{fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;", t.name, fk)}
	case k < 63 && len(t.cols) > 0:
		return []string{fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE varchar(200);", t.name, t.cols[0])}
	case k < 68:
		return []string{fmt.Sprintf("ALTER TABLE %s ALTER COLUMN status TYPE text;", t.name)}
	case k < 72 && len(t.cols) > 0:
		c := t.cols[len(t.cols)-1]
		nc := fmt.Sprintf("%s_v%d", c, h.next())
		t.cols[len(t.cols)-1] = nc
		return []string{fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s;", t.name, c, nc)}
	case k < 76 && len(t.cols) > 0:
		c := t.cols[0]
		t.cols = t.cols[1:]
		return []string{fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t.name, c)}
	case k < 80:
		lo := h.r.IntN(1000) * 10000
		return []string{fmt.Sprintf("UPDATE %s SET status = 'active' WHERE id >= %d AND id < %d AND status IS NULL;", t.name, lo, lo+10000)}
	case k < 84:
		return []string{
			fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s_name_check_%d CHECK (name IS NOT NULL) NOT VALID;", t.name, t.name, h.next()),
			fmt.Sprintf("ALTER TABLE %s ALTER COLUMN name SET NOT NULL;", t.name),
		}
	case k < 88:
		old := t.name
		t.name = fmt.Sprintf("%s_r%d", old, h.next())
		return []string{fmt.Sprintf("ALTER TABLE %s RENAME TO %s;", old, t.name)}
	case k < 92:
		h.remove(t)
		return []string{fmt.Sprintf("DROP TABLE IF EXISTS %s;", t.name)}
	case k < 96:
		return []string{fmt.Sprintf("COMMENT ON TABLE %s IS 'Rows of %s, see the design document.';", t.name, t.name)}
	default:
		return []string{fmt.Sprintf("CREATE OR REPLACE FUNCTION %s_touch() RETURNS trigger\nLANGUAGE plpgsql AS $$\nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$;", t.name),
			fmt.Sprintf("CREATE TRIGGER %s_touch BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s_touch();", t.name, t.name, t.name)}
	}
}

func (h *history) createTable() []string {
	n := h.next()
	t := &table{name: fmt.Sprintf("items_%d", n)}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n", t.name)
	b.WriteString("    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n")
	b.WriteString("    external_id uuid NOT NULL,\n")
	b.WriteString("    name text NOT NULL,\n")
	b.WriteString("    status varchar(32),\n")
	b.WriteString("    payload jsonb,\n")
	var stmts []string
	if len(h.tables) > 0 {
		p := h.pick()
		fmt.Fprintf(&b, "    parent_id bigint REFERENCES %s (id),\n", p.name)
	}
	b.WriteString("    created_at timestamptz NOT NULL DEFAULT now(),\n")
	b.WriteString("    updated_at timestamptz\n);")
	stmts = append(stmts, b.String())
	uk := fmt.Sprintf("%s_external_id_key", t.name)
	ix := fmt.Sprintf("%s_created_at_idx", t.name)
	t.indexes = append(t.indexes, uk, ix)
	stmts = append(stmts,
		fmt.Sprintf("CREATE UNIQUE INDEX %s ON %s (external_id);", uk, t.name),
		fmt.Sprintf("CREATE INDEX %s ON %s (created_at);", ix, t.name))
	if h.r.IntN(3) == 0 {
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s_name_key UNIQUE (name);", t.name, t.name))
	}
	h.tables = append(h.tables, t)
	return stmts
}

func generate(dir string, files int, seed uint64) (int, error) {
	if files < 1 {
		return 0, fmt.Errorf("need at least one file (files=%d)", files)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	h := &history{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for i := 1; i <= files; i++ {
		stmts := h.migration()
		h.stmts += len(stmts)
		var b strings.Builder
		fmt.Fprintf(&b, "-- Migration %d of a generated application history.\n", i)
		for _, s := range stmts {
			b.WriteString("\n")
			b.WriteString(s)
			b.WriteString("\n")
		}
		// 20260101000000 + i seconds, as 14 digits: sorts as text and as numbers.
		name := filepath.Join(dir, fmt.Sprintf("%014d_change_%d.sql", int64(20240101000000)+int64(i), i))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			return 0, err
		}
	}
	return h.stmts, nil
}
