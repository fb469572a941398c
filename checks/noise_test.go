package checks

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// TestNoise runs the lock and transaction rules over two realistic
// migration histories and pins how often each rule speaks:
//
//   - testdata/noise/careful: a golang-migrate project written the safe way
//     (lock_timeout, NOT VALID + VALIDATE in separate files, indexes built
//     CONCURRENTLY and attached USING INDEX, the CHECK route to NOT NULL,
//     binary-coercible type changes): these rules must say nothing.
//   - testdata/noise/hasty: a goose project written without care: every
//     finding listed here was reviewed as a true positive.
//
// A change that makes a rule speak more (or less) on these sets fails here
// and has to be looked at.
func TestNoise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir       string
		framework sqlparse.Framework
		want      map[string]int
	}{
		{"testdata/noise/careful", sqlparse.FrameworkGolangMigrate, map[string]int{}},
		{"testdata/noise/hasty", sqlparse.FrameworkGoose, map[string]int{
			"add-column-rewriting-kind":        1,
			"add-column-volatile-default":      1,
			"add-unique-constraint":            2,
			"alter-column-type":                1,
			"check-validated-inline":           1,
			"concurrent-in-transaction":        2,
			"fk-validated-inline":              1,
			"fk-without-index":                 1,
			"index-create-nonconcurrent":       2,
			"index-drop-nonconcurrent":         1,
			"missing-lock-timeout":             8,
			"missing-statement-timeout":        8,
			"multiple-alter-same-table":        1,
			"non-idempotent-stmt":              1,
			"set-not-null":                     1,
			"several-tables-locked-in-one-tx":  3,
			"statement-after-access-exclusive": 4,
			"unbounded-backfill":               1,
			"unbounded-dml-in-migration":       1,
			"vacuum-full-or-cluster":           1,
		}},
	}
	mine := map[string]bool{}
	for _, g := range [][]*Rule{lockRules, transactionRules} {
		for _, r := range g {
			mine[r.ID] = true
		}
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			files, err := sqlparse.Load(t.Context(), []string{tc.dir}, sqlparse.Options{Framework: tc.framework})
			if err != nil {
				t.Fatal(err)
			}
			res := Run(files, Settings{})
			got := map[string]int{}
			var lines []string
			for _, f := range res.Findings {
				if mine[f.Rule] {
					got[f.Rule]++
					lines = append(lines, fmt.Sprintf("%s:%d [%s] %s", f.Path, f.Line, f.Rule, f.Message))
				}
			}
			sort.Strings(lines)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("findings per rule differ (-want +got):\n%s\nfindings:\n%s", d, strings.Join(lines, "\n"))
			}
		})
	}
}
