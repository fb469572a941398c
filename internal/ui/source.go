package ui

import (
	"context"
	"errors"
	"io"
	"time"

	"gitlab.com/pgai/reviewer/internal/archive"
)

// ErrNotFound is what a source returns for an item it does not have; the
// pages answer 404.
var ErrNotFound = archive.ErrNotFound

// Reviews is what the review pages read (archive.Store implements it).
type Reviews interface {
	Reviews(ctx context.Context, f archive.ReviewFilter) ([]archive.ReviewSummary, error)
	Projects(ctx context.Context, hide archive.Visibility) ([]string, error)
	Review(ctx context.Context, k archive.Key) (*archive.Review, error)
}

// Experiments is what the experiment pages read (archive.Store implements
// it).
type Experiments interface {
	Experiments(ctx context.Context, hide archive.Visibility, limit, offset int) ([]archive.ExperimentSummary, error)
	Experiment(ctx context.Context, id int64) (*archive.Experiment, error)
}

var (
	_ Reviews      = (*archive.Store)(nil)
	_ Experiments  = (*archive.Store)(nil)
	_ ProjectPaths = (*archive.Store)(nil)
)

// Benchmarks is what the benchmark pages read. The runs are recorded by
// the benchmark runner; an adapter over its store implements this.
type Benchmarks interface {
	BenchmarkRuns(ctx context.Context, limit int) ([]BenchmarkSummary, error)
	BenchmarkRun(ctx context.Context, id string) (*BenchmarkRun, error)
	// Artifact opens one artifact of a run; the caller closes it.
	Artifact(ctx context.Context, runID, name string) (io.ReadCloser, Artifact, error)
}

// BenchmarkSummary is a benchmark run as listed.
type BenchmarkSummary struct {
	ID          string
	ProjectID   int64
	ProjectPath string
	MRIID       int64
	Title       string
	Status      string
	StartedAt   time.Time
	// Headline is the run's main figure, e.g. "1,234 tps".
	Headline string
}

// BenchmarkRun is one benchmark run with its results.
type BenchmarkRun struct {
	BenchmarkSummary
	// Command is what ran (pgbench and its flags); it never holds a DSN
	// or password.
	Command string
	// Params are the run's settings (clients, jobs, duration, scale…).
	Params []Param
	// Table is the results, one row per client count, script or phase.
	Table Table
	// Plots are the series to draw, e.g. tps over time.
	Plots []Plot
	// Artifacts are the files the run produced (logs, raw output, CSV).
	Artifacts []Artifact
	// Error says why the run failed, if it did.
	Error string
}

// Param is one name and value.
type Param struct{ Name, Value string }

// Table is a results table.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Plot is one chart: one or more series over the same axes.
type Plot struct {
	Title  string
	XLabel string
	YLabel string
	Series []Series
}

// Series is one line of a plot.
type Series struct {
	Name   string
	Points []Point
}

// Point is one x, y value.
type Point struct{ X, Y float64 }

// Artifact describes a file of a benchmark run.
type Artifact struct {
	Name        string
	Size        int64
	ContentType string
}

// Conversations is what the conversation pages read. The agent records
// conversations; an adapter over its store implements this.
type Conversations interface {
	Conversations(ctx context.Context, limit int) ([]ConversationSummary, error)
	Conversation(ctx context.Context, id string) (*Conversation, error)
}

// ConversationSummary is a conversation as listed.
type ConversationSummary struct {
	ID          string
	ProjectID   int64
	ProjectPath string
	MRIID       int64
	Title       string
	StartedAt   time.Time
	Messages    int
}

// Conversation is one conversation with the agent.
type Conversation struct {
	ConversationSummary
	Messages []Message
}

// Message is one turn: a question, an answer, or a tool's result.
type Message struct {
	// Role is "user", "assistant", "tool" or "system".
	Role      string
	Author    string
	At        time.Time
	Text      string
	ToolCalls []ToolCall
	Citations []Citation
}

// ToolCall is a tool the model called, with its arguments and result.
type ToolCall struct {
	Name      string
	Arguments string
	Result    string
	Error     string
}

// Citation is a source an answer cites.
type Citation struct {
	Title string
	URL   string
	// Snippet is the cited passage, when known.
	Snippet string
}

// notStored is returned by nil sources.
var errNotStored = errors.New("not stored on this reviewer")
