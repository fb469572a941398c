package sqlparse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlaceholderErrorPositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string
		src     string
		opts    Options
		wantErr Pos    // of the last statement
		wantSQL string // of the last statement
	}{
		{
			name:    "flyway placeholder longer than its value",
			path:    "V1__x.sql",
			src:     "CREATE TABLE ${schema}.t (id int);\nALTER TABLE ${schema}.t ADD COLUMN x intt bogus;\n",
			opts:    Options{Vars: map[string]string{"schema": "s"}},
			wantErr: Pos{2, 43},
			wantSQL: "ALTER TABLE s.t ADD COLUMN x intt bogus",
		},
		{
			name:    "go template, multibyte text before the error",
			path:    "a.sql",
			src:     "-- é\nSELECT 'ünïcödé', {{ .Schema }}.f() FROM {{.Table}} WHERE WHERE;\n",
			opts:    Options{Templates: map[string]string{".Schema": "a_much_longer_schema", "Table": "t"}},
			wantErr: Pos{2, 59},
			wantSQL: "SELECT 'ünïcödé', a_much_longer_schema.f() FROM t WHERE WHERE",
		},
		{
			name:    "psql variables",
			path:    "deploy/x.sql",
			src:     "SET search_path = :\"schema\";\nSELECT :'label', :n FROM FROM;\n",
			opts:    Options{Vars: map[string]string{"schema": "app", "label": "it's", "n": "12345"}},
			wantErr: Pos{2, 26},
			wantSQL: "SELECT 'it''s', 12345 FROM FROM",
		},
		{
			name:    "unresolved placeholder keeps its name",
			path:    "V1__x.sql",
			src:     "CREATE TABLE ${missing}.t (id int) WITH;\n",
			wantErr: Pos{1, 40},
			wantSQL: "CREATE TABLE missing.t (id int) WITH",
		},
		{
			name:    "error inside a placeholder value points at the placeholder",
			path:    "V1__x.sql",
			src:     "SELECT 1;\n  SELECT ${bad} + 2;\n",
			opts:    Options{Vars: map[string]string{"bad": "1 + FROM"}},
			wantErr: Pos{2, 10},
			wantSQL: "SELECT 1 + FROM + 2",
		},
		{
			name:    "error at the end of substituted text points at the end of the statement",
			path:    "V1__x.sql",
			src:     "SELECT 1;\n  SELECT ${bad};\n",
			opts:    Options{Vars: map[string]string{"bad": "1 +"}},
			wantErr: Pos{2, 16},
			wantSQL: "SELECT 1 +",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := ParseFile(tt.path, []byte(tt.src), tt.opts)
			last := f.Statements[len(f.Statements)-1]
			if last.SQL != tt.wantSQL {
				t.Errorf("SQL = %q, want %q", last.SQL, tt.wantSQL)
			}
			if last.Err == nil {
				t.Fatalf("no syntax error in %q", last.SQL)
			}
			if last.Err.Pos != tt.wantErr {
				t.Errorf("error at %v, want %v (%s)", last.Err.Pos, tt.wantErr, last.Err.Msg)
			}
			for _, st := range f.Statements[:len(f.Statements)-1] {
				if st.Err != nil {
					t.Errorf("unexpected error %v", st.Err)
				}
			}
		})
	}
}

func TestUnresolvedPlaceholders(t *testing.T) {
	t.Parallel()
	f := ParseFile("V1__x.sql", []byte("CREATE TABLE ${schema}.t (id int) TABLESPACE {{ .Space }};\n"), Options{})
	st := f.Statements[0]
	if st.Err != nil {
		t.Fatalf("unexpected error %v", st.Err)
	}
	if diff := cmp.Diff([]string{"${schema}", "{{ .Space }}"}, st.Unresolved); diff != "" {
		t.Errorf("Unresolved (-want +got):\n%s", diff)
	}
}

func TestNodePos(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		src  string
		opts Options
	}{
		{"whole file parse", "SELECT 1;\n  CREATE INDEX i ON tbl (a);\n", Options{}},
		{"statement parse", "SELECT ${x};\n  CREATE INDEX i ON tbl (a);\n", Options{Vars: map[string]string{"x": "12345"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ParseFile("a.sql", []byte(tc.src), tc.opts)
			st := f.Statements[1]
			rel := st.Node.GetIndexStmt().GetRelation()
			if got := f.NodePos(st, rel.Location); got != (Pos{2, 21}) {
				t.Errorf("relation at %v, want 2:21", got)
			}
			if got := f.NodePos(st, -1); got != st.Start {
				t.Errorf("unknown location gives %v, want %v", got, st.Start)
			}
		})
	}
}

func TestEveryFrameworkKeepsGoingAfterSyntaxError(t *testing.T) {
	t.Parallel()
	body := "CREATE TABLE a (id int);\nCREATE TABLEX b (id int);\nCREATE INDEX i ON a (id);\n"
	files := map[string]string{
		"plain.sql":             body,
		"V1__flyway.sql":        body,
		"1_migrate.up.sql":      body,
		"1_goose.sql":           "-- +goose Up\n" + body,
		"1_dbmate.sql":          "-- migrate:up\n" + body + "-- migrate:down\n",
		"changes.sql":           "--liquibase formatted sql\n--changeset a:1\n" + body,
		"deploy/sqitch_chg.sql": body,
	}
	for path, src := range files {
		opts := Options{}
		if strings.HasPrefix(path, "deploy/") {
			opts.Framework = FrameworkSqitch
		}
		f := ParseFile(path, []byte(src), opts)
		up := f.Up()
		if len(up) != 3 {
			t.Errorf("%s (%s): %d up statements, want 3", path, f.Framework, len(up))
			continue
		}
		if up[0].Node == nil || up[1].Err == nil || up[2].Node == nil {
			t.Errorf("%s (%s): want only the second statement rejected, got errs %v %v %v", path, f.Framework, up[0].Err, up[1].Err, up[2].Err)
		}
		if e := up[1].Err; e != nil && e.Pos.Col != 8 {
			t.Errorf("%s: error at %v, want column 8", path, e.Pos)
		}
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      Framework
	}{
		{"V1__init.sql", "CREATE TABLE a (id int);", FrameworkFlyway},
		{"V1_2__init.sql", "", FrameworkFlyway},
		{"U3__undo.sql", "", FrameworkFlyway},
		{"R__views.sql", "", FrameworkFlyway},
		{"000001_init.up.sql", "", FrameworkGolangMigrate},
		{"000001_init.down.sql", "", FrameworkGolangMigrate},
		{"20240101_x.sql", "-- +goose Up\nSELECT 1;\n", FrameworkGoose},
		{"20240101_x.sql", "-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1;\n", FrameworkGoose},
		{"20240101_x.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n", FrameworkDbmate},
		{"changes.sql", "\n-- liquibase formatted sql\n--changeset a:1\nSELECT 1;\n", FrameworkLiquibase},
		{"V1__looks_like_flyway.sql", "-- +goose Up\nSELECT 1;\n", FrameworkGoose},
		{"init.sql", "SELECT 'migrate:up';", FrameworkSQL},
		{"Vfoo__x.sql", "", FrameworkSQL},
		{"2024-01-31-120000_create_users/up.sql", "", FrameworkDiesel},
		{"00000000000000_diesel_initial_setup/down.sql", "", FrameworkDiesel},
		{"20240131120000_init/migration.sql", "", FrameworkPrisma},
		{"20240131120000_init.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);", FrameworkSqlx},
		{"20240131120000_init.sql", "\n-- no-transaction\nSELECT 1;", FrameworkSQL},
		{"migrations/up.sql", "", FrameworkSQL},
		{"init/migration.sql", "", FrameworkSQL},
	}
	for _, tt := range tests {
		dir, name := splitName(tt.name)
		if got := detect(dir, name, []byte(tt.src)); got != tt.want {
			t.Errorf("detect(%q, %q) = %s, want %s", tt.name, tt.src, got, tt.want)
		}
	}
}

func TestOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fw    Framework
		names []string
	}{
		{FrameworkFlyway, []string{"V1__a.sql", "V1_1__b.sql", "V1.2__c.sql", "V2__d.sql", "U2__d.sql", "V10__e.sql", "V10.1__f.sql", "R__a_view.sql", "R__b_view.sql"}},
		{FrameworkGolangMigrate, []string{"1_a.up.sql", "1_a.down.sql", "2_b.up.sql", "2_b.down.sql", "10_c.up.sql", "100_d.up.sql"}},
		{FrameworkGoose, []string{"1_a.sql", "2_b.sql", "10_c.sql", "20240101000000_d.sql"}},
		{FrameworkDbmate, []string{"20240101000000_a.sql", "20240102000000_b.sql", "2024010300_c.sql"}},
		{FrameworkSQL, []string{"1_a.sql", "2_b.sql", "10_c.sql", "a.sql", "a2.sql", "a10.sql", "b.sql"}},
	}
	for _, tt := range tests {
		shuffled := append([]string(nil), tt.names...)
		for i, j := 0, len(shuffled)-1; i < j; i, j = i+1, j-1 {
			shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
		}
		sortPaths(shuffled, tt.fw)
		if diff := cmp.Diff(tt.names, shuffled); diff != "" {
			t.Errorf("%s order (-want +got):\n%s", tt.fw, diff)
		}
	}
}

func TestLoadErrorsAndSkips(t *testing.T) {
	t.Parallel()
	_, err := Load(t.Context(), []string{filepath.Join("testdata", "no-such-dir")}, Options{})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Load(missing) error = %v, want a 'does not exist' error", err)
	}

	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("001_big.sql", []byte(strings.Repeat("SELECT 1;\n", 100)))
	write("002_binary.sql", []byte{'S', 0, 'Q'})
	write("003_latin1.sql", []byte{'S', 'E', 'L', 0xe9})
	write("004_ok.sql", []byte("SELECT 1;\n"))
	write("notes.txt", []byte("not sql"))
	write("schema.sql", []byte("--\n-- PostgreSQL database dump\n--\n\\restrict abc\nCREATE TABLE a (id int);\n"))
	write(".hidden/005_hidden.sql", []byte("SELECT 1;\n"))
	files, err := Load(t.Context(), []string{dir}, Options{MaxFileSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f.Path)+" "+f.SkippedReason)
	}
	want := []string{
		"001_big.sql file is 1000 bytes, over the 500-byte limit",
		"002_binary.sql binary file (contains NUL bytes)",
		"003_latin1.sql not valid UTF-8",
		"004_ok.sql ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

func TestLoadExplicitFiles(t *testing.T) {
	t.Parallel()
	root := filepath.Join("testdata", "projects")
	paths := []string{
		filepath.Join(root, "flyway", "V10__users_name_index.sql"),
		filepath.Join(root, "sqitch", "deploy", "orders_fk.sql"),
		filepath.Join(root, "sqitch", "verify", "users.sql"),
		filepath.Join(root, "sqitch", "README.md"),
		filepath.Join(root, "flyway", "V10__users_name_index.sql"), // twice: loaded once
	}
	files, err := Load(t.Context(), paths, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, renderFile(root, f)[0])
	}
	want := []string{
		"flyway/V10__users_name_index.sql flyway v=10 mode=none intx=false",
		"sqitch/deploy/orders_fk.sql sqitch v=2 mode=none intx=false",
		"sqitch/verify/users.sql sqitch v=1 mode=none intx=false skipped: sqitch verify script: it checks a deployment and changes nothing",
		"sqitch/README.md sql v= mode=none intx=false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

func TestLoadForcedFramework(t *testing.T) {
	t.Parallel()
	root := filepath.Join("testdata", "projects", "goose")
	files, err := Load(t.Context(), []string{root}, Options{Framework: FrameworkSQL})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Framework != FrameworkSQL || len(f.Down()) != 0 {
			t.Errorf("%s: framework %s with %d down statements, want plain SQL, no down part", f.Path, f.Framework, len(f.Down()))
		}
	}
}

func TestParseFramework(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "auto", "flyway", "golang-migrate", "liquibase"} {
		if _, err := ParseFramework(s); err != nil {
			t.Errorf("ParseFramework(%q): %v", s, err)
		}
	}
	if _, err := ParseFramework("rails"); err == nil {
		t.Error("ParseFramework(rails) succeeded")
	}
}

func TestByteOrderMarkAndCRLF(t *testing.T) {
	t.Parallel()
	src := "\uFEFF-- +goose Up\r\nCREATE TABLE a (id int);\r\nCREATE INDEX i ON a (id) WHERE;\r\n-- +goose Down\r\nDROP TABLE a;\r\n"
	f := ParseFile("1_a.sql", []byte(src), Options{})
	if f.Framework != FrameworkGoose {
		t.Fatalf("framework %s, want goose", f.Framework)
	}
	var got []string
	for _, s := range f.Statements {
		e := ""
		if s.Err != nil {
			e = " err@" + s.Err.Pos.String()
		}
		got = append(got, string(s.Part)+" "+s.Start.String()+"-"+s.End.String()+e)
	}
	want := []string{"up 2:1-2:24", "up 3:1-3:31 err@3:31", "down 5:1-5:13"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
}

func TestReadSqitchPlan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := "%syntax-version=1.0.0\n%project=p\n\n# a comment\n" +
		"users 2024-01-01T00:00:00Z A <a@x> # users\n" +
		"schema/orders [users] 2024-01-02T00:00:00Z A <a@x>\n" +
		"@v1 2024-01-03T00:00:00Z A <a@x> # tag\n" +
		"users [users@v1] 2024-01-04T00:00:00Z A <a@x> # reworked\n"
	if err := os.WriteFile(filepath.Join(dir, "sqitch.plan"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readSqitchPlan(Options{}, filepath.Join(dir, "sqitch.plan"))
	if err != nil {
		t.Fatal(err)
	}
	want := []sqitchChange{
		{name: "users", script: "users@v1"},
		{name: "schema/orders", script: "schema/orders"},
		{name: "users", script: "users"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(sqitchChange{})); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}

func TestParseContent(t *testing.T) {
	t.Parallel()
	root := filepath.Join("testdata", "projects")
	tests := []struct {
		path     string
		src      string
		wantFw   Framework
		wantMode string
		wantPart Part
	}{
		{filepath.Join(root, "flyway", "V10__users_name_index.sql"), "CREATE INDEX i ON t (a);\n", FrameworkFlyway, TxModeNone, PartUp},
		{filepath.Join(root, "sqitch", "revert", "users.sql"), "DROP TABLE users;\n", FrameworkSqitch, TxModeNone, PartDown},
		{filepath.Join(root, "golang-migrate", "4_new.down.sql"), "DROP TABLE a;\n", FrameworkGolangMigrate, TxModeImplicit, PartDown},
		{"stdin.sql", "-- migrate:up\nSELECT 1;\n", FrameworkDbmate, TxModeFile, PartUp},
	}
	for _, tt := range tests {
		f, err := ParseContent(tt.path, []byte(tt.src), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Framework != tt.wantFw || f.TxMode != tt.wantMode || len(f.Statements) != 1 || f.Statements[0].Part != tt.wantPart {
			t.Errorf("ParseContent(%s): %s %s %d statements, want %s %s one %s statement", tt.path, f.Framework, f.TxMode, len(f.Statements), tt.wantFw, tt.wantMode, tt.wantPart)
		}
	}
}

func TestMigrationDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, want string }{
		{"db/migrations/20240101_x.sql", "db/migrations"},
		{"x.sql", "."},
		{"db/sqitch/deploy/users.sql", "db/sqitch"},
		{"db/sqitch/revert/app/users.sql", "db/sqitch"},
		{"migrations/2024-01-10-120000_create_users/up.sql", "migrations"},
		{"migrations/2024-01-10-120000_create_users/down.sql", "migrations"},
		{"prisma/migrations/20240110120000_init/migration.sql", "prisma/migrations"},
		{"db/init/migration.sql", "db/init"},
		{"db/up.sql", "db"},
	} {
		if got := MigrationDir(tc.path); got != tc.want {
			t.Errorf("MigrationDir(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
