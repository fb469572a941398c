package pgmigrate_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/internal/pgmigrate"
	"gitlab.com/pgai/reviewer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func set(files fstest.MapFS) pgmigrate.Set {
	return pgmigrate.Set{Name: "t", FS: files, Table: "t_schema_migrations", Lock: 42}
}

// Migrations apply once, in version order (2 before 10), also when several
// processes start at once; a hook runs in its migration's transaction.
func TestApplyOnceInOrder(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t).Pool(t)
	files := fstest.MapFS{
		"1_a.sql":   {Data: []byte("CREATE TABLE a (v int); INSERT INTO a VALUES (1);")},
		"10_c.sql":  {Data: []byte("INSERT INTO a SELECT max(v) * 10 FROM a;")},
		"2_b.sql":   {Data: []byte("INSERT INTO a SELECT max(v) + 1 FROM a;")},
		"README.md": {Data: []byte("not a migration")},
	}
	s := set(files)
	hooked := 0
	s.Hooks = map[int]func(context.Context, pgx.Tx) error{2: func(ctx context.Context, tx pgx.Tx) error {
		hooked++
		_, err := tx.Exec(ctx, "INSERT INTO a VALUES (100)")
		return err
	}}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = pgmigrate.Apply(ctx, pool, s) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := pool.Query(ctx, "SELECT v FROM a ORDER BY v")
	got, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	// 1, then 2 (max+1) and the hook's 100, then 1000 (max*10).
	if want := []int{1, 2, 100, 1000}; !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	if hooked != 1 {
		t.Errorf("hook ran %d times, want 1", hooked)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM t_schema_migrations").Scan(&n); err != nil || n != 3 {
		t.Errorf("%d versions recorded (%v), want 3", n, err)
	}
}

// A failing migration is rolled back and not recorded; the ones before it
// stay; a bad file name is a clear error.
func TestApplyFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t).Pool(t)
	err := pgmigrate.Apply(ctx, pool, set(fstest.MapFS{
		"1_a.sql": {Data: []byte("CREATE TABLE a (v int);")},
		"2_b.sql": {Data: []byte("CREATE TABLE b (v int); SELECT 1/0;")},
	}))
	if err == nil || !strings.Contains(err.Error(), "t migrate 2_b.sql") {
		t.Fatalf("err = %v, want the failing file named", err)
	}
	var b, versions int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname = 'b'").Scan(&b); err != nil || b != 0 {
		t.Errorf("table b left behind (%d, %v)", b, err)
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM t_schema_migrations").Scan(&versions); err != nil || versions != 1 {
		t.Errorf("%d versions recorded (%v), want 1", versions, err)
	}
	err = pgmigrate.Apply(ctx, pool, set(fstest.MapFS{"x.sql": {Data: []byte("SELECT 1")}}))
	if err == nil || !strings.Contains(err.Error(), "must start with a number") {
		t.Errorf("bad name: %v", err)
	}
}
