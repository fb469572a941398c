package agent

import (
	"context"
	"errors"

	openai "github.com/sashabaranov/go-openai"
)

// Message is one chat message (system, user, assistant with tool calls, or
// a tool result), in the OpenAI wire form every compatible server speaks.
type Message = openai.ChatCompletionMessage

// ToolCall is one function call the model asked for.
type ToolCall = openai.ToolCall

// ToolSpec describes a tool to the model.
type ToolSpec struct {
	Name        string
	Description string
	// Schema is the JSON Schema of the arguments object.
	Schema []byte
}

// Usage counts the tokens of one or more model calls.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	Calls            int `json:"calls"`
}

// Total is prompt plus completion tokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// Add accumulates v into u.
func (u *Usage) Add(v Usage) {
	u.PromptTokens += v.PromptTokens
	u.CompletionTokens += v.CompletionTokens
	u.Calls += v.Calls
}

// Request is one chat completion call.
type Request struct {
	Messages []Message
	Tools    []ToolSpec
	// MaxTokens caps the completion (0: the model's default).
	MaxTokens int
	// OnDelta, when set, asks for a streamed answer and receives each
	// piece of text as it arrives (the terminal prints them).
	OnDelta func(string)
}

// Response is the model's reply: text, tool calls, or both.
type Response struct {
	Message      Message
	FinishReason string
	Usage        Usage
	// Model is the model that answered, as the server names it.
	Model string
}

// Model is the LLM: one chat completion per call.
type Model interface {
	// Name is the configured model name (recorded with each answer).
	Name() string
	Complete(ctx context.Context, req Request) (Response, error)
}

// ErrNoModel is returned when no model is configured: everything that
// does not need one keeps working and says the LLM is off.
var ErrNoModel = errors.New("the LLM is off: no model is configured (set PGAI_OPENAI_MODEL and PGAI_OPENAI_BASE_URL or PGAI_OPENAI_API_KEY)")
