package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// OpenAI is a Model on an OpenAI-compatible chat completions API.
type OpenAI struct {
	cfg    Config
	client *openai.Client
}

var _ Model = (*OpenAI)(nil)

// NewOpenAI returns the model the config names; ErrNoModel when none is.
// httpClient may be nil.
func NewOpenAI(cfg Config, httpClient *http.Client) (*OpenAI, error) {
	if !cfg.Enabled() {
		return nil, ErrNoModel
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	base := http.DefaultTransport
	if httpClient != nil && httpClient.Transport != nil {
		base = httpClient.Transport
	}
	oc.HTTPClient = &http.Client{Transport: &retryTransport{base: base, cfg: cfg}}
	return &OpenAI{cfg: cfg, client: openai.NewClientWithConfig(oc)}, nil
}

// Name implements Model.
func (m *OpenAI) Name() string { return m.cfg.Model }

// Complete implements Model: one chat completion, streamed when
// req.OnDelta is set, bounded by the configured timeout.
func (m *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	creq := openai.ChatCompletionRequest{
		Model:       m.cfg.Model,
		Messages:    req.Messages,
		Temperature: m.cfg.Temperature,
		MaxTokens:   req.MaxTokens,
	}
	for _, t := range req.Tools {
		creq.Tools = append(creq.Tools, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: t.Name, Description: t.Description, Parameters: json.RawMessage(t.Schema)}})
	}
	start := time.Now()
	var (
		resp Response
		err  error
	)
	if req.OnDelta != nil {
		resp, err = m.stream(ctx, creq, req.OnDelta)
	} else {
		var r openai.ChatCompletionResponse
		r, err = m.client.CreateChatCompletion(ctx, creq)
		if err == nil {
			if len(r.Choices) == 0 {
				err = errors.New("the model returned no choices")
			} else {
				resp = Response{Message: r.Choices[0].Message, FinishReason: string(r.Choices[0].FinishReason), Model: r.Model,
					Usage: Usage{PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens, Calls: 1}}
			}
		}
	}
	if err != nil {
		return Response{}, fmt.Errorf("model %s: %w", m.cfg.Model, describe(err))
	}
	if resp.Message.Role == "" {
		resp.Message.Role = openai.ChatMessageRoleAssistant
	}
	m.cfg.Logger.DebugContext(ctx, "model call", "model", m.cfg.Model, "ms", time.Since(start).Milliseconds(),
		"prompt_tokens", resp.Usage.PromptTokens, "completion_tokens", resp.Usage.CompletionTokens,
		"tool_calls", len(resp.Message.ToolCalls), "finish", resp.FinishReason)
	return resp, nil
}

func (m *OpenAI) stream(ctx context.Context, creq openai.ChatCompletionRequest, onDelta func(string)) (Response, error) {
	creq.Stream = true
	creq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	s, err := m.client.CreateChatCompletionStream(ctx, creq)
	if err != nil {
		return Response{}, err
	}
	defer s.Close()
	var (
		resp    = Response{Usage: Usage{Calls: 1}}
		content strings.Builder
		calls   []ToolCall
	)
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Response{}, err
		}
		if chunk.Model != "" {
			resp.Model = chunk.Model
		}
		if chunk.Usage != nil {
			resp.Usage.PromptTokens = chunk.Usage.PromptTokens
			resp.Usage.CompletionTokens = chunk.Usage.CompletionTokens
		}
		for _, ch := range chunk.Choices {
			if ch.Delta.Content != "" {
				content.WriteString(ch.Delta.Content)
				onDelta(ch.Delta.Content)
			}
			for _, tc := range ch.Delta.ToolCalls {
				i := len(calls)
				if tc.Index != nil {
					i = *tc.Index
				}
				if i < 0 || i > 64 {
					return Response{}, fmt.Errorf("stream: tool call index %d out of range", i)
				}
				for len(calls) <= i {
					calls = append(calls, ToolCall{Type: openai.ToolTypeFunction})
				}
				c := &calls[i]
				if tc.ID != "" {
					c.ID = tc.ID
				}
				if tc.Function.Name != "" {
					c.Function.Name += tc.Function.Name
				}
				c.Function.Arguments += tc.Function.Arguments
			}
			if ch.FinishReason != "" {
				resp.FinishReason = string(ch.FinishReason)
			}
		}
	}
	resp.Message = Message{Role: openai.ChatMessageRoleAssistant, Content: content.String(), ToolCalls: calls}
	return resp, nil
}

// describe turns go-openai errors into short messages (the server's
// message and status, never the request with its key).
func describe(err error) error {
	var ae *openai.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%d %s: %w", ae.HTTPStatusCode, truncate(ae.Message, 300), err)
	}
	var re *openai.RequestError
	if errors.As(err, &re) {
		return fmt.Errorf("HTTP %d: %s", re.HTTPStatusCode, truncate(strings.TrimSpace(string(re.Body)), 300))
	}
	return err
}

// retryTransport retries 429 and 5xx answers and connection errors with
// exponential backoff and jitter, honouring Retry-After (seconds or an
// HTTP date). Request bodies are replayed with GetBody.
type retryTransport struct {
	base http.RoundTripper
	cfg  Config
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = b
			}
		}
		resp, err := t.base.RoundTrip(r)
		retry := false
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, err
			}
			retry = true
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			retry = true
			wait = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		if !retry || attempt >= t.cfg.MaxRetries || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		if wait <= 0 {
			wait = t.cfg.RetryBase << attempt
			wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		}
		if wait > t.cfg.MaxRetryWait {
			// Waiting longer than allowed: give the caller the 429 now.
			return resp, err
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		t.cfg.Logger.WarnContext(ctx, "model API: retrying", slog.Int("status", status), slog.Any("err", err),
			slog.Int("attempt", attempt+1), slog.Duration("wait", wait))
		tm := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil, ctx.Err()
		case <-tm.C:
		}
	}
}

// retryAfter parses a Retry-After header (delta seconds or HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
