package sqlparse

import (
	"strings"
	"testing"
)

func TestFingerprint(t *testing.T) {
	t.Parallel()
	fp := func(sql string) string {
		t.Helper()
		f := ParseFile("m.sql", []byte(sql), Options{})
		if len(f.Statements) != 1 || f.Statements[0].Node == nil {
			t.Fatalf("%q: want one parsed statement, got %d", sql, len(f.Statements))
		}
		return f.Statements[0].Fingerprint()
	}
	base := "ALTER TABLE orders ADD COLUMN note text DEFAULT 'x';"
	same := []string{
		"alter table ORDERS add column Note TEXT default 'x';",
		"ALTER TABLE orders\n    ADD COLUMN note text -- why\n    DEFAULT 'x';",
		"ALTER /* c */ TABLE orders ADD COLUMN note text DEFAULT 'something else';",
		"ALTER TABLE orders ADD COLUMN note text DEFAULT E'it\\'s';",
	}
	differ := []string{
		"ALTER TABLE orders ADD COLUMN notes text DEFAULT 'x';",
		"ALTER TABLE \"Orders\" ADD COLUMN note text DEFAULT 'x';",
		"ALTER TABLE orders ADD COLUMN note varchar DEFAULT 'x';",
		"ALTER TABLE orders ADD COLUMN note text;",
	}
	want := fp(base)
	if len(want) != 16 || strings.Trim(want, "0123456789abcdef") != "" {
		t.Fatalf("fingerprint %q, want 16 hex digits", want)
	}
	for _, s := range same {
		if got := fp(s); got != want {
			t.Errorf("fingerprint of %q = %s, want %s (same as %q)", s, got, want, base)
		}
	}
	for _, s := range differ {
		if got := fp(s); got == want {
			t.Errorf("fingerprint of %q equals that of %q", s, base)
		}
	}
	if a, b := fp("SELECT 1 + 2.5e-3;"), fp("SELECT 7 + 10;"); a != b {
		t.Errorf("numbers: %s != %s", a, b)
	}
	if a, b := fp("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;"), fp("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $b$ SELECT 2 $b$;"); a == b {
		t.Errorf("function bodies that differ have the same fingerprint %s", a)
	}
	if got := (&Statement{SQL: "SELEC 1", Err: &SyntaxError{}}).Fingerprint(); got != "" {
		t.Errorf("fingerprint of a syntax error = %q, want empty", got)
	}
}
