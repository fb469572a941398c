package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	openai "github.com/sashabaranov/go-openai"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Entry is where a conversation comes from; each has its own tool
// allow-list.
type Entry string

// Entry points.
const (
	// EntryChat is `reviewer chat` in a terminal.
	EntryChat Entry = "chat"
	// EntryMR is /pgai ask in a merge request.
	EntryMR Entry = "mr"
	// EntryReview is the explanation of a review finding: knowledge-base
	// search only.
	EntryReview Entry = "review"
)

// The seven tools, named as in the Postgres.AI bot.
const (
	ToolKB             = "get_extra_content"
	ToolExperiment     = "run_db_experiment_shared_env"
	ToolBench          = "run_db_experiment_dedicated_env"
	ToolBenchWait      = "run_db_experiment_wait"
	ToolPlot           = "make_a_plot"
	ToolFetch          = "fetch_whole_web_page"
	ToolDebug          = "debug_mode"
	defaultToolTimeout = 30 * time.Second
	defaultToolOutput  = 16 << 10
)

// DefaultAllow is the tool allow-list of each entry point.
var DefaultAllow = map[Entry][]string{
	EntryChat:   {ToolKB, ToolExperiment, ToolBench, ToolBenchWait, ToolPlot, ToolFetch, ToolDebug},
	EntryMR:     {ToolKB, ToolExperiment, ToolBench, ToolBenchWait, ToolPlot, ToolFetch, ToolDebug},
	EntryReview: {ToolKB},
}

// Tool is one function the model may call.
type Tool struct {
	Name        string
	Description string
	// Schema is the JSON Schema of the arguments (an object).
	Schema string
	// Timeout bounds one call (default 30 s); MaxOutput bounds the text
	// returned to the model (default 16 KiB, cut with a note).
	Timeout   time.Duration
	MaxOutput int
	// Run does the work with validated arguments and returns the text
	// (usually JSON) the model sees. An error goes back to the model.
	Run func(ctx context.Context, tc *ToolCtx, args json.RawMessage) (string, error)
	// Unavailable, when set, says why the tool cannot work here (it is
	// still offered and answers with this reason; help lists it as such).
	Unavailable string

	parsed *schema
}

// ToolCtx is what a tool call can see of its conversation.
type ToolCtx struct {
	Conv   *Conversation
	Entry  Entry
	Attach Attacher
}

// Attacher stores a file a tool made (a plot) and returns the markdown
// that shows it: an upload in a merge request, a file path in a terminal.
type Attacher interface {
	Attach(ctx context.Context, name string, data []byte) (markdown string, err error)
}

// Toolbox holds the tools and the allow-lists.
type Toolbox struct {
	tools map[string]*Tool
	allow map[Entry][]string
}

// NewToolbox checks the tools' schemas and returns a toolbox with the
// default allow-lists.
func NewToolbox(tools ...*Tool) (*Toolbox, error) {
	tb := &Toolbox{tools: map[string]*Tool{}, allow: map[Entry][]string{}}
	for e, names := range DefaultAllow {
		tb.allow[e] = append([]string(nil), names...)
	}
	for _, t := range tools {
		s, err := parseSchema([]byte(t.Schema))
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		t.parsed = s
		if t.Timeout <= 0 {
			t.Timeout = defaultToolTimeout
		}
		if t.MaxOutput <= 0 {
			t.MaxOutput = defaultToolOutput
		}
		tb.tools[t.Name] = t
	}
	return tb, nil
}

// Allow replaces an entry point's allow-list.
func (tb *Toolbox) Allow(e Entry, names ...string) { tb.allow[e] = names }

// Specs are the tools offered at an entry point.
func (tb *Toolbox) Specs(e Entry) []ToolSpec {
	var out []ToolSpec
	for _, n := range tb.allow[e] {
		if t := tb.tools[n]; t != nil {
			out = append(out, ToolSpec{Name: t.Name, Description: t.Description, Schema: []byte(t.Schema)})
		}
	}
	return out
}

// Names lists the tools offered at an entry point; a tool that cannot
// work here is marked "(unavailable here)".
func (tb *Toolbox) Names(e Entry) []string {
	var out []string
	for _, s := range tb.Specs(e) {
		if tb.tools[s.Name].Unavailable != "" {
			s.Name += " (unavailable here)"
		}
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}

// ToolRun records one tool call (debug mode lists them).
type ToolRun struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Arguments  string  `json:"arguments"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
	Output     string  `json:"-"`
}

// Call runs one tool call as the agent's loop does (for callers that
// drive tools themselves, and tests).
func (tb *Toolbox) Call(ctx context.Context, tc *ToolCtx, call ToolCall) ToolRun {
	return tb.call(ctx, tc, call)
}

// call runs one tool call: allow-list, argument validation, timeout,
// output limit. The result text always goes back to the model; errors as
// {"error": "..."}.
func (tb *Toolbox) call(ctx context.Context, tc *ToolCtx, call ToolCall) ToolRun {
	start := time.Now()
	run := ToolRun{ID: call.ID, Name: call.Function.Name, Arguments: call.Function.Arguments}
	out, err := tb.exec(ctx, tc, call)
	run.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		run.Error = err.Error()
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		run.Output = string(b)
		return run
	}
	run.Output = out
	return run
}

func (tb *Toolbox) exec(ctx context.Context, tc *ToolCtx, call ToolCall) (string, error) {
	t := tb.tools[call.Function.Name]
	allowed := false
	for _, n := range tb.allow[tc.Entry] {
		allowed = allowed || n == call.Function.Name
	}
	if t == nil || !allowed {
		return "", fmt.Errorf("no tool %q here; available: %s", call.Function.Name, strings.Join(tb.Names(tc.Entry), ", "))
	}
	if _, err := t.parsed.validateArgs(call.Function.Arguments); err != nil {
		return "", fmt.Errorf("invalid arguments for %s: %w", t.Name, err)
	}
	cctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	var once sync.Once
	go func() {
		defer func() {
			if r := recover(); r != nil {
				once.Do(func() { done <- result{err: fmt.Errorf("tool %s crashed: %v", t.Name, r)} })
			}
		}()
		out, err := t.Run(cctx, tc, json.RawMessage(call.Function.Arguments))
		once.Do(func() { done <- result{out, err} })
	}()
	var r result
	select {
	case r = <-done:
	case <-cctx.Done():
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("%s timed out after %s", t.Name, t.Timeout)
	}
	if r.err != nil {
		if errors.Is(r.err, context.DeadlineExceeded) && ctx.Err() == nil {
			return "", fmt.Errorf("%s timed out after %s", t.Name, t.Timeout)
		}
		return "", r.err
	}
	return cut(r.out, t.MaxOutput), nil
}

// cut shortens s to at most n bytes on a rune boundary, saying so.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	note := fmt.Sprintf("\n[output cut at %d of %d bytes]", n, len(s))
	i := n - len(note)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	if i < 0 {
		i = 0
	}
	return s[:i] + note
}

// FunctionCall builds a tool call's function part.
func FunctionCall(name, args string) openai.FunctionCall {
	return openai.FunctionCall{Name: name, Arguments: args}
}
