package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// Experimenter runs SQL on a fresh clone and destroys the clone;
// *dblab.Runner has it. SQL never runs anywhere else.
type Experimenter interface {
	Run(ctx context.Context, files []*sqlparse.File) (*dblab.Result, error)
}

// MaxExperimentSQL bounds the SQL of one experiment.
const MaxExperimentSQL = 20 << 10

type experimentArgs struct {
	SQL           string `json:"sql"`
	InTransaction bool   `json:"in_transaction"`
}

// ExpLock is a measured lock in an experiment summary.
type ExpLock struct {
	Relation string   `json:"relation"`
	Kind     string   `json:"kind,omitempty"`
	Mode     string   `json:"mode"`
	HeldMS   float64  `json:"held_ms"`
	Blocks   []string `json:"blocks"`
}

// ExpStatement is one measured statement.
type ExpStatement struct {
	Line          int       `json:"line"`
	Statement     string    `json:"statement"`
	DurationMS    float64   `json:"duration_ms"`
	Rows          int64     `json:"rows"`
	InTransaction bool      `json:"in_transaction,omitempty"`
	Locks         []ExpLock `json:"locks"`
	Rewritten     []string  `json:"rewritten,omitempty"`
	Scanned       []string  `json:"scanned,omitempty"`
	WALBytes      int64     `json:"wal_bytes,omitempty"`
	Error         string    `json:"error,omitempty"`
	SQLState      string    `json:"sqlstate,omitempty"`
	Plan          string    `json:"plan,omitempty"`
}

// ExpSummary is what an experiment on a clone measured, in the compact
// form the model and the /pgai experiment reply use.
type ExpSummary struct {
	Clone      string         `json:"clone"`
	DurationMS float64        `json:"duration_ms"`
	Statements []ExpStatement `json:"statements"`
	Findings   []string       `json:"findings,omitempty"`
	Stopped    string         `json:"stopped,omitempty"`
}

// ParseExperimentSQL parses SQL for an experiment; the error says what is
// wrong in words for the user or the model.
func ParseExperimentSQL(sql string, inTx bool) (*sqlparse.File, error) {
	sql = strings.TrimSpace(sql)
	if sql == "" {
		return nil, errors.New("no SQL to run")
	}
	if len(sql) > MaxExperimentSQL {
		return nil, fmt.Errorf("the SQL is %d bytes; at most %d are allowed", len(sql), MaxExperimentSQL)
	}
	f := sqlparse.ParseFile("experiment.sql", []byte(sql+"\n"), sqlparse.Options{AssumeInTransaction: inTx})
	if !f.Analysed {
		return nil, fmt.Errorf("cannot analyse the SQL: %s", f.SkippedReason)
	}
	for _, st := range f.Statements {
		if st.Err != nil {
			return nil, fmt.Errorf("the SQL does not parse: %v", st.Err)
		}
	}
	if len(f.Up()) == 0 {
		return nil, errors.New("no SQL statement to run")
	}
	return f, nil
}

// RunExperiment parses and runs SQL on a fresh clone and summarises it.
func RunExperiment(ctx context.Context, ex Experimenter, sql string, inTx bool) (*ExpSummary, error) {
	if ex == nil {
		return nil, errors.New("no clone provider is configured here (the administrator sets --clone local or --clone dblab)")
	}
	f, err := ParseExperimentSQL(sql, inTx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := ex.Run(ctx, []*sqlparse.File{f})
	if res == nil {
		if err == nil {
			err = errors.New("the experiment returned nothing")
		}
		return nil, err
	}
	s := Summarize(res)
	s.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil && s.Stopped == "" {
		s.Stopped = err.Error()
	}
	return s, nil
}

// Summarize turns an experiment result into its compact summary.
func Summarize(res *dblab.Result) *ExpSummary {
	s := &ExpSummary{Clone: "fresh clone, destroyed after the run", Stopped: res.Stopped, Statements: []ExpStatement{}}
	for _, m := range res.Measurements {
		st := ExpStatement{Line: m.Line, Statement: oneLine(m.Statement, 300), DurationMS: m.DurationMS, Rows: m.Rows,
			InTransaction: m.InTransaction, Rewritten: m.Rewritten, Scanned: m.Scanned, WALBytes: m.WALBytes,
			Error: m.Error, SQLState: m.SQLState, Locks: []ExpLock{}}
		for _, l := range m.Locks {
			st.Locks = append(st.Locks, ExpLock{Relation: l.Relation, Kind: l.Kind, Mode: l.Mode, HeldMS: l.HeldMS, Blocks: l.Blocks})
		}
		st.Plan = planLine(m.Plan)
		s.Statements = append(s.Statements, st)
	}
	for _, f := range res.Findings {
		s.Findings = append(s.Findings, fmt.Sprintf("line %d [%s] %s", f.Line, f.Rule, f.Message))
	}
	return s
}

// planLine is the top plan node with its actual time and rows.
func planLine(plan any) string {
	top, ok := plan.([]map[string]any)
	if !ok || len(top) == 0 {
		return ""
	}
	p, _ := top[0]["Plan"].(map[string]any)
	if p == nil {
		return ""
	}
	label, _ := p["Node Type"].(string)
	if rel, _ := p["Relation Name"].(string); rel != "" {
		label += " on " + rel
	}
	if idx, _ := p["Index Name"].(string); idx != "" {
		label += " using " + idx
	}
	t, _ := p["Actual Total Time"].(float64)
	rows, _ := p["Actual Rows"].(float64)
	s := fmt.Sprintf("%s (actual time %.3f ms, rows %.0f)", label, t, rows)
	if et, ok := top[0]["Execution Time"].(float64); ok {
		s += fmt.Sprintf(", execution %.3f ms", et)
	}
	return s
}

// Markdown renders the summary for a merge-request reply.
func (s *ExpSummary) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured on a %s, %d statement(s), %s in all.\n\n", s.Clone, len(s.Statements), dblab.HumanMS(s.DurationMS))
	b.WriteString("| line | statement | duration | locks taken (held, blocks) | other |\n|---|---|---|---|---|\n")
	for _, st := range s.Statements {
		var locks []string
		for _, l := range st.Locks {
			blocks := "nothing"
			if len(l.Blocks) > 0 {
				blocks = strings.Join(l.Blocks, ", ")
			}
			locks = append(locks, fmt.Sprintf("**%s** on %s %s (held %s, blocks %s)", l.Mode, l.Kind, mdCell(l.Relation), dblab.HumanMS(l.HeldMS), blocks))
		}
		if len(locks) == 0 {
			locks = []string{"none on relations"}
		}
		var other []string
		if st.Rows >= 0 {
			other = append(other, fmt.Sprintf("rows %d", st.Rows))
		}
		if len(st.Rewritten) > 0 {
			other = append(other, "rewrote "+strings.Join(st.Rewritten, ", "))
		}
		if len(st.Scanned) > 0 {
			other = append(other, "scanned "+strings.Join(st.Scanned, ", "))
		}
		if st.Plan != "" {
			other = append(other, "plan: "+st.Plan)
		}
		if st.Error != "" {
			other = append(other, fmt.Sprintf("ERROR %s: %s", st.SQLState, st.Error))
		}
		if st.InTransaction {
			other = append(other, "in a transaction: locks held until it ends")
		}
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s |\n", st.Line, mdCode(oneLine(st.Statement, 120)), dblab.HumanMS(st.DurationMS),
			strings.Join(locks, "<br>"), mdCell(strings.Join(other, "; ")))
	}
	if len(s.Findings) > 0 {
		b.WriteString("\nFindings from the measurements:\n")
		for _, f := range s.Findings {
			fmt.Fprintf(&b, "- %s\n", mdCell(f))
		}
	}
	if s.Stopped != "" {
		fmt.Fprintf(&b, "\nStopped: %s\n", mdCell(s.Stopped))
	}
	return b.String()
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

func mdCode(s string) string { return strings.ReplaceAll(mdCell(s), "`", "'") }

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

// ExperimentTool is run_db_experiment_shared_env: SQL on a fresh clone.
func ExperimentTool(ex Experimenter) *Tool {
	t := &Tool{
		Name: ToolExperiment,
		Description: "Run SQL on a fresh thin clone of the database (never on the real one; the clone is destroyed afterwards) and measure each statement: " +
			"duration, every lock with its mode, how long it was held and what it blocks, table rewrites, full scans, rows, and for DML/queries the EXPLAIN ANALYZE plan. " +
			"Use it to verify a claim instead of guessing.",
		Schema: fmt.Sprintf(`{"type":"object","additionalProperties":false,"required":["sql"],"properties":{
"sql":{"type":"string","minLength":1,"maxLength":%d,"description":"one or more SQL statements"},
"in_transaction":{"type":"boolean","description":"run the statements in one transaction, as a migration tool would (locks held until it ends)"}}}`, MaxExperimentSQL),
		Timeout:   3 * time.Minute,
		MaxOutput: 16 << 10,
		Run: func(ctx context.Context, _ *ToolCtx, raw json.RawMessage) (string, error) {
			var a experimentArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return "", err
			}
			s, err := RunExperiment(ctx, ex, a.SQL, a.InTransaction)
			if err != nil {
				return "", err
			}
			b, err := json.Marshal(s)
			return string(b), err
		},
	}
	if ex == nil {
		t.Unavailable = "no clone provider"
	}
	return t
}
