package checks

import (
	"embed"
	"strings"
)

// Fixtures are the rules' bad and good examples. They are embedded so that
// `reviewer rules` and the knowledge base show the same SQL the tests run.
//
//go:embed testdata/*.txtar
var fixtureFS embed.FS

// Fixture is one testdata/<rule-id>[.variant].txtar file.
type Fixture struct {
	Name string
	// Sections by name: "bad.sql", "good.sql", "want", "settings",
	// "setup.sql" (schema for the PostgreSQL proof test).
	Sections map[string]string
	Order    []string
}

// Fixtures returns every fixture whose name starts with the rule id: the
// rule's main fixture (testdata/<id>.txtar) first, so that docs show its
// examples, then the variants in name order.
func Fixtures(ruleID string) []Fixture {
	entries, _ := fixtureFS.ReadDir("testdata")
	var out []Fixture
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".txtar")
		if name != ruleID && !strings.HasPrefix(name, ruleID+".") {
			continue
		}
		b, err := fixtureFS.ReadFile("testdata/" + e.Name())
		if err != nil {
			continue
		}
		fx := ParseTxtar(name, string(b))
		if name == ruleID {
			out = append([]Fixture{fx}, out...)
			continue
		}
		out = append(out, fx)
	}
	return out
}

// ParseTxtar reads the txtar format: "-- name --" lines start sections.
func ParseTxtar(name, s string) Fixture {
	fx := Fixture{Name: name, Sections: map[string]string{}}
	cur := ""
	var b strings.Builder
	flush := func() {
		if cur != "" {
			fx.Sections[cur] = b.String()
			fx.Order = append(fx.Order, cur)
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(s, "\n") {
		t := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") && len(t) > 6 {
			flush()
			cur = strings.TrimSpace(t[3 : len(t)-3])
			continue
		}
		if cur != "" {
			b.WriteString(line)
		}
	}
	flush()
	return fx
}

// FormatTxtar writes a fixture back in section order.
func FormatTxtar(fx Fixture) string {
	var b strings.Builder
	for _, name := range fx.Order {
		b.WriteString("-- " + name + " --\n")
		body := fx.Sections[name]
		b.WriteString(body)
		if body != "" && !strings.HasSuffix(body, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}
