package ui_test

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/internal/ui"
)

// The fixture: one public review with a clone run, one review of a
// private project, a benchmark run and a conversation. Text from the
// merge request and the model carries HTML that must come out escaped.

const injection = `<script>alert("pwned")</script>`

var fixedNow = time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)

var shopKey = archive.Key{ProjectID: 11, MRIID: 42, HeadSHA: "3f2a9c1d7e5b4a60c8d9e0f1a2b3c4d5e6f70812"}
var secretKey = archive.Key{ProjectID: 99, MRIID: 5, HeadSHA: "0123456789abcdef0123456789abcdef01234567"}

const migrationSQL = `-- Add the email lookup for the checkout page.
-- ` + injection + `
ALTER TABLE orders ADD COLUMN email text;
CREATE INDEX orders_email_idx ON orders (email);
UPDATE orders SET email = lower(email) WHERE id < 1000;
`

func shopReview() *archive.Review {
	path := "db/migrations/20261204_add_email.sql"
	ms := []dblab.Measurement{
		{Path: path, Line: 3, Statement: "ALTER TABLE orders ADD COLUMN email text;", DurationMS: 1.8, StartMS: 0.1, InTransaction: true, Rows: -1,
			Locks:     []dblab.Lock{{Relation: "orders", Kind: "table", Mode: dblab.AccessExclusiveLock, HeldMS: 2461.2, AcquiredMS: 0.2, ReleasedMS: 2461.4, Blocks: dblab.Blocks(dblab.AccessExclusiveLock)}},
			Rewritten: []string{}},
		{Path: path, Line: 4, Statement: "CREATE INDEX orders_email_idx ON orders (email);", DurationMS: 2410.5, StartMS: 2.1, InTransaction: true, Rows: -1,
			Locks: []dblab.Lock{
				{Relation: "orders", Kind: "table", Mode: dblab.ShareLock, HeldMS: 2459.2, AcquiredMS: 2.2, ReleasedMS: 2461.4, Blocks: dblab.Blocks(dblab.ShareLock)},
				{Relation: "orders_email_idx", Kind: "index", Mode: dblab.AccessExclusiveLock, HeldMS: 48.9, AcquiredMS: 2412.5, ReleasedMS: 2461.4, Blocks: dblab.Blocks(dblab.AccessExclusiveLock)},
			},
			Rewritten: []string{}, Sizes: []dblab.Size{{Relation: "orders", TableBefore: 183 << 20, TableAfter: 183 << 20, IndexBefore: 40 << 20, IndexAfter: 61 << 20, RowsEstimate: 2000000}}},
		{Path: path, Line: 5, Statement: "UPDATE orders SET email = lower(email) WHERE id < 1000;", DurationMS: 48.2, StartMS: 2412.7, InTransaction: true, Rows: 999,
			Locks:     []dblab.Lock{{Relation: "orders", Kind: "table", Mode: dblab.RowExclusiveLock, HeldMS: 48.7, AcquiredMS: 2412.7, ReleasedMS: 2461.4, Blocks: dblab.Blocks(dblab.RowExclusiveLock)}},
			Rewritten: []string{"orders"},
			Plan: []any{map[string]any{"Execution Time": 48.1, "Plan": map[string]any{"Node Type": "ModifyTable", "Relation Name": "orders", "Actual Total Time": 48.0, "Actual Rows": 0.0, "Actual Loops": 1.0,
				"Plans": []any{map[string]any{"Node Type": "Index Scan", "Relation Name": "orders", "Index Name": "orders_pkey", "Actual Total Time": 3.2, "Actual Rows": 999.0, "Actual Loops": 1.0}}}}}},
	}
	findings := []checks.Finding{
		{Rule: "require-concurrent-index", Severity: checks.Error, Blocking: true, Path: path, Line: 4, EndLine: 4,
			Message:  "CREATE INDEX orders_email_idx without CONCURRENTLY blocks writes to orders while it builds",
			Why:      "CREATE INDEX takes a SHARE lock on orders: INSERT, UPDATE and DELETE wait until the index is built and the transaction commits.",
			Fix:      "CREATE INDEX CONCURRENTLY orders_email_idx ON orders (email);\n-- in a migration of its own, outside a transaction",
			Measured: "SHARE on orders held 2.46 s — blocked writes",
			DocsURL:  "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
			Evidence: map[string]any{"confirmed": true, "duration_ms": 2410.5, "lock": "ShareLock"}},
		{Rule: "long-lock-hold", Severity: checks.Warning, Path: path, Line: 3,
			Message: "ACCESS EXCLUSIVE on orders held 2.46 s (until COMMIT) — " + injection,
			Why:     "The lock taken by ALTER TABLE is held until the transaction ends; every later statement extends it.",
			Fix:     "Move the ALTER TABLE into its own migration, or set lock_timeout.",
			DocsURL: "https://www.postgresql.org/docs/current/explicit-locking.html"},
	}
	rep := report.Build([]report.File{{Path: path, Framework: "plain", InTransaction: true, Statements: 3, Analysed: true}}, findings, ms)
	rep.PGVersion = "15"
	return &archive.Review{Key: shopKey, ProjectPath: "acme/shop", MRTitle: "Add order email lookup " + injection,
		MRURL: "https://gitlab.example.com/acme/shop/-/merge_requests/42", Verdict: archive.VerdictBlocking, Report: rep,
		Markdown:   "<!-- pg-reviewer:summary v1 -->\n### 🔴 pgai reviewer: 1 blocking finding in 1 migration file\n\n" + injection + "\n",
		Migrations: []archive.Migration{{Path: path, Text: migrationSQL}}, CreatedAt: fixedNow.Add(-3 * time.Hour), UpdatedAt: fixedNow.Add(-2 * time.Hour)}
}

func secretReview() *archive.Review {
	rep := report.Build([]report.File{{Path: "db/1.sql", Framework: "plain", Statements: 1, Analysed: true}}, nil, nil)
	return &archive.Review{Key: secretKey, ProjectPath: "acme/secret-project", MRTitle: "Top secret payroll change",
		Report: rep, Markdown: "secret", Migrations: []archive.Migration{{Path: "db/1.sql", Text: "SELECT 1;\n"}}, UpdatedAt: fixedNow.Add(-time.Hour)}
}

// memArchive is an in-memory Reviews and Experiments.
type memArchive struct {
	reviews     []*archive.Review
	experiments []*archive.Experiment
}

func newMemArchive(rs ...*archive.Review) *memArchive {
	m := &memArchive{}
	for _, r := range rs {
		m.reviews = append(m.reviews, r)
		if r.Report != nil && len(r.Report.Measurements) > 0 {
			k := r.Key
			e := &archive.Experiment{ID: int64(len(m.experiments) + 1), Review: &k, ProjectID: r.ProjectID, ProjectPath: r.ProjectPath,
				MRIID: r.MRIID, HeadSHA: r.HeadSHA, Title: fmt.Sprintf("Clone run of the review of !%d", r.MRIID), Source: archive.SourceReview,
				Files: r.Migrations, Measurements: r.Report.Measurements, DurationMS: 2461.4, CreatedAt: r.UpdatedAt}
			m.experiments = append(m.experiments, e)
			r.ExperimentID = e.ID
		}
	}
	return m
}

func (m *memArchive) Reviews(_ context.Context, f archive.ReviewFilter) ([]archive.ReviewSummary, error) {
	var out []archive.ReviewSummary
	for _, r := range m.reviews {
		if (f.Project != "" && r.ProjectPath != f.Project) || (f.Verdict != "" && r.Verdict != f.Verdict) || !f.Hide.Public(r.ProjectID, r.ProjectPath) {
			continue
		}
		if q := strings.ToLower(f.Query); q != "" && !strings.Contains(strings.ToLower(r.MRTitle+" "+r.ProjectPath+" "+r.Migrations[0].Text), q) {
			continue
		}
		out = append(out, archive.ReviewSummary{Key: r.Key, ProjectPath: r.ProjectPath, MRTitle: r.MRTitle, Verdict: r.Verdict,
			Findings: len(r.Report.Findings), Blocking: r.Report.Summary.Blocking, UpdatedAt: r.UpdatedAt, ExperimentID: r.ExperimentID})
	}
	return out, nil
}

func (m *memArchive) Projects(_ context.Context, hide archive.Visibility) ([]string, error) {
	var out []string
	for _, r := range m.reviews {
		if hide.Public(r.ProjectID, r.ProjectPath) {
			out = append(out, r.ProjectPath)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m *memArchive) Review(_ context.Context, k archive.Key) (*archive.Review, error) {
	for _, r := range m.reviews {
		if r.Key == k {
			return r, nil
		}
	}
	return nil, archive.ErrNotFound
}

func (m *memArchive) Experiments(_ context.Context, hide archive.Visibility, _, _ int) ([]archive.ExperimentSummary, error) {
	var out []archive.ExperimentSummary
	for _, e := range m.experiments {
		if hide.Public(e.ProjectID, e.ProjectPath) {
			out = append(out, archive.ExperimentSummary{ID: e.ID, ProjectID: e.ProjectID, ProjectPath: e.ProjectPath, MRIID: e.MRIID,
				Title: e.Title, Source: e.Source, Statements: len(e.Measurements), DurationMS: e.DurationMS, CreatedAt: e.CreatedAt})
		}
	}
	return out, nil
}

func (m *memArchive) Experiment(_ context.Context, id int64) (*archive.Experiment, error) {
	for _, e := range m.experiments {
		if e.ID == id {
			return e, nil
		}
	}
	return nil, archive.ErrNotFound
}

// memBench is an in-memory Benchmarks.
type memBench struct {
	runs  []*ui.BenchmarkRun
	files map[string]string // run/name → content
}

func newMemBench() *memBench {
	tps := func(base float64) []ui.Point {
		var p []ui.Point
		for s := 1; s <= 60; s++ {
			p = append(p, ui.Point{X: float64(s), Y: base + float64((s*37)%23) - 11})
		}
		return p
	}
	run := &ui.BenchmarkRun{
		BenchmarkSummary: ui.BenchmarkSummary{ID: "run-7", ProjectID: 11, ProjectPath: "acme/shop", MRIID: 42, Title: "orders lookup: before vs after " + injection,
			Status: "done", StartedAt: fixedNow.Add(-90 * time.Minute), Headline: "1,512 tps (+38%)"},
		Command: "pgbench -c 8 -j 2 -T 60 -P 1 -f lookup.sql postgres://bench:hunter2@db.internal:5432/shop",
		Params:  []ui.Param{{"clients", "8"}, {"jobs", "2"}, {"duration", "60 s"}, {"scale", "100"}, {"PGPASSWORD", "PGPASSWORD=hunter2"}},
		Table: ui.Table{Columns: []string{"variant", "tps", "latency avg", "latency p95", "transactions", "failed"},
			Rows: [][]string{{"main", "1,095", "7.31 ms", "12.9 ms", "65,700", "0"}, {"!42 head", "1,512", "5.29 ms", "8.4 ms", "90,720", "0"}}},
		Plots: []ui.Plot{{Title: "Throughput per second", XLabel: "seconds", YLabel: "tps",
			Series: []ui.Series{{Name: "main", Points: tps(1095)}, {Name: "!42 head", Points: tps(1512)}}}},
		Artifacts: []ui.Artifact{{Name: "pgbench-head.log", Size: 42, ContentType: "text/plain"}, {Name: "report.html", Size: 30, ContentType: "text/html"}},
	}
	return &memBench{runs: []*ui.BenchmarkRun{run}, files: map[string]string{
		"run-7/pgbench-head.log": "progress: 1.0 s, 1504.0 tps\n" + strings.Repeat("x", 14),
		"run-7/report.html":      "<script>alert(1)</script>" + "xxxxx",
	}}
}

func (m *memBench) BenchmarkRuns(context.Context, int) ([]ui.BenchmarkSummary, error) {
	var out []ui.BenchmarkSummary
	for _, r := range m.runs {
		out = append(out, r.BenchmarkSummary)
	}
	return out, nil
}

func (m *memBench) BenchmarkRun(_ context.Context, id string) (*ui.BenchmarkRun, error) {
	for _, r := range m.runs {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, ui.ErrNotFound
}

func (m *memBench) Artifact(_ context.Context, run, name string) (io.ReadCloser, ui.Artifact, error) {
	r, _ := m.BenchmarkRun(context.Background(), run)
	body, ok := m.files[run+"/"+name]
	if r == nil || !ok {
		return nil, ui.Artifact{}, ui.ErrNotFound
	}
	for _, a := range r.Artifacts {
		if a.Name == name {
			return io.NopCloser(strings.NewReader(body)), a, nil
		}
	}
	return nil, ui.Artifact{}, ui.ErrNotFound
}

// memChat is an in-memory Conversations.
type memChat struct{ convs []*ui.Conversation }

func newMemChat() *memChat {
	c := &ui.Conversation{ConversationSummary: ui.ConversationSummary{ID: "c-3", ProjectID: 11, ProjectPath: "acme/shop", MRIID: 42,
		Title: "Is the index on orders.email safe to add?", StartedAt: fixedNow.Add(-70 * time.Minute), Messages: 3},
		Messages: []ui.Message{
			{Role: "user", Author: "alice", At: fixedNow.Add(-70 * time.Minute), Text: "/pgai ask is CREATE INDEX on orders safe? " + injection},
			{Role: "assistant", At: fixedNow.Add(-69 * time.Minute), Text: "I ran it on a clone first.",
				ToolCalls: []ui.ToolCall{{Name: "run_experiment", Arguments: `{"sql": "CREATE INDEX orders_email_idx ON orders (email);", "dsn": "postgres://u:topsecret@clone:6000/db"}`,
					Result: `{"duration_ms": 2410.5, "locks": [{"relation": "orders", "mode": "ShareLock"}]}`}}},
			{Role: "assistant", At: fixedNow.Add(-68 * time.Minute),
				Text: "No: CREATE INDEX holds a SHARE lock on orders for the whole build (2.41 s measured on the clone), which blocks INSERT, UPDATE and DELETE. Use CREATE INDEX CONCURRENTLY in a migration of its own. " + injection,
				Citations: []ui.Citation{{Title: "PostgreSQL docs: CREATE INDEX — Building Indexes Concurrently", URL: "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
					Snippet: "PostgreSQL supports building indexes without locking out writes."},
					{Title: "a link the model made up", URL: "javascript:alert(document.domain)"}}},
		}}
	return &memChat{convs: []*ui.Conversation{c}}
}

func (m *memChat) Conversations(context.Context, int) ([]ui.ConversationSummary, error) {
	var out []ui.ConversationSummary
	for _, c := range m.convs {
		out = append(out, c.ConversationSummary)
	}
	return out, nil
}

func (m *memChat) Conversation(_ context.Context, id string) (*ui.Conversation, error) {
	for _, c := range m.convs {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, ui.ErrNotFound
}

var (
	_ ui.Benchmarks    = (*memBench)(nil)
	_ ui.Conversations = (*memChat)(nil)
)
