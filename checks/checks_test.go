package checks

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/sqlparse"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// fixtureSettings reads the optional "settings" section: key=value lines
// (pg_version, framework, in_transaction, timezone, assume_lock_timeout,
// assume_statement_timeout, path).
func fixtureSettings(t *testing.T, fx Fixture) (Settings, sqlparse.Options, string) {
	t.Helper()
	s := Settings{}
	var o sqlparse.Options
	path := ""
	for _, line := range strings.Split(fx.Sections["settings"], "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "pg_version":
			ver, err := ParseVersion(v)
			if err != nil {
				t.Fatal(err)
			}
			s.PGVersion = ver
		case "framework":
			o.Framework = sqlparse.Framework(v)
		case "in_transaction":
			o.AssumeInTransaction = v == "true"
		case "timezone":
			s.SessionTimeZone = v
		case "assume_lock_timeout":
			s.AssumeLockTimeout = v == "true"
		case "assume_statement_timeout":
			s.AssumeStatementTimeout = v == "true"
		case "path":
			path = v
		default:
			t.Fatalf("%s: unknown setting %q", fx.Name, k)
		}
	}
	return s, o, path
}

// runFixture runs all rules on one section and returns the findings of the
// rule under test, rendered one per line.
func runFixture(t *testing.T, fx Fixture, ruleID, section string) []string {
	t.Helper()
	lines, _ := runFixtureFixes(t, fx, ruleID, section)
	return lines
}

// runFixtureFixes is runFixture that also renders each finding's fix and
// edit, for the optional "want-fix" section: fixtures that pin the fix text
// a rule gives in a particular context.
func runFixtureFixes(t *testing.T, fx Fixture, ruleID, section string) ([]string, []string) {
	t.Helper()
	s, o, path := fixtureSettings(t, fx)
	s.Enabled = map[string]bool{ruleID: true} // a fixture tests its rule, also one that is off by default
	name := section
	if path != "" {
		name = strings.ReplaceAll(path, "{}", strings.TrimSuffix(section, ".sql"))
	}
	f := sqlparse.ParseFile(name, []byte(fx.Sections[section]), o)
	files := []*sqlparse.File{f}
	if setup, ok := fx.Sections["setup.sql"]; ok {
		// setup.sql is the schema before the migration: an earlier file of
		// the same run, so that the rules' catalog knows its tables.
		files = []*sqlparse.File{sqlparse.ParseFile("setup.sql", []byte(setup), sqlparse.Options{Framework: sqlparse.FrameworkSQL}), f}
	}
	res := Run(files, s)
	var out, fixes []string
	for _, fd := range res.Findings {
		if fd.Rule != ruleID || fd.Path != f.Path {
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d:%d: %s [%s] %s", fd.Path, fd.Line, fd.Column, fd.Severity, fd.Rule, fd.Message))
		fix := fmt.Sprintf("%s:%d: fix:\n%s", fd.Path, fd.Line, fd.Fix)
		if fd.Edit != nil {
			fix += fmt.Sprintf("\n%s:%d-%d: edit:\n%s", fd.Path, fd.Edit.StartLine, fd.Edit.EndLine, strings.TrimSuffix(fd.Edit.Text, "\n"))
		}
		fixes = append(fixes, fix)
	}
	return out, fixes
}

func TestRuleFixtures(t *testing.T) {
	for _, r := range All() {
		for _, fx := range Fixtures(r.ID) {
			t.Run(fx.Name, func(t *testing.T) {
				var got, gotFix []string
				for _, sec := range fx.Order {
					if strings.HasPrefix(sec, "bad") && strings.HasSuffix(sec, ".sql") {
						lines, fixes := runFixtureFixes(t, fx, r.ID, sec)
						got, gotFix = append(got, lines...), append(gotFix, fixes...)
					}
				}
				if len(got) == 0 {
					t.Errorf("bad fixtures produce no %s finding", r.ID)
				}
				for _, sec := range fx.Order {
					if strings.HasPrefix(sec, "good") && strings.HasSuffix(sec, ".sql") {
						if g := runFixture(t, fx, r.ID, sec); len(g) > 0 {
							t.Errorf("%s yields findings:\n%s", sec, strings.Join(g, "\n"))
						}
					}
				}
				want := strings.TrimSpace(fx.Sections["want"])
				gotS := strings.Join(got, "\n")
				wantFix, pinFix := fx.Sections["want-fix"]
				gotFixS := strings.Join(gotFix, "\n\n")
				if *update {
					if _, ok := fx.Sections["want"]; !ok {
						fx.Order = append(fx.Order, "want")
					}
					fx.Sections["want"] = gotS + "\n"
					if pinFix {
						fx.Sections["want-fix"] = gotFixS + "\n"
					}
					if err := os.WriteFile(filepath.Join("testdata", fx.Name+".txtar"), []byte(FormatTxtar(fx)), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				if d := cmp.Diff(want, gotS); d != "" {
					t.Errorf("findings differ from want (-want +got); run go test ./checks -update to accept:\n%s", d)
				}
				if d := cmp.Diff(strings.TrimSpace(wantFix), gotFixS); pinFix && d != "" {
					t.Errorf("fixes differ from want-fix (-want +got); run go test ./checks -update to accept:\n%s", d)
				}
			})
		}
	}
}

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// TestRegistry checks that every rule is documented and has fixtures.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		if !kebab.MatchString(r.ID) {
			t.Errorf("rule id %q is not kebab-case", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("rule id %q registered twice", r.ID)
		}
		seen[r.ID] = true
		if r.Summary == "" || r.Why == "" || r.Fix == "" || !strings.HasPrefix(r.DocsURL, "https://") {
			t.Errorf("%s: Summary, Why, Fix and DocsURL must all be set", r.ID)
		}
		if r.Severity < Info || r.Severity > Error {
			t.Errorf("%s: bad severity %v", r.ID, r.Severity)
		}
		if r.Measured != (r.Group == "measured") || (r.Measured && r.Check != nil) {
			t.Errorf("%s: measured rules are in the measured group and have no Check", r.ID)
		}
		if r.Check == nil && r.Group != "syntax" && r.ID != "unused-ignore" && r.ID != "non-linear-history" && !r.Measured {
			t.Errorf("%s: no Check", r.ID)
		}
		if r.Check == nil {
			continue
		}
		fxs := Fixtures(r.ID)
		if len(fxs) == 0 {
			t.Errorf("%s: no testdata/%s.txtar", r.ID, r.ID)
		}
		hasBad, hasGood := false, false
		for _, fx := range fxs {
			_, b := fx.Sections["bad.sql"]
			_, g := fx.Sections["good.sql"]
			hasBad, hasGood = hasBad || b, hasGood || g
		}
		if !hasBad || !hasGood {
			t.Errorf("%s: fixtures need a bad.sql and a good.sql section", r.ID)
		}
	}
}
