package loadtest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpecYAMLAndJSON(t *testing.T) {
	y := `
name: pgss overhead
target: {dsn: "postgres://bench:secret@db1/bench"}
workload:
  builtin: select-only
  scale: 50
  clients: [1, 8, 32]
  duration: 60s
iterations: 3
ab:
  name: pg_stat_statements
  variants:
    - label: "on"
      settings: {pg_stat_statements.track: top}
    - label: "off"
      settings: {pg_stat_statements.track: none}
`
	s, err := ParseSpec([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	s.Defaults()
	if err := s.Validate(false); err != nil {
		t.Fatal(err)
	}
	if s.Workload.Duration.D() != time.Minute || s.Workload.Scale != 50 || len(s.AB.Variants) != 2 || s.AB.Variants[1].Settings["pg_stat_statements.track"] != "none" {
		t.Errorf("spec = %+v", s)
	}
	j, err := s.JSON(false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(j), "secret") {
		t.Errorf("JSON without DSN has the password: %s", j)
	}
	back, err := ParseSpec(j)
	if err != nil {
		t.Fatalf("JSON does not parse back: %v\n%s", err, j)
	}
	back.Target.DSN = s.Target.DSN
	if d := cmp.Diff(s, back); d != "" {
		t.Errorf("round trip (-yaml +json):\n%s", d)
	}
	if _, err := ParseSpec([]byte("workload: {clints: [1]}")); err == nil || !strings.Contains(err.Error(), "clints") {
		t.Errorf("unknown key accepted: %v", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	s := &Spec{Workload: Workload{Builtin: "tpcc", Clients: []int{0}, Protocol: "carrier-pigeon"},
		Pre: Steps{Shell: []string{"echo hi"}, Restart: true}, Iterations: 1}
	err := s.Validate(false)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no dsn", "tpcc", "clients: 0", "duration", "carrier-pigeon", "pre.shell", "restart_command"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestPlanInterleavesVariants(t *testing.T) {
	s := &Spec{Workload: Workload{Clients: []int{1, 4}}, Iterations: 2, AB: &AB{Name: "x", Variants: []Variant{{Label: "A"}, {Label: "B"}}}}
	var got []string
	for _, p := range s.Plan() {
		got = append(got, p.Variant+"@"+string(rune('0'+p.Clients)))
	}
	want := []string{"A@1", "B@1", "B@4", "A@4", "A@1", "B@1", "B@4", "A@4"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestABFromFlag(t *testing.T) {
	ab, err := ABFromFlag("pg_stat_statements")
	if err != nil || ab.Variants[0].Settings["pg_stat_statements.track"] != "top" || ab.Variants[1].Label != "off" {
		t.Errorf("pg_stat_statements: %+v %v", ab, err)
	}
	ab, err = ABFromFlag("synchronous_commit=on,off")
	if err != nil || len(ab.Variants) != 2 || ab.Variants[1].Settings["synchronous_commit"] != "off" {
		t.Errorf("setting: %+v %v", ab, err)
	}
	for _, bad := range []string{"synchronous_commit=on", "nonsense", "x;drop=1,2"} {
		if _, err := ABFromFlag(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseClients(t *testing.T) {
	for in, want := range map[string][]int{"1,2": {1, 2}, "1-16": {1, 2, 4, 8, 16}, " 4 ": {4}} {
		got, err := ParseClients(in)
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("%q = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "a", "8-2"} {
		if _, err := ParseClients(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable": "postgres://u:REDACTED@h:5432/db?sslmode=disable",
		"host=h user=u password=pw dbname=db":       "host=h user=u password=REDACTED dbname=db",
		"host=h password='p w' dbname=db":           "host=h password=REDACTED dbname=db",
		"postgres://u@h/db":                         "postgres://u@h/db",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
		arg, env := pgbenchConn(in)
		if strings.Contains(arg, "pw") || strings.Contains(arg, "p w") {
			t.Errorf("pgbench argument keeps the password: %q", arg)
		}
		if dsnPassword(in) != "" && (len(env) != 1 || !strings.HasPrefix(env[0], "PGPASSWORD=p")) {
			t.Errorf("password not passed in the environment: %v", env)
		}
	}
}
