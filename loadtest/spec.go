// Package loadtest runs dedicated-environment experiments: pgbench
// benchmarks against a PostgreSQL that nothing else uses, iteration after
// iteration, with the statistics reset before each one, wait events and
// locks sampled every second during it, and 70+ artifact files collected
// after it (system, version, every setting, every relevant pg_stat_* and
// pg_statio_* view, sizes, the pgbench log and summary). Results are TPS
// and latency percentiles per iteration computed from pgbench's
// per-transaction logs, A/B deltas with their spread across iterations, a
// markdown table and PNG plots.
//
// A benchmark is described by a Spec (YAML or JSON, or built from flags).
// The local Runner runs pgbench on this host against the target DSN; the
// GitLab runner triggers a pipeline in a runner project (any GitLab runner
// a user registers is the dedicated hardware), polls it, downloads the job
// artifacts and imports them. Runs, iterations and artifacts are kept in
// the reviewer's database (Store) and can be exported as a folder.
//
// Manager is the API of the entry points that start a run and fetch its
// results later (the agent's run_db_experiment_dedicated_env and
// run_db_experiment_wait tools, `/pgai bench`).
package loadtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Spec describes a benchmark.
type Spec struct {
	// Name is a label for people (history pages, plots).
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Target is the PostgreSQL under test.
	Target Target `json:"target" yaml:"target"`
	// Pre are the steps run once before the first iteration.
	Pre Steps `json:"pre,omitempty" yaml:"pre,omitempty"`
	// Workload is what pgbench runs.
	Workload Workload `json:"workload" yaml:"workload"`
	// Iterations is how many times each (variant, clients) point runs
	// (default 1).
	Iterations int `json:"iterations,omitempty" yaml:"iterations,omitempty"`
	// AB, when set, is the variable compared: every point runs once per
	// variant, interleaved (A B, then B A, ...) so drift over time does
	// not favour one side.
	AB *AB `json:"ab,omitempty" yaml:"ab,omitempty"`
	// Flamegraph records the PostgreSQL processes with perf during each
	// iteration and renders an SVG flame graph (needs perf and a local
	// server).
	Flamegraph bool `json:"flamegraph,omitempty" yaml:"flamegraph,omitempty"`
	// DropCaches writes 3 to /proc/sys/vm/drop_caches before each
	// iteration (root on the database host only; skipped otherwise, and
	// the artifact resets.txt says so).
	DropCaches bool `json:"drop_caches,omitempty" yaml:"drop_caches,omitempty"`
	// StatementsTop is how many pg_stat_statements rows are collected
	// (default 100).
	StatementsTop int `json:"statements_top,omitempty" yaml:"statements_top,omitempty"`
}

// Target names the server under test.
type Target struct {
	// DSN is a libpq connection string or URL (a dedicated server, or a
	// clone). It may contain a password: it is never written to an
	// artifact or a log.
	DSN string `json:"dsn,omitempty" yaml:"dsn,omitempty"`
	// DSNEnv names an environment variable that holds the DSN (the
	// GitLab runner's job reads it from a masked CI variable).
	DSNEnv string `json:"dsn_env,omitempty" yaml:"dsn_env,omitempty"`
	// RestartCommand restarts the server (for settings that need a
	// restart); a shell command, so only where Shell is allowed.
	RestartCommand string `json:"restart_command,omitempty" yaml:"restart_command,omitempty"`
}

// Steps are preparation steps: settings, SQL, shell.
type Steps struct {
	// Settings are applied with ALTER SYSTEM SET and a reload; a setting
	// whose context is postmaster also needs Restart.
	Settings map[string]string `json:"settings,omitempty" yaml:"settings,omitempty"`
	// Restart runs Target.RestartCommand after the settings.
	Restart bool `json:"restart,omitempty" yaml:"restart,omitempty"`
	// SQL statements run in order, each in its own implicit transaction.
	SQL []string `json:"sql,omitempty" yaml:"sql,omitempty"`
	// Shell commands run with sh -c; refused unless the runner allows
	// shell (a dedicated runner).
	Shell []string `json:"shell,omitempty" yaml:"shell,omitempty"`
}

func (s Steps) empty() bool {
	return len(s.Settings) == 0 && !s.Restart && len(s.SQL) == 0 && len(s.Shell) == 0
}

// Workload is the pgbench part of a spec.
type Workload struct {
	// Builtin is a pgbench built-in script: tpcb-like (default when no
	// Scripts), simple-update or select-only.
	Builtin string `json:"builtin,omitempty" yaml:"builtin,omitempty"`
	// Scale is pgbench -i -s (default 10). Init 'false' skips pgbench -i
	// (the tables are there already).
	Scale int   `json:"scale,omitempty" yaml:"scale,omitempty"`
	Init  *bool `json:"init,omitempty" yaml:"init,omitempty"`
	// Scripts are custom pgbench scripts (SQL and meta-commands).
	Scripts []Script `json:"scripts,omitempty" yaml:"scripts,omitempty"`
	// Clients are the client counts run (pgbench -c), e.g. [1, 4, 16].
	Clients []int `json:"clients" yaml:"clients"`
	// Jobs is pgbench -j: 0 means as many threads as clients, capped at
	// the host's CPUs.
	Jobs int `json:"jobs,omitempty" yaml:"jobs,omitempty"`
	// Duration is pgbench -T.
	Duration Duration `json:"duration" yaml:"duration"`
	// Progress is pgbench -P in seconds (default 10).
	Progress int `json:"progress,omitempty" yaml:"progress,omitempty"`
	// NoStatementLatencies drops -r (per-statement latencies are on by
	// default).
	NoStatementLatencies bool `json:"no_statement_latencies,omitempty" yaml:"no_statement_latencies,omitempty"`
	// Protocol is pgbench -M: simple (default), extended or prepared.
	Protocol string `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	// Rate limits the transactions per second (pgbench -R), 0 = as fast
	// as possible.
	Rate float64 `json:"rate,omitempty" yaml:"rate,omitempty"`
}

// Script is a custom pgbench script.
type Script struct {
	Name   string `json:"name" yaml:"name"`
	SQL    string `json:"sql" yaml:"sql"`
	Weight int    `json:"weight,omitempty" yaml:"weight,omitempty"`
}

// AB is the variable of an A/B comparison.
type AB struct {
	// Name says what is compared, e.g. "pg_stat_statements".
	Name string `json:"name" yaml:"name"`
	// Variants are the values compared, A first (at least two).
	Variants []Variant `json:"variants" yaml:"variants"`
}

// Variant is one side of an A/B comparison: the steps that put the server
// in that state before each of its iterations.
type Variant struct {
	Label string `json:"label" yaml:"label"`
	Steps `yaml:",inline"`
}

// Duration is a time.Duration written as "30s" in YAML and JSON.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes "30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "30s", "2m" or a number of seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, err := strconv.Atoi(s); err == nil {
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. 30s or 5m", s)
	}
	*d = Duration(v)
	return nil
}

// ParseSpec reads a spec from YAML or JSON (JSON is YAML). Unknown keys
// are errors, so a typo does not silently change the benchmark.
func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	if err := yaml.UnmarshalWithOptions(b, &s, yaml.Strict(), yaml.UseJSONUnmarshaler()); err != nil {
		return nil, fmt.Errorf("benchmark spec: %s", yaml.FormatError(err, false, true))
	}
	return &s, nil
}

// LoadSpec reads a spec file.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	s, err := ParseSpec(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// JSON returns the spec as JSON (the GitLab runner passes it as a CI
// variable). The DSN is left out: the runner has its own.
func (s *Spec) JSON(withDSN bool) ([]byte, error) {
	c := *s
	if !withDSN {
		c.Target.DSN = ""
	}
	return json.Marshal(&c)
}

// Builtins pgbench knows.
var Builtins = []string{"tpcb-like", "simple-update", "select-only"}

var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// Defaults fills the defaults in place.
func (s *Spec) Defaults() {
	if s.Iterations == 0 {
		s.Iterations = 1
	}
	w := &s.Workload
	if w.Builtin == "" && len(w.Scripts) == 0 {
		w.Builtin = "tpcb-like"
	}
	if w.Scale == 0 {
		w.Scale = 10
	}
	if w.Progress == 0 {
		w.Progress = 10
	}
	if w.Protocol == "" {
		w.Protocol = "simple"
	}
	if s.StatementsTop == 0 {
		s.StatementsTop = 100
	}
	for i := range w.Scripts {
		if w.Scripts[i].Weight == 0 {
			w.Scripts[i].Weight = 1
		}
	}
}

// InitTables reports whether pgbench -i runs (default yes for built-ins).
func (w Workload) InitTables() bool {
	if w.Init != nil {
		return *w.Init
	}
	return w.Builtin != ""
}

// Validate reports every problem of a spec at once. allowShell says
// whether the runner may run shell commands (a dedicated runner).
func (s *Spec) Validate(allowShell bool) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Target.DSN == "" && s.Target.DSNEnv == "" {
		add("target: no dsn (or dsn_env)")
	}
	w := s.Workload
	if w.Builtin != "" && !slices.Contains(Builtins, w.Builtin) {
		add("workload.builtin %q: want one of %s", w.Builtin, strings.Join(Builtins, ", "))
	}
	if w.Scale < 0 {
		add("workload.scale %d: want 1 or more", w.Scale)
	}
	for i, sc := range w.Scripts {
		if strings.TrimSpace(sc.SQL) == "" {
			add("workload.scripts[%d]: empty sql", i)
		}
		if sc.Weight < 0 {
			add("workload.scripts[%d]: weight %d: want 1 or more", i, sc.Weight)
		}
		if sc.Name != "" && !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(sc.Name) {
			add("workload.scripts[%d]: name %q: letters, digits, - and _ only", i, sc.Name)
		}
	}
	if len(w.Clients) == 0 {
		add("workload.clients: none (e.g. [1, 4, 16])")
	}
	for _, c := range w.Clients {
		if c < 1 || c > 10000 {
			add("workload.clients: %d: want 1 to 10000", c)
		}
	}
	if w.Jobs < 0 {
		add("workload.jobs %d: want 0 (auto) or more", w.Jobs)
	}
	if w.Duration.D() < time.Second {
		add("workload.duration %s: want at least 1s", w.Duration)
	}
	if w.Progress < 0 {
		add("workload.progress %d: want seconds", w.Progress)
	}
	if !slices.Contains([]string{"simple", "extended", "prepared"}, w.Protocol) {
		add("workload.protocol %q: want simple, extended or prepared", w.Protocol)
	}
	if w.Rate < 0 {
		add("workload.rate %g: want 0 or more", w.Rate)
	}
	if s.Iterations < 1 || s.Iterations > 100 {
		add("iterations %d: want 1 to 100", s.Iterations)
	}
	checkSteps := func(where string, st Steps) {
		for k := range st.Settings {
			if !settingName.MatchString(k) {
				add("%s.settings: %q is not a setting name", where, k)
			}
		}
		if len(st.Shell) > 0 && !allowShell {
			add("%s.shell: shell commands run only on a dedicated runner (the GitLab runner, or reviewer bench --allow-shell)", where)
		}
		if st.Restart {
			if s.Target.RestartCommand == "" {
				add("%s.restart: no target.restart_command", where)
			} else if !allowShell {
				add("%s.restart: restarting runs target.restart_command, a shell command: only on a dedicated runner", where)
			}
		}
	}
	checkSteps("pre", s.Pre)
	if s.AB != nil {
		if s.AB.Name == "" {
			add("ab.name: empty")
		}
		if len(s.AB.Variants) < 2 {
			add("ab.variants: want at least two")
		}
		seen := map[string]bool{}
		for i, v := range s.AB.Variants {
			if v.Label == "" {
				add("ab.variants[%d]: no label", i)
			}
			if seen[v.Label] {
				add("ab.variants[%d]: label %q twice", i, v.Label)
			}
			seen[v.Label] = true
			checkSteps(fmt.Sprintf("ab.variants[%d]", i), v.Steps)
		}
	}
	return errors.Join(errs...)
}

// Variants returns the variants run: the A/B ones, or one unnamed.
func (s *Spec) Variants() []Variant {
	if s.AB == nil {
		return []Variant{{Label: ""}}
	}
	return s.AB.Variants
}

// Point is one pgbench run of a benchmark: a variant, a client count, an
// iteration number (1-based).
type Point struct {
	Seq       int    `json:"seq"`
	Variant   string `json:"variant,omitempty"`
	Clients   int    `json:"clients"`
	Iteration int    `json:"iteration"`
}

// Plan lists the pgbench runs in the order they run: iteration by
// iteration, client count by client count, and the variants interleaved,
// their order reversed every other time (A B, B A, A B, ...) so that a
// slow drift (a warming cache, a growing history table) does not favour
// one variant.
func (s *Spec) Plan() []Point {
	vs := s.Variants()
	var out []Point
	turn := 0
	for it := 1; it <= s.Iterations; it++ {
		for _, c := range s.Workload.Clients {
			order := make([]int, len(vs))
			for i := range order {
				order[i] = i
			}
			if turn%2 == 1 {
				slices.Reverse(order)
			}
			turn++
			for _, i := range order {
				out = append(out, Point{Seq: len(out) + 1, Variant: vs[i].Label, Clients: c, Iteration: it})
			}
		}
	}
	return out
}

// Budget is the least time the plan takes (pgbench durations only).
func (s *Spec) Budget() time.Duration {
	return time.Duration(len(s.Plan())) * s.Workload.Duration.D()
}

// ABFromFlag builds an A/B variable from a flag value:
//
//	pg_stat_statements              pg_stat_statements.track top vs none
//	SETTING=V1,V2[,...]             a setting's values (ALTER SYSTEM + reload)
func ABFromFlag(v string) (*AB, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if v == "pg_stat_statements" {
		return &AB{Name: "pg_stat_statements", Variants: []Variant{
			{Label: "on", Steps: Steps{Settings: map[string]string{"pg_stat_statements.track": "top"}}},
			{Label: "off", Steps: Steps{Settings: map[string]string{"pg_stat_statements.track": "none"}}},
		}}, nil
	}
	name, vals, ok := strings.Cut(v, "=")
	if !ok || !settingName.MatchString(name) {
		return nil, fmt.Errorf("--ab %q: want pg_stat_statements or SETTING=VALUE1,VALUE2", v)
	}
	ab := &AB{Name: name}
	for _, x := range strings.Split(vals, ",") {
		x = strings.TrimSpace(x)
		if x == "" {
			continue
		}
		ab.Variants = append(ab.Variants, Variant{Label: x, Steps: Steps{Settings: map[string]string{name: x}}})
	}
	if len(ab.Variants) < 2 {
		return nil, fmt.Errorf("--ab %q: want at least two values", v)
	}
	return ab, nil
}

// ParseClients reads "1,2,4" or "1-8" doubling ("1-8" is 1,2,4,8).
func ParseClients(v string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if lo, hi, ok := strings.Cut(part, "-"); ok {
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || a < 1 || b < a {
				return nil, fmt.Errorf("clients %q: want e.g. 1,2,4 or 1-16", v)
			}
			for c := a; c <= b; c *= 2 {
				out = append(out, c)
			}
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("clients %q: want e.g. 1,2,4 or 1-16", v)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("clients %q: none", v)
	}
	return out, nil
}

// RedactDSN hides the password of a DSN (URL or key=value form).
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "REDACTED")
			}
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "REDACTED")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`).ReplaceAllString(dsn, "${1}REDACTED")
}
