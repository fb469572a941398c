package sqlparse

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// txBlocks lists the TxBlock of each up statement.
func txBlocks(f *File) []int {
	var out []int
	for _, s := range f.Up() {
		out = append(out, s.TxBlock)
	}
	return out
}

func TestTransactionModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		src      string
		opts     Options
		wantMode string
		wantInTx bool
		want     []int
	}{
		{
			name: "plain autocommit", path: "a.sql",
			src:      "CREATE TABLE a (id int);\nCREATE INDEX ON a (id);\n",
			wantMode: TxModeNone, want: []int{0, 0},
		},
		{
			name: "plain assumed transaction", path: "a.sql", opts: Options{AssumeInTransaction: true},
			src:      "CREATE TABLE a (id int);\nCREATE INDEX ON a (id);\n",
			wantMode: TxModeFile, wantInTx: true, want: []int{1, 1},
		},
		{
			name: "plain explicit blocks", path: "a.sql",
			src:      "BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\nSTART TRANSACTION;\nSELECT 3;\nROLLBACK;\n",
			wantMode: TxModeNone, want: []int{1, 1, 1, 0, 2, 2, 2},
		},
		{
			name: "commit and chain", path: "a.sql",
			src:      "BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\nSELECT 2;\nCOMMIT;\nSELECT 3;\n",
			wantMode: TxModeNone, want: []int{1, 1, 1, 2, 2, 0},
		},
		{
			name: "goose commit ends the tool transaction", path: "1_a.sql",
			src:      "-- +goose Up\nSELECT 1;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON a (id);\n",
			wantMode: TxModeFile, wantInTx: true, want: []int{1, 1, 0},
		},
		{
			name: "flyway commit reopens a transaction (JDBC autocommit off)", path: "V1__a.sql",
			src:      "SELECT 1;\nCOMMIT;\nSELECT 2;\nSELECT 3;\n",
			wantMode: TxModeFile, wantInTx: true, want: []int{1, 1, 2, 2},
		},
		{
			name: "golang-migrate commit starts a new implicit block", path: "1_a.up.sql",
			src:      "INSERT INTO t VALUES (1);\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
			wantMode: TxModeImplicit, wantInTx: true, want: []int{1, 1, 2},
		},
		{
			name: "golang-migrate single statement runs alone", path: "1_a.up.sql",
			src:      "-- only one\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
			wantMode: TxModeImplicit, want: []int{0},
		},
		{
			name: "golang-migrate begin inside the implicit block", path: "1_a.up.sql",
			src:      "BEGIN;\nSELECT 1;\nCOMMIT;\n",
			wantMode: TxModeImplicit, wantInTx: true, want: []int{1, 1, 1},
		},
		{
			name: "flyway concurrent index alone runs without transaction", path: "V3__a.sql",
			src:      "CREATE INDEX CONCURRENTLY i ON t (a);\n",
			wantMode: TxModeNone, want: []int{0},
		},
		{
			name: "flyway mixed statements run without transaction", path: "V3__a.sql",
			src:      "SET lock_timeout = '1s';\nDROP INDEX CONCURRENTLY i;\n",
			wantMode: TxModeNone, want: []int{0, 0},
		},
		{
			name: "goose no transaction with a multi-statement block", path: "1_a.sql",
			src:      "-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1;\n-- +goose StatementBegin\nSELECT 2;\nSELECT 3;\n-- +goose StatementEnd\nSELECT 4;\n",
			wantMode: TxModeNone, wantInTx: true, want: []int{0, 1, 1, 0},
		},
		{
			name: "dbmate commit inside the block reopens", path: "1_a.sql",
			src:      "-- migrate:up\nSELECT 1;\nCOMMIT;\nSELECT 2;\n-- migrate:down\nSELECT 3;\n",
			wantMode: TxModeFile, wantInTx: true, want: []int{1, 1, 2},
		},
		{
			name: "liquibase changesets and options", path: "c.sql",
			src: "--liquibase formatted sql\n--changeset a:1\nSELECT 1;\nSELECT 2;\n--changeset a:2 runInTransaction:false\nSELECT 3;\nSELECT 4;\n" +
				"--changeset a:3 runInTransaction:false splitStatements:false\nSELECT 5;\nSELECT 6;\n--changeset a:4\nSELECT 7;\n",
			wantMode: TxModeChangeset, wantInTx: true, want: []int{1, 1, 0, 0, 2, 2, 3},
		},
		{
			name: "sqitch explicit transaction", path: "deploy/x.sql", opts: Options{Framework: FrameworkSqitch},
			src:      "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n",
			wantMode: TxModeNone, want: []int{1, 1, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := ParseFile(tt.path, []byte(tt.src), tt.opts)
			for _, s := range f.Statements {
				if s.Err != nil {
					t.Fatalf("unexpected syntax error %v", s.Err)
				}
			}
			if f.TxMode != tt.wantMode || f.InTransaction != tt.wantInTx {
				t.Errorf("TxMode=%q InTransaction=%v, want %q %v (%s)", f.TxMode, f.InTransaction, tt.wantMode, tt.wantInTx, f.TxReason)
			}
			if f.TxReason == "" {
				t.Error("empty TxReason")
			}
			if diff := cmp.Diff(tt.want, txBlocks(f)); diff != "" {
				t.Errorf("TxBlocks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlywayMixedReason(t *testing.T) {
	t.Parallel()
	f := ParseFile("V3__a.sql", []byte("SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY i ON t (a);\n"), Options{})
	if !strings.Contains(f.TxReason, "CREATE INDEX CONCURRENTLY") || !strings.Contains(f.TxReason, "mixed=true") {
		t.Errorf("TxReason = %q, want it to name the statement and mixed=true", f.TxReason)
	}
}
