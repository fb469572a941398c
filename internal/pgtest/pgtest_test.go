package pgtest_test

import (
	"context"
	"testing"

	"gitlab.com/pgai/reviewer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestFreshDatabase(t *testing.T) {
	t.Parallel()
	a := pgtest.New(t)
	b := pgtest.New(t)
	if a.Name == b.Name {
		t.Fatalf("two tests got the same database %s", a.Name)
	}
	a.Exec(t, "CREATE TABLE only_in_a (id int)")
	var n int
	if err := b.Conn(t).QueryRow(context.Background(),
		"SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("table created in %s is visible in %s", a.Name, b.Name)
	}
}

// TestPgvector proves the test server has the real pgvector extension: the
// knowledge base depends on it and CI must not pass without it.
func TestPgvector(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE EXTENSION vector"); err != nil {
		t.Fatalf("CREATE EXTENSION vector: %v", err)
	}
	var d float64
	if err := conn.QueryRow(ctx, "SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector").Scan(&d); err != nil {
		t.Fatal(err)
	}
	if d != 2 {
		t.Fatalf("L2 distance = %v, want 2", d)
	}
}
