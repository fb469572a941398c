// Package agenttest is a scripted fake of an OpenAI-compatible API:
// POST /v1/chat/completions (JSON, or server-sent events when the request
// streams, with tool_calls deltas and a final usage chunk) and POST
// /v1/embeddings (deterministic hashed vectors). Replies come from a
// queue of scripted replies, or from a Policy function that decides from
// the request; errors (429 with Retry-After, 5xx) can be scripted too.
//
// It is a test double, not a language model: whatever text it answers is
// either scripted or assembled mechanically from tool results by Policy.
package agenttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"gitlab.com/pgai/reviewer/kb"
)

// Call is a scripted tool call.
type Call struct {
	ID   string
	Name string
	// Args is the raw JSON arguments string (may be invalid on purpose).
	Args string
}

// Reply is one scripted answer of /v1/chat/completions.
type Reply struct {
	Content string
	Calls   []Call
	// Status, when non-zero, answers with this HTTP error instead
	// (RetryAfter sets the Retry-After header).
	Status     int
	RetryAfter string
	// Delay waits before answering.
	Delay time.Duration
}

// Policy decides the reply from the request (used when the script is
// empty).
type Policy func(req *openai.ChatCompletionRequest) Reply

// Server is the fake API. Its base URL for clients is URL + "/v1".
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	script   []Reply
	policy   Policy
	requests []openai.ChatCompletionRequest
	statuses []int
	embedded int
	// APIKey, when set, is required as the bearer token.
	APIKey string
}

// New starts a fake closed when the test ends.
func New(t testing.TB) *Server {
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a fake; the caller closes it.
func NewServer() *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /v1/embeddings", s.embeddings)
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"object": "list", "data": []any{map[string]any{"id": "fake-model", "object": "model", "owned_by": "agenttest"}}})
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// BaseURL is the API base URL (…/v1).
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Script queues replies, answered in order.
func (s *Server) Script(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// SetPolicy answers from f once the script is empty.
func (s *Server) SetPolicy(f Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = f
}

// Requests returns the chat requests received (decoded).
func (s *Server) Requests() []openai.ChatCompletionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]openai.ChatCompletionRequest(nil), s.requests...)
}

// Statuses returns the HTTP status of each chat request, in order.
func (s *Server) Statuses() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.statuses...)
}

// Left is the number of scripted replies not yet used.
func (s *Server) Left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": "fake_error", "code": status}})
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.APIKey {
		apiError(w, http.StatusUnauthorized, "Incorrect API key provided")
		return false
	}
	return true
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var req openai.ChatCompletionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var rep Reply
	switch {
	case len(s.script) > 0:
		rep = s.script[0]
		s.script = s.script[1:]
	case s.policy != nil:
		p := s.policy
		s.mu.Unlock()
		rep = p(&req)
		s.mu.Lock()
	default:
		rep = Reply{Status: http.StatusInternalServerError}
	}
	status := rep.Status
	if status == 0 {
		status = 200
	}
	s.statuses = append(s.statuses, status)
	n := len(s.requests)
	s.mu.Unlock()
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if rep.Status != 0 {
		if rep.RetryAfter != "" {
			w.Header().Set("Retry-After", rep.RetryAfter)
		}
		msg := "scripted error"
		if rep.Status == http.StatusTooManyRequests {
			msg = "Rate limit reached for requests"
		} else if rep.Status >= 500 && len(s.script) == 0 && s.policy == nil {
			msg = "the fake has no scripted reply left"
		}
		apiError(w, rep.Status, msg)
		return
	}
	prompt := 0
	for _, m := range req.Messages {
		prompt += tokens(m.Content)
		for _, c := range m.ToolCalls {
			prompt += tokens(c.Function.Arguments)
		}
	}
	completion := tokens(rep.Content)
	var calls []openai.ToolCall
	for i, c := range rep.Calls {
		id := c.ID
		if id == "" {
			id = fmt.Sprintf("call_%d_%d", n, i)
		}
		calls = append(calls, openai.ToolCall{ID: id, Type: openai.ToolTypeFunction, Function: openai.FunctionCall{Name: c.Name, Arguments: c.Args}})
		completion += tokens(c.Args)
	}
	finish := openai.FinishReasonStop
	if len(calls) > 0 {
		finish = openai.FinishReasonToolCalls
	}
	usage := openai.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
	id := fmt.Sprintf("chatcmpl-fake-%d", n)
	if !req.Stream {
		writeJSON(w, 200, openai.ChatCompletionResponse{ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model,
			Choices: []openai.ChatCompletionChoice{{Index: 0, FinishReason: finish,
				Message: openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: rep.Content, ToolCalls: calls}}},
			Usage: usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	chunk := func(d openai.ChatCompletionStreamChoiceDelta, fr openai.FinishReason) openai.ChatCompletionStreamResponse {
		return openai.ChatCompletionStreamResponse{ID: id, Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: req.Model,
			Choices: []openai.ChatCompletionStreamChoice{{Index: 0, Delta: d, FinishReason: fr}}}
	}
	send(chunk(openai.ChatCompletionStreamChoiceDelta{Role: openai.ChatMessageRoleAssistant}, ""))
	for _, piece := range pieces(rep.Content, 3) {
		send(chunk(openai.ChatCompletionStreamChoiceDelta{Content: piece}, ""))
	}
	for i, c := range calls {
		idx := i
		// The first delta names the call, the arguments follow in fragments.
		send(chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: &idx, ID: c.ID, Type: openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: c.Function.Name}}}}, ""))
		for _, frag := range pieces(c.Function.Arguments, 2) {
			send(chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: &idx, Function: openai.FunctionCall{Arguments: frag}}}}, ""))
		}
	}
	send(chunk(openai.ChatCompletionStreamChoiceDelta{}, finish))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(openai.ChatCompletionStreamResponse{ID: id, Object: "chat.completion.chunk", Model: req.Model, Choices: []openai.ChatCompletionStreamChoice{}, Usage: &usage})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

// pieces splits s into about n parts on rune boundaries.
func pieces(s string, n int) []string {
	r := []rune(s)
	if len(r) == 0 {
		return nil
	}
	size := (len(r) + n - 1) / n
	var out []string
	for i := 0; i < len(r); i += size {
		j := min(i+size, len(r))
		out = append(out, string(r[i:j]))
	}
	return out
}

func tokens(s string) int { return (len(s) + 3) / 4 }

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var req struct {
		Input      any    `json:"input"`
		Model      string `json:"model"`
		Dimensions int    `json:"dimensions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	var inputs []string
	switch v := req.Input.(type) {
	case string:
		inputs = []string{v}
	case []any:
		for _, x := range v {
			str, ok := x.(string)
			if !ok {
				apiError(w, http.StatusBadRequest, "input must be strings")
				return
			}
			inputs = append(inputs, str)
		}
	default:
		apiError(w, http.StatusBadRequest, "input must be a string or an array of strings")
		return
	}
	dims := req.Dimensions
	if dims <= 0 {
		dims = 256
	}
	vecs, err := kb.HashEmbedder{Dims: dims}.Embed(r.Context(), inputs)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	s.embedded += len(inputs)
	s.mu.Unlock()
	data := make([]map[string]any, len(vecs))
	total := 0
	for i, v := range vecs {
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": v}
		total += tokens(inputs[i])
	}
	writeJSON(w, 200, map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]any{"prompt_tokens": total, "total_tokens": total}})
}

// LastUser returns the last user message of a request.
func LastUser(req *openai.ChatCompletionRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == openai.ChatMessageRoleUser {
			return req.Messages[i].Content
		}
	}
	return ""
}

// ToolNames lists the tools a request offers.
func ToolNames(req *openai.ChatCompletionRequest) []string {
	var out []string
	for _, t := range req.Tools {
		if t.Function != nil {
			out = append(out, t.Function.Name)
		}
	}
	return out
}

// ToolResults returns the tool messages since the last user message, with
// the name of the tool that produced each.
func ToolResults(req *openai.ChatCompletionRequest) []openai.ChatCompletionMessage {
	var out []openai.ChatCompletionMessage
	names := map[string]string{}
	for _, m := range req.Messages {
		switch m.Role {
		case openai.ChatMessageRoleUser:
			out = nil
		case openai.ChatMessageRoleAssistant:
			for _, c := range m.ToolCalls {
				names[c.ID] = c.Function.Name
			}
		case openai.ChatMessageRoleTool:
			if m.Name == "" {
				m.Name = names[m.ToolCallID]
			}
			out = append(out, m)
		}
	}
	return out
}

// JSONArgs marshals tool arguments.
func JSONArgs(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
