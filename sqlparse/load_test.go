package sqlparse

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// renderFile describes a loaded file in one line per statement, so that a
// project's expectations read like the README that documents them.
func renderFile(root string, f *File) []string {
	rel, err := filepath.Rel(root, f.Path)
	if err != nil {
		rel = f.Path
	}
	head := fmt.Sprintf("%s %s v=%s mode=%s intx=%v", filepath.ToSlash(rel), f.Framework, f.Version, f.TxMode, f.InTransaction)
	if !f.Analysed {
		head += " skipped: " + f.SkippedReason
	}
	out := []string{head}
	for _, s := range f.Statements {
		line := fmt.Sprintf("  %s %v-%v tx=%d", s.Part, s.Start, s.End, s.TxBlock)
		if s.Err != nil {
			line += " err@" + s.Err.Pos.String()
		}
		out = append(out, line)
	}
	return out
}

func TestLoadProjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string // defaults to project
		project string
		opts    Options
		want    []string
	}{
		{
			project: "sql",
			want: []string{
				"1_create_users.sql sql v= mode=none intx=false",
				"  up 2:1-5:2 tx=0",
				"  up 7:1-10:2 tx=0",
				"2_add_email_index.sql sql v= mode=none intx=false",
				"  up 1:1-1:40 tx=0",
				"  up 4:1-4:46 tx=0",
				"9_explicit_transaction.sql sql v= mode=none intx=false",
				"  up 1:1-1:6 tx=1",
				"  up 2:1-2:30 tx=1",
				"  up 3:1-3:57 tx=1",
				"  up 4:1-4:7 tx=1",
				"10_accounts_fk.sql sql v= mode=none intx=false",
				"  up 1:1-1:24 tx=0",
				"  up 2:1-3:80 tx=0",
				"  up 4:1-4:64 tx=0 err@4:56",
				"  up 5:1-5:42 tx=0",
			},
		},
		{
			project: "flyway",
			opts:    Options{Vars: map[string]string{"app_schema": "app"}},
			want: []string{
				"V1__create_users.sql flyway v=1 mode=file intx=true",
				"  up 1:1-4:2 tx=1",
				"  up 5:1-8:2 tx=1",
				"V2__users_email_index.sql flyway v=2 mode=file intx=true",
				"  up 1:1-1:40 tx=1",
				"  up 2:1-2:46 tx=1",
				"U2__users_email_index.sql flyway v=2 mode=file intx=false",
				"  down 1:1-1:26 tx=1 err@1:6",
				"  down 2:1-2:36 tx=1",
				"V2_1__orders.sql flyway v=2.1 mode=file intx=true",
				"  up 1:1-4:2 tx=1",
				"  up 5:1-5:47 tx=1",
				"  up 6:1-6:97 tx=1",
				"  up 7:1-7:73 tx=1 err@7:73",
				"  up 8:1-8:52 tx=1",
				"V10__users_name_index.sql flyway v=10 mode=none intx=false",
				"  up 1:1-1:57 tx=0",
				"R__user_names_view.sql flyway v= mode=file intx=true",
				"  up 1:1-2:27 tx=1",
			},
		},
		{
			project: "golang-migrate",
			want: []string{
				"1_create_users.up.sql golang-migrate v=1 mode=implicit intx=false",
				"  up 1:1-4:2 tx=0",
				"1_create_users.down.sql golang-migrate v=1 mode=implicit intx=false",
				"  down 1:1-1:17 tx=0",
				"2_add_email.up.sql golang-migrate v=2 mode=implicit intx=true",
				"  up 1:1-1:40 tx=1",
				"  up 4:1-4:59 tx=1",
				"2_add_email.down.sql golang-migrate v=2 mode=implicit intx=false",
				"  down 1:1-1:40 tx=0",
				"3_orders_fk.up.sql golang-migrate v=3 mode=implicit intx=true",
				"  up 1:1-4:2 tx=1",
				"  up 5:1-5:47 tx=1",
				"  up 6:1-6:97 tx=1",
				"  up 7:1-7:50 tx=1 err@7:50",
				"3_orders_fk.down.sql golang-migrate v=3 mode=implicit intx=false",
				"  down 1:1-1:52 tx=1 err@1:36",
				"  down 2:1-2:18 tx=1",
				"10_users_name_index.up.sql golang-migrate v=10 mode=implicit intx=false",
				"  up 2:1-2:57 tx=0",
			},
		},
		{
			name:    "golang-migrate x-multi-statement",
			project: "golang-migrate",
			opts:    Options{MultiStatement: true},
			want: []string{
				"1_create_users.up.sql golang-migrate v=1 mode=none intx=false",
				"  up 1:1-4:2 tx=0",
				"1_create_users.down.sql golang-migrate v=1 mode=none intx=false",
				"  down 1:1-1:17 tx=0",
				"2_add_email.up.sql golang-migrate v=2 mode=none intx=false",
				"  up 1:1-1:40 tx=0",
				"  up 4:1-4:59 tx=0",
				"2_add_email.down.sql golang-migrate v=2 mode=none intx=false",
				"  down 1:1-1:40 tx=0",
				"3_orders_fk.up.sql golang-migrate v=3 mode=none intx=false",
				"  up 1:1-4:2 tx=0",
				"  up 5:1-5:47 tx=0",
				"  up 6:1-6:97 tx=0",
				"  up 7:1-7:50 tx=0 err@7:50",
				"3_orders_fk.down.sql golang-migrate v=3 mode=none intx=false",
				"  down 1:1-1:52 tx=0 err@1:36",
				"  down 2:1-2:18 tx=0",
				"10_users_name_index.up.sql golang-migrate v=10 mode=none intx=false",
				"  up 2:1-2:57 tx=0",
			},
		},
		{
			project: "goose",
			want: []string{
				"20240101120000_create_users.sql goose v=20240101120000 mode=file intx=true",
				"  up 2:1-5:2 tx=1",
				"  up 8:1-13:3 tx=1",
				"  down 17:1-17:28 tx=2",
				"  down 18:1-18:17 tx=2",
				"20240102120000_add_email_index.sql goose v=20240102120000 mode=file intx=true",
				"  up 2:1-2:40 tx=1",
				"  up 3:1-3:46 tx=1",
				"  up 5:1-5:57 tx=1",
				"  down 8:1-8:26 tx=2",
				"  down 9:1-9:27 tx=2",
				"20240103120000_concurrent_index.sql goose v=20240103120000 mode=none intx=false",
				"  up 3:1-3:72 tx=0",
				"  down 6:1-6:46 tx=0",
				"20240104120000_orders_fk.sql goose v=20240104120000 mode=file intx=true",
				"  up 2:1-5:2 tx=1",
				"  up 6:1-6:47 tx=1",
				"  up 7:1-7:97 tx=1",
				"  up 8:1-8:69 tx=1 err@8:61",
				"  down 11:1-11:17 tx=2 err@11:6",
				"  down 12:1-12:41 tx=2",
			},
		},
		{
			project: "dbmate",
			want: []string{
				"20240101000000_create_users.sql dbmate v=20240101000000 mode=file intx=true",
				"  up 2:1-5:2 tx=1",
				"  down 8:1-8:17 tx=2",
				"20240102000000_add_email_index.sql dbmate v=20240102000000 mode=implicit intx=true",
				"  up 2:1-2:40 tx=1",
				"  up 4:1-4:59 tx=1",
				"  down 7:1-7:27 tx=2",
				"  down 8:1-8:36 tx=2",
				"20240103000000_users_name_index.sql dbmate v=20240103000000 mode=implicit intx=false",
				"  up 2:1-2:57 tx=0",
				"  down 5:1-5:39 tx=0",
				"20240104000000_orders_fk.sql dbmate v=20240104000000 mode=file intx=true",
				"  up 2:1-5:2 tx=1",
				"  up 6:1-6:47 tx=1",
				"  up 7:1-7:97 tx=1",
				"  up 8:1-8:53 tx=1",
				"  up 9:1-9:39 tx=1 err@9:39",
				"  down 12:1-13:41 tx=2 err@13:1",
			},
		},
		{
			project: "sqitch",
			want: []string{
				"deploy/users.sql sqitch v=1 mode=none intx=false",
				"  up 3:1-3:6 tx=1",
				"  up 5:1-8:2 tx=1",
				"  up 10:1-10:7 tx=1",
				"revert/users.sql sqitch v=1 mode=none intx=false",
				"  down 3:1-3:6 tx=1",
				"  down 4:1-4:17 tx=1",
				"  down 5:1-5:7 tx=1",
				"deploy/orders_fk.sql sqitch v=2 mode=none intx=false",
				"  up 4:1-4:6 tx=1",
				"  up 6:1-9:2 tx=1",
				"  up 10:1-10:47 tx=1",
				"  up 11:1-11:97 tx=1",
				"  up 12:1-12:98 tx=1 err@12:93",
				"  up 14:1-14:7 tx=1",
				"revert/orders_fk.sql sqitch v=2 mode=none intx=false",
				"  down 3:1-3:6 tx=1",
				"  down 4:1-4:52 tx=1 err@4:36",
				"  down 5:1-5:18 tx=1",
				"  down 6:1-6:7 tx=1",
				"deploy/email_index.sql sqitch v=3 mode=none intx=false",
				"  up 5:1-5:40 tx=0",
				"  up 6:1-6:59 tx=0",
				"  up 7:1-7:44 tx=0",
				"revert/email_index.sql sqitch v=3 mode=none intx=false",
				"  down 3:1-3:39 tx=0",
				"  down 4:1-4:40 tx=0",
				"  down 5:1-5:36 tx=0",
				"deploy/unlisted.sql sqitch v= mode=none intx=false skipped: sqitch deploy script not listed in sqitch.plan: sqitch never runs it",
			},
		},
		{
			project: "diesel",
			want: []string{
				"migrations/00000000000000_diesel_initial_setup/up.sql diesel v=00000000000000 mode=file intx=true",
				"  up 3:1-8:20 tx=1",
				"migrations/00000000000000_diesel_initial_setup/down.sql diesel v=00000000000000 mode=file intx=false",
				"  down 1:1-1:64 tx=1",
				"migrations/2024-01-10-120000_create_users/up.sql diesel v=20240110120000 mode=file intx=true",
				"  up 1:1-4:2 tx=1",
				"migrations/2024-01-10-120000_create_users/down.sql diesel v=20240110120000 mode=file intx=false",
				"  down 1:1-1:17 tx=1",
				"migrations/2024-01-11-090000_add_email_index/up.sql diesel v=20240111090000 mode=file intx=true",
				"  up 1:1-1:40 tx=1",
				"  up 2:1-2:59 tx=1",
				"migrations/2024-01-11-090000_add_email_index/down.sql diesel v=20240111090000 mode=file intx=false",
				"  down 1:1-1:27 tx=1",
				"  down 2:1-2:36 tx=1",
				"migrations/2024-01-12-090000_users_name_index/up.sql diesel v=20240112090000 mode=implicit intx=false",
				"  up 1:1-1:57 tx=0",
				"migrations/2024-01-12-090000_users_name_index/down.sql diesel v=20240112090000 mode=implicit intx=false",
				"  down 1:1-1:39 tx=0",
				"migrations/2024-01-13-090000_orders_fk/up.sql diesel v=20240113090000 mode=file intx=true",
				"  up 1:1-4:2 tx=1",
				"  up 5:1-5:47 tx=1",
				"  up 6:1-6:97 tx=1",
				"  up 7:1-7:53 tx=1 err@7:45",
				"migrations/2024-01-13-090000_orders_fk/down.sql diesel v=20240113090000 mode=file intx=false",
				"  down 1:1-1:17 tx=1 err@1:6",
				"  down 2:1-2:41 tx=1",
			},
		},
		{
			name:    "diesel forced sql",
			project: "diesel",
			opts:    Options{Framework: FrameworkSQL},
			want: []string{
				"migrations/00000000000000_diesel_initial_setup/down.sql sql v= mode=none intx=false",
				"  up 1:1-1:64 tx=0",
				"migrations/00000000000000_diesel_initial_setup/up.sql sql v= mode=none intx=false",
				"  up 3:1-8:20 tx=0",
				"migrations/2024-01-10-120000_create_users/down.sql sql v= mode=none intx=false",
				"  up 1:1-1:17 tx=0",
				"migrations/2024-01-10-120000_create_users/up.sql sql v= mode=none intx=false",
				"  up 1:1-4:2 tx=0",
				"migrations/2024-01-11-090000_add_email_index/down.sql sql v= mode=none intx=false",
				"  up 1:1-1:27 tx=0",
				"  up 2:1-2:36 tx=0",
				"migrations/2024-01-11-090000_add_email_index/up.sql sql v= mode=none intx=false",
				"  up 1:1-1:40 tx=0",
				"  up 2:1-2:59 tx=0",
				"migrations/2024-01-12-090000_users_name_index/down.sql sql v= mode=none intx=false",
				"  up 1:1-1:39 tx=0",
				"migrations/2024-01-12-090000_users_name_index/up.sql sql v= mode=none intx=false",
				"  up 1:1-1:57 tx=0",
				"migrations/2024-01-13-090000_orders_fk/down.sql sql v= mode=none intx=false",
				"  up 1:1-1:17 tx=0 err@1:6",
				"  up 2:1-2:41 tx=0",
				"migrations/2024-01-13-090000_orders_fk/up.sql sql v= mode=none intx=false",
				"  up 1:1-4:2 tx=0",
				"  up 5:1-5:47 tx=0",
				"  up 6:1-6:97 tx=0",
				"  up 7:1-7:53 tx=0 err@7:45",
			},
		},
		{
			project: "prisma",
			want: []string{
				"prisma/migrations/20240110120000_init/migration.sql prisma v=20240110120000 mode=implicit intx=false",
				"  up 2:1-7:2 tx=0",
				"prisma/migrations/20240111090000_email_index/migration.sql prisma v=20240111090000 mode=implicit intx=true",
				"  up 2:1-2:44 tx=1",
				"  up 5:1-5:64 tx=1",
				"prisma/migrations/20240112090000_name_index/migration.sql prisma v=20240112090000 mode=implicit intx=false",
				"  up 2:1-2:62 tx=0",
				"prisma/migrations/20240113090000_orders_fk/migration.sql prisma v=20240113090000 mode=implicit intx=true",
				"  up 2:1-7:2 tx=1",
				"  up 10:1-10:144 tx=1",
				"  up 13:1-13:64 tx=1",
			},
		},
		{
			project: "sqlx",
			want: []string{
				"migrations/20240110120000_create_users.sql sqlx v=20240110120000 mode=file intx=true",
				"  up 1:1-4:2 tx=1",
				"migrations/20240111090000_add_email_index.up.sql sqlx v=20240111090000 mode=file intx=true",
				"  up 1:1-1:40 tx=1",
				"  up 2:1-2:59 tx=1",
				"migrations/20240111090000_add_email_index.down.sql sqlx v=20240111090000 mode=file intx=false",
				"  down 1:1-1:27 tx=1",
				"  down 2:1-2:36 tx=1",
				"migrations/20240112090000_users_name_index.sql sqlx v=20240112090000 mode=implicit intx=false",
				"  up 2:1-2:57 tx=0",
				"migrations/20240113090000_orders_fk.sql sqlx v=20240113090000 mode=file intx=true",
				"  up 1:1-4:2 tx=1",
				"  up 5:1-5:47 tx=1",
				"  up 6:1-6:97 tx=1",
				"  up 7:1-7:53 tx=1",
			},
		},
		{
			project: "liquibase",
			want: []string{
				"changelog/001-users.sql liquibase v= mode=changeset intx=true",
				"  up 4:1-7:2 tx=1",
				"  down 8:12-8:28 tx=2",
				"  up 11:1-11:40 tx=3",
				"  up 12:1-12:46 tx=3",
				"  down 13:12-13:38 tx=4",
				"  down 14:12-14:47 tx=4",
				"changelog/002-concurrent.sql liquibase v= mode=changeset intx=true",
				"  up 4:1-4:57 tx=0",
				"  down 5:12-5:50 tx=0",
				"  up 9:1-9:70 tx=1",
				"changelog/010-orders-fk.sql liquibase v= mode=changeset intx=true",
				"  up 4:1-7:2 tx=1",
				"  up 8:1-8:47 tx=1",
				"  up 9:1-9:97 tx=1",
				"  up 10:1-10:41 tx=1 err@10:41",
				"  down 12:1-12:51 tx=2",
				"  down 13:1-13:18 tx=2",
				"  up 17:1-17:40 tx=3",
				"  down 18:12-18:52 tx=4 err@18:48",
			},
		},
	}
	for _, tt := range tests {
		name := tt.name
		if name == "" {
			name = tt.project
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join("testdata", "projects", tt.project)
			files, err := Load(t.Context(), []string{root}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range files {
				got = append(got, renderFile(root, f)...)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load(%s) mismatch (-want +got):\n%s", root, diff)
			}
		})
	}
}

func TestParentOfAndJoinNameMatchFilepath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dir, name string }{
		{".", "V1__a.sql"}, {"/", "V1__a.sql"}, {"db", "V1__a.sql"}, {"/abs/db/migrations", "x.sql"},
		{"../up", "1_a.up.sql"}, {"a/b/c", "V2.1__x.sql"},
	} {
		p := filepath.Join(tc.dir, tc.name)
		if got, want := parentOf(p, tc.name), filepath.Dir(p); got != want {
			t.Errorf("parentOf(%q, %q) = %q, want %q", p, tc.name, got, want)
		}
		if got, want := joinName(filepath.Clean(tc.dir), tc.name), p; got != want {
			t.Errorf("joinName(%q, %q) = %q, want %q", tc.dir, tc.name, got, want)
		}
	}
}
