package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/internal/pgtest"
)

// TestCheckSchemaDSNSizeAware: with --schema-dsn (no clone), a lock
// hazard on a table the live database says is tiny is info, with the
// sizes; on a larger table it stays an error.
func TestCheckSchemaDSNSizeAware(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE settings (k text PRIMARY KEY, v text); INSERT INTO settings SELECT g::text, 'v' FROM generate_series(1, 10) g;
		CREATE TABLE events (id int PRIMARY KEY, v int); INSERT INTO events SELECT g, g FROM generate_series(1, 50000) g; ANALYZE`)
	dir := t.TempDir()
	src := "CREATE INDEX settings_v ON settings (v);\nCREATE INDEX events_v ON events (v);\n"
	if err := os.WriteFile(filepath.Join(dir, "001_idx.sql"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check", "--schema-dsn", db.URL, "--brief", dir}, strings.NewReader(""), &out, &errOut)
	if code != exitBlocking {
		t.Errorf("exit %d, want %d (events stays blocking)\n%s%s", code, exitBlocking, out.String(), errOut.String())
	}
	for _, want := range []string{
		":1:1: info [index-create-nonconcurrent]", "Live database: settings is", "~10 rows",
		":2:1: error [index-create-nonconcurrent]",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
