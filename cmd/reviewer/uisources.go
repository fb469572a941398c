package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sashabaranov/go-openai"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/ui"
	"gitlab.com/pgai/reviewer/loadtest"
)

// uiOptions gives the UI its sources: the archive, and the stores of the
// benchmark runner and the agent (their tables are created if missing, so
// that the pages work before either has run; a store that cannot be
// migrated leaves its pages in the "not stored" state).
func uiOptions(ctx context.Context, pool *pgxpool.Pool, store *archive.Store, hide archive.Visibility, log *slog.Logger) ui.Options {
	o := ui.Options{Reviews: store, Experiments: store, Hide: hide, Logger: log}
	if err := loadtest.Migrate(ctx, pool); err != nil {
		log.WarnContext(ctx, "ui: no benchmark pages", "err", err)
	} else {
		o.Benchmarks = benchPages{loadtest.NewStore(pool)}
	}
	if err := agent.Migrate(ctx, pool); err != nil {
		log.WarnContext(ctx, "ui: no conversation pages", "err", err)
	} else {
		o.Conversations = chatPages{agent.NewStore(pool)}
	}
	return o
}

// benchPages shows the benchmark runs of the loadtest store in /ui/.
type benchPages struct{ store *loadtest.Store }

var _ ui.Benchmarks = benchPages{}

func benchID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, ui.ErrNotFound
	}
	return n, nil
}

func benchErr(err error) error {
	if errors.Is(err, loadtest.ErrNotFound) {
		return fmt.Errorf("%w: %w", ui.ErrNotFound, err)
	}
	return err
}

func (b benchPages) BenchmarkRuns(ctx context.Context, limit int) ([]ui.BenchmarkSummary, error) {
	runs, err := b.store.List(ctx, loadtest.ListOptions{Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]ui.BenchmarkSummary, 0, len(runs))
	for _, r := range runs {
		s := ui.BenchmarkSummary{ID: strconv.FormatInt(r.ID, 10), ProjectID: r.Origin.ProjectID, MRIID: r.Origin.MRIID,
			Title: r.Name, Status: r.Status, StartedAt: r.CreatedAt}
		if s.Title == "" {
			s.Title = fmt.Sprintf("Run %d", r.ID)
		}
		if r.BestTPS > 0 {
			s.Headline = fmt.Sprintf("best %.0f tps over %d iterations", r.BestTPS, r.Iterations)
		}
		out = append(out, s)
	}
	return out, nil
}

func (b benchPages) BenchmarkRun(ctx context.Context, id string) (*ui.BenchmarkRun, error) {
	n, err := benchID(id)
	if err != nil {
		return nil, err
	}
	run, err := b.store.Get(ctx, n)
	if err != nil {
		return nil, benchErr(err)
	}
	arts, err := b.store.Artifacts(ctx, n)
	if err != nil {
		return nil, err
	}
	var origin loadtest.Origin
	if list, err := b.store.List(ctx, loadtest.ListOptions{Limit: 500}); err == nil {
		for _, r := range list {
			if r.ID == n {
				origin = r.Origin
			}
		}
	}
	return benchRunView(run, origin, arts), nil
}

// benchRunView turns a stored run into the page's data: the analysed
// results per point, TPS over time per iteration, the spec, artifacts.
func benchRunView(run *loadtest.Run, origin loadtest.Origin, arts []loadtest.ArtifactInfo) *ui.BenchmarkRun {
	v := &ui.BenchmarkRun{BenchmarkSummary: ui.BenchmarkSummary{ID: strconv.FormatInt(run.ID, 10), ProjectID: origin.ProjectID,
		MRIID: origin.MRIID, Title: run.Name, Status: run.Status, StartedAt: run.StartedAt}, Error: run.Error}
	if v.Title == "" {
		v.Title = fmt.Sprintf("Run %d", run.ID)
	}
	w := run.Spec.Workload
	workload := w.Builtin
	for _, s := range w.Scripts {
		if workload != "" {
			workload += ", "
		}
		workload += s.Name
	}
	add := func(name, value string) {
		if value != "" && value != "0" {
			v.Params = append(v.Params, ui.Param{Name: name, Value: value})
		}
	}
	add("runner", run.Runner)
	add("server", run.Server)
	add("target", run.Target)
	add("workload", workload)
	add("clients", strings.Trim(fmt.Sprint(w.Clients), "[]"))
	add("jobs", strconv.Itoa(w.Jobs))
	add("duration", fmt.Sprint(w.Duration))
	add("scale", strconv.Itoa(w.Scale))
	add("iterations", strconv.Itoa(run.Spec.Iterations))
	if run.Spec.AB != nil {
		add("compared", run.Spec.AB.Name)
	}
	add("pipeline", run.PipelineURL)

	res := loadtest.Analyze(run)
	v.Table.Columns = []string{"variant", "clients", "tps (mean ± sd)", "latency avg", "p50", "p95", "p99", "failed", "iterations"}
	best := 0.0
	for _, p := range res.Points {
		variant := p.Variant
		if variant == "" {
			variant = "—"
		}
		v.Table.Rows = append(v.Table.Rows, []string{variant, strconv.Itoa(p.Clients),
			fmt.Sprintf("%.0f ± %.0f", p.TPS.Mean, p.TPS.Stddev), fmt.Sprintf("%.2f ms", p.AvgMs.Mean), fmt.Sprintf("%.2f ms", p.P50Ms.Mean),
			fmt.Sprintf("%.2f ms", p.P95Ms.Mean), fmt.Sprintf("%.2f ms", p.P99Ms.Mean), strconv.FormatInt(p.Failed, 10), strconv.Itoa(p.TPS.N)})
		best = max(best, p.TPS.Mean)
	}
	for _, d := range res.Deltas {
		v.Table.Rows = append(v.Table.Rows, []string{fmt.Sprintf("%s vs %s", d.B, d.A), strconv.Itoa(d.Clients),
			fmt.Sprintf("%+.1f%% (± %.1f)", d.TPSPct, d.TPSSpreadPct), "", "", fmt.Sprintf("%+.1f%%", d.P95Pct), fmt.Sprintf("%+.1f%%", d.P99Pct), "",
			map[bool]string{true: "significant", false: "within noise"}[d.Significant]})
	}
	if best > 0 {
		v.Headline = fmt.Sprintf("%.0f tps", best)
	}
	over := ui.Plot{Title: "Transactions per second, each iteration", XLabel: "seconds", YLabel: "tps"}
	for i, it := range run.Iterations {
		if i == 12 || len(it.Latency.PerSecond) == 0 {
			continue
		}
		name := fmt.Sprintf("c=%d #%d", it.Clients, it.Iteration+1)
		if it.Variant != "" {
			name = it.Variant + " " + name
		}
		s := ui.Series{Name: name}
		for sec, n := range it.Latency.PerSecond {
			s.Points = append(s.Points, ui.Point{X: float64(sec + 1), Y: float64(n)})
		}
		over.Series = append(over.Series, s)
	}
	if len(over.Series) > 0 {
		v.Plots = append(v.Plots, over)
	}
	if len(w.Clients) > 1 {
		scale := ui.Plot{Title: "Mean TPS by client count", XLabel: "clients", YLabel: "tps"}
		byVariant := map[string]int{}
		for _, p := range res.Points {
			i, ok := byVariant[p.Variant]
			if !ok {
				i = len(scale.Series)
				byVariant[p.Variant] = i
				name := p.Variant
				if name == "" {
					name = "tps"
				}
				scale.Series = append(scale.Series, ui.Series{Name: name})
			}
			scale.Series[i].Points = append(scale.Series[i].Points, ui.Point{X: float64(p.Clients), Y: p.TPS.Mean})
		}
		v.Plots = append(v.Plots, scale)
	}
	for _, a := range arts {
		v.Artifacts = append(v.Artifacts, ui.Artifact{Name: a.Path, Size: a.Size, ContentType: artifactType(a.Path)})
	}
	return v
}

// artifactType guesses a stored file's type from its name.
func artifactType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".txt", ".log", ".md", ".sql", ".out", ".err":
		return "text/plain"
	case ".csv", ".tsv":
		return "text/csv"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".html":
		return "text/html"
	}
	return "application/octet-stream"
}

func (b benchPages) Artifact(ctx context.Context, runID, name string) (io.ReadCloser, ui.Artifact, error) {
	n, err := benchID(runID)
	if err != nil {
		return nil, ui.Artifact{}, err
	}
	data, err := b.store.Artifact(ctx, n, name)
	if err != nil {
		return nil, ui.Artifact{}, benchErr(err)
	}
	return io.NopCloser(bytes.NewReader(data)), ui.Artifact{Name: name, Size: int64(len(data)), ContentType: artifactType(name)}, nil
}

// chatPages shows the agent's public conversations in /ui/.
type chatPages struct{ store *agent.Store }

var _ ui.Conversations = chatPages{}

func (c chatPages) Conversations(ctx context.Context, limit int) ([]ui.ConversationSummary, error) {
	list, err := c.store.ListPublic(ctx, agent.ListOptions{Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]ui.ConversationSummary, 0, len(list))
	for _, ci := range list {
		out = append(out, conversationSummary(ci))
	}
	return out, nil
}

func conversationSummary(ci agent.ConversationInfo) ui.ConversationSummary {
	s := ui.ConversationSummary{ID: strconv.FormatInt(ci.ID, 10), ProjectID: ci.ProjectID, MRIID: ci.MRIID, Title: ci.Title,
		StartedAt: ci.CreatedAt, Messages: ci.Messages}
	if s.Title == "" {
		s.Title = fmt.Sprintf("Conversation %d", ci.ID)
	}
	return s
}

func (c chatPages) Conversation(ctx context.Context, id string) (*ui.Conversation, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, ui.ErrNotFound
	}
	ci, msgs, err := c.store.GetPublic(ctx, n)
	if errors.Is(err, agent.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ui.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return conversationOf(ci, msgs), nil
}

// conversationOf turns stored messages into turns: a tool's result is
// shown with the call that asked for it, not as a turn of its own.
func conversationOf(ci *agent.ConversationInfo, msgs []agent.StoredMessage) *ui.Conversation {
	conv := &ui.Conversation{ConversationSummary: conversationSummary(*ci)}
	type pending struct{ turn, call int }
	var open []pending // calls waiting for their result, in order
	calls := map[string]pending{}
	for _, m := range msgs {
		if m.Role == openai.ChatMessageRoleTool {
			for i, p := range open {
				tc := &conv.Messages[p.turn].ToolCalls[p.call]
				if tc.Name == m.ToolName || m.ToolName == "" {
					tc.Result = m.Content
					open = append(open[:i], open[i+1:]...)
					break
				}
			}
			continue
		}
		t := ui.Message{Role: m.Role, At: m.CreatedAt, Text: m.Content}
		if m.Role == openai.ChatMessageRoleAssistant && m.Model != "" {
			t.Author = "assistant (" + m.Model + ")"
		}
		for _, call := range m.ToolCalls {
			p := pending{turn: len(conv.Messages), call: len(t.ToolCalls)}
			t.ToolCalls = append(t.ToolCalls, ui.ToolCall{Name: call.Function.Name, Arguments: call.Function.Arguments})
			open = append(open, p)
			calls[call.ID] = p
		}
		for _, ct := range m.Citations {
			title := ct.Title
			if ct.Author != "" {
				title += " — " + ct.Author
			}
			t.Citations = append(t.Citations, ui.Citation{Title: title, URL: ct.URL})
		}
		conv.Messages = append(conv.Messages, t)
		// Tool runs come with the turn's last message: their errors and
		// durations belong to the calls made earlier in the turn.
		for _, run := range m.ToolRuns {
			if p, ok := calls[run.ID]; ok && run.Error != "" {
				conv.Messages[p.turn].ToolCalls[p.call].Error = run.Error
			}
		}
	}
	// Turns with nothing to show (an assistant message that only called
	// tools still shows its calls).
	keep := conv.Messages[:0]
	for _, t := range conv.Messages {
		if strings.TrimSpace(t.Text) != "" || len(t.ToolCalls) > 0 || len(t.Citations) > 0 {
			keep = append(keep, t)
		}
	}
	conv.Messages = keep
	return conv
}
