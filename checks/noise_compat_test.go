package checks

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// TestNoiseCompatibilityAndTypes runs the compatibility and type rules over
// four migration histories of different styles and pins how often each
// speaks. Every finding counted here was reviewed as a true positive; a
// change that makes a rule speak more or less fails here and has to be
// looked at.
//
//   - careful (golang-migrate, written the safe way): the type rules still
//     see a timestamp and a varchar(200) column (fixed later in the set),
//     and data-dependent-unique the unique index on a column the
//     application filled between two deploys, where duplicates can exist.
//   - hasty (goose): serial ids, timestamp, json, varchar(255), a unique
//     index over existing data, an integer FK to a key widened to bigint;
//     quiet on UNIQUE over a gen_random_uuid() column and on a constraint
//     replacing a unique index dropped just before.
//   - django (sqlmigrate output): serial ids (AutoField), varchar(n) for
//     every CharField, DROP … CASCADE as Django always writes it (reported
//     once, by drop-column / drop-table, not again by drop-cascade), the
//     add-with-default-then-unique pattern that fails on two rows.
//   - rails (structure.sql style): timestamp(6) without time zone, json, a
//     join table without key, fk_rails_* dropped, ON DELETE CASCADE.
func TestNoiseCompatibilityAndTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir       string
		framework sqlparse.Framework
		want      map[string]int
	}{
		{"testdata/noise/careful", sqlparse.FrameworkGolangMigrate, map[string]int{
			"data-dependent-unique": 1, "timestamp-without-tz": 1, "varchar-length": 1,
		}},
		{"testdata/noise/hasty", sqlparse.FrameworkGoose, map[string]int{
			"data-dependent-unique": 1, "json-not-jsonb": 1, "serial-not-identity": 2, "small-integer-ids": 3,
			"timestamp-without-tz": 3, "varchar-length": 2,
		}},
		{"testdata/noise/django", sqlparse.FrameworkSQL, map[string]int{
			"data-dependent-unique": 1, "drop-column": 1, "drop-not-null": 1, "drop-table": 2, "rename-column": 1,
			"small-integer-ids": 6, "varchar-length": 6,
		}},
		{"testdata/noise/rails", sqlparse.FrameworkSQL, map[string]int{
			"drop-column": 1, "drop-foreign-key": 1, "enum-type": 1, "json-not-jsonb": 1, "on-delete-cascade": 1,
			"table-without-pk": 1, "timestamp-without-tz": 2,
		}},
	}
	ours := map[string]bool{}
	for _, r := range append(append([]*Rule{}, compatibilityRules...), typeRules...) {
		ours[r.ID] = true
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			files, err := sqlparse.Load(t.Context(), []string{tc.dir}, sqlparse.Options{Framework: tc.framework})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			var lines []string
			for _, f := range Run(files, Settings{}).Findings {
				if ours[f.Rule] {
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
