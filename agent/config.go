package agent

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config says how to reach the model. The zero value means the LLM is off.
type Config struct {
	// BaseURL of an OpenAI-compatible API (https://api.openai.com/v1 when
	// empty; Ollama http://localhost:11434/v1, vLLM http://host:8000/v1).
	BaseURL string
	// APIKey is sent as a bearer token (none when empty, as Ollama wants).
	APIKey string
	// Model names the chat model; empty turns the LLM off.
	Model string
	// Timeout bounds one model call including its retries (default 3 min).
	Timeout time.Duration
	// MaxRetries on 429 and 5xx answers and connection errors (default 4).
	MaxRetries int
	// RetryBase is the first backoff delay, doubled each retry (default
	// 1 s); a Retry-After header overrides it.
	RetryBase time.Duration
	// MaxRetryWait is the longest single wait; a Retry-After beyond it
	// gives up at once (default 60 s).
	MaxRetryWait time.Duration
	// Temperature (default 0.2; go-openai drops an exact 0).
	Temperature float32
	Logger      *slog.Logger
}

// Enabled reports whether a model is configured.
func (c Config) Enabled() bool { return strings.TrimSpace(c.Model) != "" }

// ConfigFromEnv reads PGAI_OPENAI_BASE_URL, PGAI_OPENAI_API_KEY and
// PGAI_OPENAI_MODEL, falling back to OPENAI_BASE_URL and OPENAI_API_KEY.
func ConfigFromEnv(getenv func(string) string) Config {
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	return Config{
		BaseURL: first("PGAI_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
		APIKey:  first("PGAI_OPENAI_API_KEY", "OPENAI_API_KEY"),
		Model:   first("PGAI_OPENAI_MODEL"),
	}
}

// Validate checks the base URL; it never quotes the key.
func (c Config) Validate() error {
	if c.BaseURL == "" {
		return nil
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("PGAI_OPENAI_BASE_URL %q: want an http(s) URL such as https://api.openai.com/v1", redactURL(c.BaseURL))
	}
	return nil
}

func (c *Config) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Minute
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 4
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = time.Minute
	}
	if c.Temperature == 0 {
		c.Temperature = 0.2
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// redactURL drops user info and query from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
