package checks

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// TestCatalogIndexTable follows index names through the statements that
// create, move and drop them: IndexTable must name the table that has the
// index now, and nothing once it is gone.
func TestCatalogIndexTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sql, index, want string // want "" for no table
	}{
		{"created by CREATE INDEX", "CREATE TABLE a (id int); CREATE INDEX a_id ON a (id);", "a_id", "a"},
		{"case folded", "CREATE TABLE a (id int); CREATE INDEX \"A_Id\" ON a (id);", "a_id", "a"},
		{"primary key index", "CREATE TABLE a (id int PRIMARY KEY);", "a_pkey", "a"},
		{"unique constraint", "CREATE TABLE a (id int); ALTER TABLE a ADD CONSTRAINT a_u UNIQUE (id);", "a_u", "a"},
		{"dropped", "CREATE TABLE a (id int); CREATE INDEX a_id ON a (id); DROP INDEX a_id;", "a_id", ""},
		{"schema-qualified drop", "CREATE TABLE a (id int); CREATE INDEX a_id ON a (id); DROP INDEX public.a_id;", "a_id", ""},
		{"constraint dropped", "CREATE TABLE a (id int); ALTER TABLE a ADD CONSTRAINT a_u UNIQUE (id); ALTER TABLE a DROP CONSTRAINT a_u;", "a_u", ""},
		{"index turned into a constraint", "CREATE TABLE a (id int); CREATE UNIQUE INDEX a_i ON a (id); ALTER TABLE a ADD CONSTRAINT a_c UNIQUE USING INDEX a_i;", "a_i", ""},
		{"constraint that took the index", "CREATE TABLE a (id int); CREATE UNIQUE INDEX a_i ON a (id); ALTER TABLE a ADD CONSTRAINT a_c UNIQUE USING INDEX a_i;", "a_c", "a"},
		{"table dropped", "CREATE TABLE a (id int); CREATE INDEX a_id ON a (id); DROP TABLE a;", "a_id", ""},
		{"table re-created without it", "CREATE TABLE a (id int); CREATE INDEX a_id ON a (id); CREATE TABLE a (id int);", "a_id", ""},
		{"table renamed", "CREATE TABLE a (id int); CREATE INDEX a_id ON a (id); ALTER TABLE a RENAME TO b;", "a_id", "b"},
		{"same name on another table later", "CREATE TABLE a (id int); CREATE TABLE b (id int); CREATE INDEX i ON a (id); DROP INDEX i; CREATE INDEX i ON b (id);", "i", "b"},
		{"unknown", "CREATE TABLE a (id int);", "nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := sqlparse.ParseFile("m.sql", []byte(tt.sql), sqlparse.Options{})
			c := NewCatalog()
			for _, st := range f.Statements {
				if st.Err != nil {
					t.Fatalf("parse %q: %v", st.Text, st.Err)
				}
				c.apply(st.Node)
			}
			got := ""
			if tb := c.IndexTable([]string{tt.index}); tb != nil {
				got = tb.Name
			}
			if got != tt.want {
				t.Errorf("IndexTable(%q) = %q, want %q", tt.index, got, tt.want)
			}
		})
	}
}

func TestTableStats(t *testing.T) {
	t.Parallel()
	cat := NewCatalog()
	apply := func(sql string) {
		f := sqlparse.ParseFile("m.sql", []byte(sql), sqlparse.Options{})
		for _, st := range f.Statements {
			if st.Err != nil {
				t.Fatalf("parse %q: %v", st.Text, st.Err)
			}
			cat.apply(st.Node)
		}
	}
	apply("CREATE TABLE public.orders (id bigint PRIMARY KEY)")
	if cat.SetStats(&pg_query.RangeVar{Relname: "missing"}, TableStats{}) {
		t.Fatal("stats set on an unknown table")
	}
	if !cat.SetStats(&pg_query.RangeVar{Schemaname: "public", Relname: "orders"}, TableStats{Bytes: 5 << 30, IndexBytes: 1 << 30, Rows: 41_000_000}) {
		t.Fatal("stats not set on public.orders")
	}
	apply("ALTER TABLE orders RENAME TO purchases")
	tb := cat.Table(&pg_query.RangeVar{Relname: "purchases"})
	if tb == nil || tb.Stats == nil {
		t.Fatal("stats lost by the rename")
	}
	if got, want := tb.Stats.String(), "5.0 GB, ~41,000,000 rows"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (TableStats{Bytes: 8192, Rows: -1}).String(); got != "8.0 kB, rows unknown (never analysed)" {
		t.Errorf("String() = %q", got)
	}
}
