package checks

import (
	"fmt"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// A statement that adds 60 stored generated columns is one finding that
// lists them, with one fingerprint that survives lines inserted above.
func TestOneFindingPerRuleAndStatement(t *testing.T) {
	setup := sqlparse.ParseFile("V1__t.sql", []byte("CREATE TABLE t (id bigint PRIMARY KEY, a int);\n"), sqlparse.Options{})
	var cols []string
	for i := range 60 {
		cols = append(cols, fmt.Sprintf("ADD COLUMN g%d int GENERATED ALWAYS AS (a + %d) STORED", i, i))
	}
	stmt := "ALTER TABLE t " + strings.Join(cols, ",\n  ") + ";\n"
	run := func(src string) []Finding {
		f := sqlparse.ParseFile("V2__g.sql", []byte(src), sqlparse.Options{})
		var out []Finding
		for _, fd := range Run([]*sqlparse.File{setup, f}, Settings{}).Findings {
			if fd.Rule == "add-column-rewriting-kind" {
				out = append(out, fd)
			}
		}
		return out
	}
	got := run(stmt)
	if len(got) != 1 {
		t.Fatalf("got %d add-column-rewriting-kind findings, want 1", len(got))
	}
	f := got[0]
	if !strings.HasPrefix(f.Message, "ADD COLUMN g0 GENERATED ALWAYS AS (a + 0) STORED rewrites table t") ||
		!strings.Contains(f.Message, "for 59 more: ADD COLUMN g1 GENERATED ALWAYS AS (a + 1);") ||
		!strings.Contains(f.Message, "and 49 more.") {
		t.Errorf("message does not list the other columns:\n%s", f.Message)
	}
	for i := range 60 {
		if want := fmt.Sprintf("    ALTER TABLE t ADD COLUMN g%d integer;\n", i); !strings.Contains(f.Fix+"\n", want) {
			t.Errorf("fix lacks %q:\n%s", want, f.Fix)
		}
	}
	if n := strings.Count(f.Fix, "Add a plain nullable column"); n != 1 {
		t.Errorf("fix repeats its explanation %d times", n)
	}
	moved := run("-- a comment\nSELECT 1;\n\n" + stmt)
	if len(moved) != 1 || moved[0].Fingerprint != f.Fingerprint {
		t.Errorf("fingerprint changed when lines were inserted above: %v", moved)
	}
	other := run(strings.Replace(stmt, "g0 ", "h0 ", 1))
	if len(other) != 1 || other[0].Fingerprint == f.Fingerprint {
		t.Errorf("a different statement kept the fingerprint")
	}
}

func TestMergeFixes(t *testing.T) {
	got := mergeFixes([]string{
		"Do it in two steps:\n\n    ALTER TABLE t ADD x;\n    UPDATE t SET x = 1;\n\nThen drop it.",
		"Do it in two steps:\n\n    ALTER TABLE t ADD y;\n    UPDATE t SET x = 1;\n\nThen drop it.",
	})
	want := "Do it in two steps:\n\n    ALTER TABLE t ADD x;\n    UPDATE t SET x = 1;\n    ALTER TABLE t ADD y;\n\nThen drop it."
	if got != want {
		t.Errorf("mergeFixes:\n%s\nwant:\n%s", got, want)
	}
}
