package agent

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	openai "github.com/sashabaranov/go-openai"
)

// Citation is a source the answer may cite: a knowledge-base result.
type Citation struct {
	Title  string `json:"title"`
	Author string `json:"author,omitempty"`
	URL    string `json:"url"`
	Trust  string `json:"trust,omitempty"`
	Kind   string `json:"kind,omitempty"`
}

// Conversation is one thread of questions and answers: a merge-request
// discussion or a chat session.
type Conversation struct {
	// ID is the stored conversation's id (0 when not stored).
	ID int64
	// Kind is "mr" or "chat"; Key identifies the thread.
	Kind, Key string
	// ProjectID, MRIID and DiscussionID locate an MR thread.
	ProjectID, MRIID int64
	DiscussionID     string
	// Debug lists tool calls with arguments and durations in answers.
	Debug bool
	// History holds the earlier messages (no system prompt).
	History []Message

	mu sync.Mutex
	// sources are the knowledge-base results tools returned, by URL.
	sources map[string]Citation
	// links are other URLs tools returned (fetched pages, uploads).
	links map[string]bool
	// numbers are the numbers that appeared in tool results (a plot may
	// only show data the tools returned).
	numbers map[string]bool
}

// NewConversation returns an empty conversation.
func NewConversation(kind, key string) *Conversation {
	return &Conversation{Kind: kind, Key: key}
}

func (c *Conversation) init() {
	if c.sources == nil {
		c.sources = map[string]Citation{}
		c.links = map[string]bool{}
		c.numbers = map[string]bool{}
	}
}

// AddSource records a knowledge-base result a tool returned.
func (c *Conversation) AddSource(ct Citation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	c.sources[normURL(ct.URL)] = ct
}

// AddLink records a URL a tool returned that is not a kb result.
func (c *Conversation) AddLink(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	c.links[normURL(u)] = true
}

var numberRe = regexp.MustCompile(`-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?`)

// noteNumbers records the numbers in a tool result.
func (c *Conversation) noteNumbers(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	for _, m := range numberRe.FindAllString(s, -1) {
		if f, err := strconv.ParseFloat(m, 64); err == nil {
			c.numbers[canonNumber(f)] = true
		}
	}
}

// knownNumber reports whether f appeared in a tool result.
func (c *Conversation) knownNumber(f float64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	return c.numbers[canonNumber(f)]
}

func canonNumber(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

func (c *Conversation) source(u string) (Citation, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	ct, ok := c.sources[normURL(u)]
	return ct, ok
}

func (c *Conversation) knownLink(u string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	n := normURL(u)
	if c.links[n] {
		return true
	}
	_, ok := c.sources[n]
	return ok
}

// rebuildFromHistory re-learns sources and numbers from stored tool
// results, so a resumed thread can cite what earlier turns found.
func (c *Conversation) rebuildFromHistory() {
	for _, m := range c.History {
		if m.Role == openai.ChatMessageRoleTool {
			c.noteNumbers(m.Content)
			learnSources(c, m.Content)
		}
	}
}

// normURL compares URLs without a trailing slash.
func normURL(u string) string {
	return strings.TrimSuffix(strings.TrimSpace(u), "/")
}
