package checks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// Severity ranks findings. Error blocks the gate by default.
type Severity int

// The severities, from least to most serious.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// ParseSeverity reads "error", "warning" or "info".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// MarshalText writes the severity's name, for JSON and YAML.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Finding is one problem found in a migration. Its JSON form is a public
// contract (reviewer check --format json, MR comments): add fields, never
// rename them.
type Finding struct {
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	Path      string   `json:"path"`
	Line      int      `json:"line"`
	Column    int      `json:"column"`
	EndLine   int      `json:"end_line"`
	EndColumn int      `json:"end_column"`
	// Statement is the statement's text as written in the file.
	Statement string `json:"statement"`
	// Message says what is wrong; Why says what PostgreSQL does (the lock
	// mode and what it blocks, a rewrite or a scan); Fix gives the safe SQL.
	Message string `json:"message"`
	Why     string `json:"why"`
	Fix     string `json:"fix"`
	DocsURL string `json:"docs_url"`
	// Fingerprint identifies the finding across runs: it does not change
	// when lines are inserted above it or whitespace changes.
	Fingerprint string `json:"fingerprint"`
	// Evidence carries measurements (clone experiments) or other facts.
	Evidence map[string]any `json:"evidence"`
	// Blocking is true when the finding fails the gate (set by Run from
	// the fail_on threshold).
	Blocking bool `json:"blocking"`
	// Measured is the clone measurement that is evidence for this finding
	// (same statement, same relation), written for people on one line, e.g.
	// "ACCESS EXCLUSIVE on orders held 18.6 s — blocked reads and writes;
	// table and 5 indexes rewritten, 253 MB". Empty when nothing measured
	// bears on it. Set by dblab; rendered by every report format.
	Measured string `json:"measured,omitempty"`
	// Refuted is true when a clone measurement contradicted the static
	// claim: Message then says what was measured, and Fix is empty.
	Refuted bool `json:"refuted,omitempty"`
	// Edit, when set, replaces the statement's own lines with SQL that
	// fixes the finding: GitLab suggestion blocks and `reviewer check
	// --diff` apply it.
	Edit *Edit `json:"edit,omitempty"`
}

// Edit replaces whole lines StartLine..EndLine (1-based, inclusive) of the
// finding's file with Text (which ends with a newline unless empty).
type Edit struct {
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	Text      string `json:"text"`
}

// MarshalJSON makes an empty Evidence an object rather than null.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	return json.Marshal(plain(f))
}

// Version is a PostgreSQL server version.
type Version struct {
	Major, Minor int
}

// ParseVersion reads "15", "14.3" or "170002" (server_version_num).
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n >= 100000 {
		return Version{Major: n / 10000, Minor: n % 10000}, nil
	}
	major, minor, _ := strings.Cut(s, ".")
	m, err := strconv.Atoi(major)
	if err != nil || m < 9 || m > 99 {
		return Version{}, fmt.Errorf("bad PostgreSQL version %q (want e.g. 15 or 14.3)", s)
	}
	v := Version{Major: m}
	if minor != "" {
		if v.Minor, err = strconv.Atoi(minor); err != nil {
			return Version{}, fmt.Errorf("bad PostgreSQL version %q", s)
		}
	}
	return v, nil
}

func (v Version) String() string {
	if v.Minor == 0 {
		return strconv.Itoa(v.Major)
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// DefaultVersion is the PostgreSQL version assumed when none is given.
var DefaultVersion = Version{Major: 15}

// Settings configure a run of the rules.
type Settings struct {
	// PGVersion is the target server's version.
	PGVersion Version
	// Severity overrides a rule's default severity, by rule id.
	Severity map[string]Severity
	// Disabled turns rules off, by rule id; Enabled turns on rules that
	// are off by default.
	Disabled map[string]bool
	Enabled  map[string]bool
	// FailOn is the lowest severity that blocks the gate (default Error).
	FailOn Severity
	// SessionTimeZone is the TimeZone the migrations run with (default
	// "UTC"); it decides whether timestamp → timestamptz rewrites.
	SessionTimeZone string
	// AssumeLockTimeout says the runner sets lock_timeout itself (for
	// example in the connection string), so the rule asking for one in
	// each migration stays quiet.
	AssumeLockTimeout bool
	// AssumeStatementTimeout is the same for statement_timeout.
	AssumeStatementTimeout bool
	// TableRows gives real table sizes (rows) from a clone, keyed by
	// lower-case table name, optionally schema-qualified.
	TableRows map[string]int64
}

// Rule is one check. Every rule lives in its own file with its fixture in
// testdata/<ID>.txtar.
type Rule struct {
	// ID is stable kebab-case: it appears in comments, ignore directives,
	// configs and docs.
	ID string
	// Group is one of "locks", "compatibility", "types", "transactions",
	// "style", "syntax".
	Group    string
	Severity Severity
	// Summary is one line: what the rule flags.
	Summary string
	// Why explains what PostgreSQL does: the lock mode and what it blocks,
	// a rewrite or a scan. It is the default Why of the rule's findings.
	Why string
	// Fix is the safe way, with SQL. It is the default Fix of findings.
	Fix string
	// DocsURL points at the PostgreSQL documentation.
	DocsURL string
	// Off means the rule runs only when enabled in the config.
	Off bool
	// Measured means only a clone experiment reports the rule (reviewer
	// check --clone …): it has no Check; its findings come from dblab.
	Measured bool
	// Predicts is what the rule says PostgreSQL will do with the flagged
	// statement, which a clone experiment confirms or refutes. Each claim
	// is proven by the rule's fixtures (proof sections, see proof_test.go).
	Predicts Prediction
	// Check runs on each parsed statement of an up part.
	Check func(p *Pass)
}

// Prediction is what a rule predicts PostgreSQL does with a statement.
type Prediction struct {
	// Rewrite: the table (or an index) is rewritten (new relfilenode).
	Rewrite bool
	// Scan: the table is read in full (a validation scan).
	Scan bool
	// SQLState: the statement fails with this error on some data.
	SQLState string
}

// Apply gives a finding its configured severity and its blocking flag,
// and reports whether the rule is on. Every producer of findings (the
// rules, the history checks, clone measurements, their merge) goes
// through it, so --rule id=off|severity and fail_on mean the same
// everywhere.
func (s *Settings) Apply(f *Finding) bool {
	if s.Disabled[f.Rule] {
		return false
	}
	if r := Lookup(f.Rule); r != nil && r.Off && !s.Enabled[f.Rule] {
		return false
	}
	if sev, ok := s.Severity[f.Rule]; ok {
		f.Severity = sev
	}
	s.setBlocking(f)
	return true
}

// setBlocking sets the blocking flag from fail_on (Error by default).
func (s *Settings) setBlocking(f *Finding) {
	failOn := s.FailOn
	if failOn == 0 {
		failOn = Error
	}
	f.Blocking = f.Severity >= failOn
}

// ApplyAll is Apply over findings, dropping those of rules turned off.
func (s *Settings) ApplyAll(fs []Finding) []Finding {
	out := fs[:0]
	for i := range fs {
		if s.Apply(&fs[i]) {
			out = append(out, fs[i])
		}
	}
	return out
}

// Pass is what a rule sees when it checks one statement.
type Pass struct {
	File     *sqlparse.File
	Stmt     *sqlparse.Statement
	Settings *Settings
	// State is what happened earlier in the file.
	State *State

	rule     *Rule
	findings *[]Finding
	reported *map[string]int

	// cols caches columnDefs of the statement for the rules that ask.
	cols     []colDef
	colsDone bool
	// alterRel and alterCmds cache AlterCmds of the statement.
	alterRel  *pg_query.RangeVar
	alterCmds []*pg_query.AlterTableCmd
	alterDone bool
	// columnOffers are the column rules' fixes on the statement that the
	// runner combines (combineColumnFixes).
	columnOffers []columnOffer
}

// reset points the pass at the next statement and forgets the caches of
// the previous one.
func (p *Pass) reset(st *sqlparse.Statement) {
	p.Stmt = st
	p.cols, p.colsDone = nil, false
	p.alterRel, p.alterCmds, p.alterDone = nil, nil, false
	p.columnOffers = p.columnOffers[:0]
}

// AlterCmds is AlterCmds(p.Node()), computed once per statement: most
// rules ask for it. The slice is shared, so rules must not change it.
func (p *Pass) AlterCmds() (*pg_query.RangeVar, []*pg_query.AlterTableCmd) {
	if !p.alterDone {
		p.alterRel, p.alterCmds = AlterCmds(p.Stmt.Node)
		p.alterDone = true
	}
	return p.alterRel, p.alterCmds
}

// Node returns the statement's parse-tree node (never nil in a Check).
func (p *Pass) Node() *pg_query.Node { return p.Stmt.Node }

// Report adds a finding on the current statement. Empty why or fix take
// the rule's defaults.
func (p *Pass) Report(msg, why, fix string) {
	p.ReportEvidence(msg, why, fix, nil)
}

// ReportEvidence is Report with facts attached.
func (p *Pass) ReportEvidence(msg, why, fix string, evidence map[string]any) {
	if *p.findings == nil {
		// Room for about one finding per statement at once, instead of
		// growing (and copying) the slice one doubling at a time.
		*p.findings = make([]Finding, 0, len(p.File.Statements))
	}
	if why == "" {
		why = p.rule.Why
	}
	if fix == "" {
		fix = p.rule.Fix
	}
	*p.findings = append(*p.findings, newFinding(p.rule.ID, p.rule.Severity, p.File, p.Stmt, msg, why, fix, p.rule.DocsURL, evidence))
	(*p.reported)[p.rule.ID]++
}

// ReportedInFile is how many findings this rule reported in the file so
// far; rules that should speak once per file check it.
func (p *Pass) ReportedInFile() int { return (*p.reported)[p.rule.ID] }

// Rule returns the rule being run.
func (p *Pass) Rule() *Rule { return p.rule }

func newFinding(rule string, sev Severity, f *sqlparse.File, s *sqlparse.Statement, msg, why, fix, docs string, ev map[string]any) Finding {
	return Finding{
		Rule: rule, Severity: sev, Path: f.Path,
		Line: s.Start.Line, Column: s.Start.Col, EndLine: s.End.Line, EndColumn: s.End.Col,
		Statement: s.Text, Message: msg, Why: why, Fix: fix, DocsURL: docs, Evidence: ev,
	}
}
