package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"

	"gitlab.com/pgai/reviewer/sqlparse"
)

// Result is the outcome of running the rules over some files.
type Result struct {
	Files    []*sqlparse.File
	Findings []Finding
}

// Blocking counts the findings that fail the gate.
func (r *Result) Blocking() int {
	n := 0
	for _, f := range r.Findings {
		if f.Blocking {
			n++
		}
	}
	return n
}

// Run checks files with every enabled rule and returns the findings in
// file order, then by position.
func Run(files []*sqlparse.File, s Settings) *Result {
	r := NewRunner(s)
	res := &Result{Files: files}
	for _, f := range files {
		res.Findings = append(res.Findings, r.File(f)...)
	}
	return res
}

// Runner checks files one at a time, in the order they run, carrying what
// earlier files did to the schema. It lets a caller check a large set of
// files as a stream and drop each parsed file once it is checked.
type Runner struct {
	s     Settings
	rules []*Rule
	cat   *Catalog
}

// NewRunner prepares a run with the given settings.
func NewRunner(s Settings) *Runner {
	if s.PGVersion.Major == 0 {
		s.PGVersion = DefaultVersion
	}
	if s.FailOn == 0 {
		s.FailOn = Error
	}
	if s.SessionTimeZone == "" {
		s.SessionTimeZone = "UTC"
	}
	r := &Runner{s: s, cat: NewCatalog()} // the catalog is the schema the files build, in the order they run
	r.rules = enabledRules(&r.s)
	return r
}

// File checks the next file and returns its findings, with Blocking set
// from the fail-on threshold.
func (r *Runner) File(f *sqlparse.File) []Finding {
	out := checkFile(f, r.rules, &r.s, r.cat)
	for i := range out {
		r.s.Apply(&out[i])
	}
	return out
}

// Catalog is the schema the runner carries from file to file: what the
// schema files and the files checked or learned so far built. Seed it
// (SetStats) before the first file; rules see it as Pass.State.Catalog.
func (r *Runner) Catalog() *Catalog { return r.cat }

// Learn records what a file does to the schema without checking it: a
// caller that reports only on some files (the files a merge request
// changes) passes the others here, in run order, so that rules know the
// tables, column types and indexes that earlier migrations created.
func (r *Runner) Learn(f *sqlparse.File) {
	if !f.Analysed {
		return
	}
	for _, st := range f.Statements {
		if st.Part == sqlparse.PartUp && st.Node != nil {
			r.cat.apply(st.Node)
		}
	}
}

func enabledRules(s *Settings) []*Rule {
	var out []*Rule
	for _, r := range All() {
		if s.Disabled[r.ID] || (r.Off && !s.Enabled[r.ID]) {
			continue
		}
		rc := *r
		if sev, ok := s.Severity[r.ID]; ok {
			rc.Severity = sev
		}
		out = append(out, &rc)
	}
	return out
}

func ruleEnabled(rules []*Rule, id string) *Rule {
	for _, r := range rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func checkFile(f *sqlparse.File, rules []*Rule, s *Settings, cat *Catalog) []Finding {
	var out []Finding
	if !f.Analysed {
		if r := ruleEnabled(rules, "file-not-analysed"); r != nil {
			out = append(out, Finding{
				Rule: r.ID, Severity: r.Severity, Path: f.Path, Line: 1, Column: 1, EndLine: 1, EndColumn: 1,
				Message: "File not analysed: " + f.SkippedReason + ".",
				Why:     r.Why, Fix: r.Fix, DocsURL: r.DocsURL,
			})
		}
		return fingerprintAll(out, nil)
	}
	ign := parseIgnores(f)
	state := newState(cat)
	reported := map[string]int{}
	var stmtFP []string
	syntax := ruleEnabled(rules, "syntax-error")
	// One Pass per file, reset for each statement and shared by the rules
	// in turn: a Pass per rule and statement was most of the engine's
	// garbage, and one per statement still an allocation each.
	p := &Pass{File: f, Settings: s, State: state, findings: &out, reported: &reported}
	for _, st := range f.Statements {
		if f.Framework == sqlparse.FrameworkLiquibase && st.Part == sqlparse.PartUp && startsChangeset(st) {
			// Liquibase changelogs grow by appending changesets, each
			// deployed on its own: a table created by an earlier changeset
			// of the file may have been in production for years.
			clear(state.Created)
		}
		before := len(out)
		switch {
		case st.Err != nil:
			if syntax != nil {
				out = append(out, Finding{
					Rule: syntax.ID, Severity: syntax.Severity, Path: f.Path,
					Line: st.Err.Pos.Line, Column: st.Err.Pos.Col, EndLine: st.End.Line, EndColumn: st.End.Col,
					Statement: st.Text,
					Message:   "Syntax error: " + st.Err.Msg + " (PostgreSQL " + "17 grammar).",
					Why:       syntax.Why, Fix: syntax.Fix, DocsURL: syntax.DocsURL,
				})
			}
		case st.Part == sqlparse.PartUp && st.Node != nil:
			p.reset(st)
			for _, r := range rules {
				if r.Check == nil {
					continue
				}
				p.rule = r
				r.Check(p)
			}
			combineColumnFixes(out, p.columnOffers, st, ign)
			sizeAware(out[before:], st, cat)
		}
		if len(out)-before > 1 {
			out = append(out[:before], mergeSameRule(out[before:])...)
		}
		for i := before; i < len(out); i++ {
			stmtFP = append(stmtFP, statementKey(st))
		}
		if st.Part == sqlparse.PartUp {
			state.after(st)
		}
	}
	out, stmtFP = ign.apply(f, out, stmtFP, rules)
	return fingerprintAll(out, stmtFP)
}

// statementKey identifies a statement independently of its position:
// pg_query's fingerprint, or the text for statements that do not parse.
func statementKey(st *sqlparse.Statement) string {
	if fp := st.Fingerprint(); fp != "" {
		return fp
	}
	return st.Text
}

// fingerprintAll gives each finding a fingerprint made of the rule, the
// path, the statement's identity and the finding's rank among equal ones,
// so it survives lines inserted above and whitespace changes.
func fingerprintAll(fs []Finding, keys []string) []Finding {
	seen := map[string]int{}
	for i := range fs {
		key := fs[i].Message
		if keys != nil {
			key = keys[i]
		}
		base := fs[i].Rule + "\x00" + fs[i].Path + "\x00" + key
		n := seen[base]
		seen[base]++
		sum := sha256.Sum256([]byte(base + "\x00" + strconv.Itoa(n)))
		fs[i].Fingerprint = hex.EncodeToString(sum[:16])
	}
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Line != fs[j].Line {
			return fs[i].Line < fs[j].Line
		}
		return fs[i].Column < fs[j].Column
	})
	return fs
}

// startsChangeset reports whether a "--changeset author:id" line comes
// right before the statement.
func startsChangeset(st *sqlparse.Statement) bool {
	for _, c := range st.Leading {
		t := strings.TrimSpace(strings.TrimPrefix(c.Text, "--"))
		if strings.HasPrefix(c.Text, "--") && strings.HasPrefix(strings.ToLower(t), "changeset ") {
			return true
		}
	}
	return false
}

// Below these sizes (from a live database, --schema-dsn) a table's locks
// are held for milliseconds: an index build or a rewrite of 10,000 rows
// or 8 MiB takes well under 100 ms.
const (
	smallTableRows  = 10_000
	smallTableBytes = 8 << 20
)

// sizeAware downgrades to info the lock-hazard findings of a statement
// when every existing table it locks is known, from the live database's
// statistics, to be small: the hazard is real, its duration is not. The
// message gives the sizes and says to re-check when the table grows. A
// clone experiment, when one runs, replaces this estimate with the
// measured blocking time.
func sizeAware(fs []Finding, st *sqlparse.Statement, cat *Catalog) {
	if len(fs) == 0 || cat == nil {
		return
	}
	locks := StatementLocks(st.Node, cat, false)
	if len(locks) == 0 {
		return
	}
	var sizes []string
	for _, l := range locks {
		t := cat.Table(l.Rel)
		if t == nil || t.Stats == nil || t.Stats.Rows < 0 || t.Stats.Rows > smallTableRows || t.Stats.Bytes+t.Stats.IndexBytes > smallTableBytes {
			return
		}
		sizes = append(sizes, l.Name+" is "+t.Stats.String())
	}
	for i := range fs {
		r := Lookup(fs[i].Rule)
		if r == nil || r.Group != "locks" || r.Predicts.SQLState != "" || fs[i].Rule == "missing-lock-timeout" || fs[i].Rule == "missing-statement-timeout" {
			continue
		}
		fs[i].Severity = Info
		fs[i].Message = strings.TrimSpace(fs[i].Message) + " Live database: " + strings.Join(sizes, "; ") +
			" — small enough that the lock lasts milliseconds; re-check when it grows."
	}
}
