package dblab_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/pgtest"
)

// TestPlanTextMatchesExplain renders JSON plans and compares them with
// what PostgreSQL prints for EXPLAIN (ANALYZE, BUFFERS) of the same query,
// numbers aside (each run has its own timings).
func TestPlanTextMatchesExplain(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE o (id int PRIMARY KEY, c int, s text); INSERT INTO o SELECT g, g % 100, md5(g::text) FROM generate_series(1, 20000) g;
		CREATE TABLE c (id int PRIMARY KEY, n text); INSERT INTO c SELECT g, 'n' || g FROM generate_series(1, 100) g; ANALYZE`)
	conn := db.Conn(t)
	if _, err := conn.Exec(t.Context(), "SET max_parallel_workers_per_gather = 0; SET work_mem = '64kB'"); err != nil {
		t.Fatal(err)
	}
	digits := regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)
	norm := func(s string) string {
		var keep []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			// Memory figures and buffer counts differ from run to run
			// (hits become reads); keep the line's words.
			if strings.Contains(l, "Buffers:") || strings.HasPrefix(strings.TrimSpace(l), "Planning:") {
				continue
			}
			keep = append(keep, digits.ReplaceAllString(l, "N"))
		}
		return strings.Join(keep, "\n")
	}
	for _, q := range []string{
		"SELECT * FROM o WHERE c = 7 AND s LIKE 'a%' ORDER BY s",
		"SELECT c.n, count(*) FROM o JOIN c ON c.id = o.c WHERE o.id > 100 GROUP BY c.n ORDER BY 2 DESC LIMIT 5",
		"UPDATE o SET s = s WHERE id < 50",
	} {
		var js []byte
		if err := conn.QueryRow(t.Context(), "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q).Scan(&js); err != nil {
			t.Fatal(err)
		}
		var plan []map[string]any
		if err := json.Unmarshal(js, &plan); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(t.Context(), "EXPLAIN (ANALYZE, BUFFERS) "+q)
		if err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			want.WriteString(l + "\n")
		}
		rows.Close()
		got := dblab.PlanText(plan)
		if norm(got) != norm(want.String()) {
			t.Errorf("%s:\n--- PlanText\n%s--- EXPLAIN (ANALYZE, BUFFERS)\n%s", q, got, want.String())
		}
	}
}
