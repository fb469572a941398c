package review

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/internal/config"
)

// TestSchemaFilesGiveExactVerdicts reviews type changes of columns that
// only a schema file declares: a real pg_dump --schema-only of PostgreSQL
// 15.20 (with its \restrict line) and a Rails structure.sql. With the
// schema the verdict names the current type and says whether the table is
// rewritten; without it the rule can only say it cannot tell. Nothing in
// the schema files themselves is reported.
func TestSchemaFilesGiveExactVerdicts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mig := filepath.Join(dir, "001_types.sql")
	if err := os.WriteFile(mig, []byte(`SET lock_timeout = '2s';
SET statement_timeout = '5min';
ALTER TABLE users ALTER COLUMN email TYPE varchar(200);
ALTER TABLE users ALTER COLUMN score TYPE bigint;
ALTER TABLE billing.invoices ALTER COLUMN amount_cents TYPE bigint;
ALTER TABLE projects ALTER COLUMN name TYPE text;
ALTER TABLE projects ALTER COLUMN owner_id TYPE bigint;
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	typeFindings := func(schemas ...string) map[int]string {
		rep, err := Run(t.Context(), Request{Paths: []string{dir}, Config: cfg, Schemas: schemas})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]string{}
		for _, f := range rep.Findings {
			if !strings.HasSuffix(f.Path, "001_types.sql") {
				t.Errorf("finding in a schema file: %s:%d %s", f.Path, f.Line, f.Rule)
			}
			if f.Rule == "alter-column-type" {
				out[f.Line] = f.Message
			}
		}
		return out
	}
	without := typeFindings()
	for _, line := range []int{3, 4, 5, 6, 7} {
		if !strings.Contains(without[line], "cannot be told") {
			t.Errorf("without a schema, line %d: %q, want \"cannot be told\"", line, without[line])
		}
	}
	with := typeFindings("testdata/schema/pg15-schema-only.sql", "testdata/schema/rails-structure.sql")
	want := map[int]string{
		4: "(from integer) rewrites table users",
		5: "(from integer) rewrites table billing.invoices",
		7: "(from integer) rewrites table projects",
	}
	for line, msg := range with {
		if want[line] == "" {
			t.Errorf("with the schema, line %d: unexpected %q", line, msg)
		} else if !strings.Contains(msg, want[line]) {
			t.Errorf("with the schema, line %d: %q, want %q", line, msg, want[line])
		}
	}
	for line := range want {
		if with[line] == "" {
			t.Errorf("with the schema, line %d: no alter-column-type finding", line)
		}
	}
}

func TestBlankMetaCommands(t *testing.T) {
	t.Parallel()
	in := "\\restrict abc\nSET x = 1;\n\\unrestrict abc"
	got := string(blankMetaCommands([]byte(in)))
	if want := "             \nSET x = 1;\n               "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if same := []byte("SELECT 1;\n"); &blankMetaCommands(same)[0] != &same[0] {
		t.Error("copied a text without meta-commands")
	}
}
