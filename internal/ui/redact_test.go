package ui

import "testing"

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"pgbench -h db postgres://bench:s3cret@db:5432/app": "pgbench -h db postgres://bench:REDACTED@db:5432/app",
		"host=db user=u password=hunter2 dbname=x":          "host=db user=u password=REDACTED dbname=x",
		"CREATE ROLE app LOGIN PASSWORD 'hunter2';":         "CREATE ROLE app LOGIN PASSWORD 'REDACTED';",
		"PGPASSWORD=hunter2 pgbench":                        "PGPASSWORD=REDACTED pgbench",
		`{"token": "glpat-abcdefghijklmnop"}`:               `{"token": REDACTED}`,
		"key sk-abcdefghijklmnopqrstuvwx":                   "key sk-REDACTED",
		"Authorization: Bearer abc.def":                     "Authorization: Bearer REDACTED",
		"ALTER TABLE orders ADD COLUMN password_hash text":  "ALTER TABLE orders ADD COLUMN password_hash text",
		"SELECT 1 -- nothing secret here":                   "SELECT 1 -- nothing secret here",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
