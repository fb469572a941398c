package sqlparse

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
)

// The regular expressions the hand-written matchers replace.
var (
	flywayNameRE        = regexp.MustCompile(`^([VU])(\d+(?:[._]\d+)*)__.*\.sql$`)
	flywayRepeatableRE  = regexp.MustCompile(`^R__(.*)\.sql$`)
	golangMigrateNameRE = regexp.MustCompile(`^(\d+)_.*\.(up|down)\.sql$`)
	leadingDigitsRE     = regexp.MustCompile(`^(\d+)`)
)

func TestNameMatchersEqualRegexps(t *testing.T) {
	t.Parallel()
	names := []string{
		"", "V", "V1", "V1__x.sql", "V1_2__x.sql", "V1.2.3__add.sql", "V1__.sql", "V1___x.sql", "V1__x.SQL",
		"V1_2_x__y.sql", "V1._2__x.sql", "V1__2__x.sql", "U7__undo.sql", "v1__x.sql", "V__x.sql", "V1_2", "V01__a.sql",
		"R__views.sql", "R__.sql", "R_views.sql", "R__a.sql.bak", "1_init.up.sql", "1_init.down.sql", "1_.up.sql",
		"001_init.up.sql", "1init.up.sql", "1_init.sql", "_1_init.up.sql", "1_init.upsql", "20240101_x.up.sql",
		"1_a\nb.up.sql", "V1__a\nb.sql", "R__a\n.sql", "123abc", "abc", "0", "V1__x.sql.sql", "1_x.up.sql.down.sql",
	}
	alphabet := []byte("VUR_._1209sqlupdown.\nx")
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(14))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for _, n := range names {
		for _, m := range []struct {
			re *regexp.Regexp
			fn func(string) []string
		}{{flywayNameRE, matchFlyway}, {flywayRepeatableRE, matchFlywayRepeatable}, {golangMigrateNameRE, matchGolangMigrate}, {leadingDigitsRE, matchLeadingDigits}} {
			if want, got := m.re.FindStringSubmatch(n), m.fn(n); !slices.Equal(want, got) {
				t.Errorf("%q: %s gives %q, the matcher %q", n, m.re, want, got)
			}
		}
	}
}
