package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/kb"
)

// Searcher is the knowledge base; *kb.Store has it.
type Searcher interface {
	Search(ctx context.Context, query string, opts kb.SearchOptions) ([]kb.Result, error)
}

type kbArgs struct {
	Query    string `json:"query"`
	Limit    int    `json:"limit"`
	Version  string `json:"pg_version"`
	MinTrust string `json:"min_trust"`
	Kind     string `json:"kind"`
}

type kbHit struct {
	Title   string `json:"title"`
	Heading string `json:"heading,omitempty"`
	Author  string `json:"author,omitempty"`
	URL     string `json:"url"`
	Trust   string `json:"trust"`
	Kind    string `json:"kind"`
	Version string `json:"pg_version,omitempty"`
	Text    string `json:"text"`
}

type kbOutput struct {
	Query string `json:"query"`
	// SearchedFor is the query with misspelt words corrected, when it
	// differs; NotFound the words the knowledge base holds nowhere.
	SearchedFor string   `json:"searched_for,omitempty"`
	NotFound    []string `json:"not_found,omitempty"`
	Results     []kbHit  `json:"results"`
	Note        string   `json:"note,omitempty"`
}

// explainingSearcher also tells what was searched (kb.Store does).
type explainingSearcher interface {
	SearchExplained(ctx context.Context, query string, opts kb.SearchOptions) ([]kb.Result, kb.Searched, error)
}

// KBTool is get_extra_content: a knowledge-base search whose results carry
// title, author, URL and trust level, each recorded as a citable source.
func KBTool(s Searcher) *Tool {
	t := &Tool{
		Name: ToolKB,
		Description: "Search the knowledge base (PostgreSQL documentation, PostgreSQL source code, credited articles, the reviewer's rule docs). " +
			"Returns chunks with title, author, URL and trust level (highest: source code; high: docs and credited articles; reviewer: the reviewer's own rule pages; unknown). Cite facts with the returned URL; never cite a URL that no tool returned.",
		Schema: `{"type":"object","additionalProperties":false,"required":["query"],"properties":{
"query":{"type":"string","minLength":2,"maxLength":500,"description":"what to look for, in words or identifiers (lock_timeout, ALTER TABLE SET NOT NULL)"},
"limit":{"type":"integer","minimum":1,"maximum":10,"description":"results, default 5"},
"pg_version":{"type":"string","maxLength":4,"description":"PostgreSQL major version, e.g. 15"},
"min_trust":{"type":"string","enum":["unknown","reviewer","high","highest"]},
"kind":{"type":"string","enum":["docs","source","article","mailing_list","web","rules"]}}}`,
		Timeout:   20 * time.Second,
		MaxOutput: 12 << 10,
		Run: func(ctx context.Context, tc *ToolCtx, raw json.RawMessage) (string, error) {
			if s == nil {
				return "", errors.New("the knowledge base is not configured here (the reviewer needs PGAI_DATABASE_URL with an ingested knowledge base)")
			}
			var a kbArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return "", err
			}
			if a.Limit == 0 {
				a.Limit = 5
			}
			opts := kb.SearchOptions{Limit: a.Limit, Version: a.Version}
			if a.MinTrust != "" {
				t, err := kb.ParseTrust(a.MinTrust)
				if err != nil {
					return "", err
				}
				opts.MinTrust = t
			}
			if a.Kind != "" {
				k, err := kb.ParseKind(a.Kind)
				if err != nil {
					return "", err
				}
				opts.Kinds = []kb.Kind{k}
			}
			var res []kb.Result
			var searched kb.Searched
			var err error
			if es, ok := s.(explainingSearcher); ok {
				res, searched, err = es.SearchExplained(ctx, a.Query, opts)
			} else {
				res, err = s.Search(ctx, a.Query, opts)
			}
			if errors.Is(err, kb.ErrNoQuery) {
				return "", fmt.Errorf("the query %q has no searchable words", a.Query)
			}
			if err != nil {
				return "", fmt.Errorf("knowledge-base search: %w", err)
			}
			out := kbOutput{Query: a.Query, NotFound: searched.Unknown, Results: []kbHit{}}
			if searched.Query != "" && searched.Query != a.Query {
				out.SearchedFor = searched.Query
			}
			for _, r := range res {
				text := r.Text
				if len(text) > 1500 {
					text = cut(text, 1500)
				}
				h := kbHit{Title: r.Title, Heading: r.Heading, Author: r.Author, URL: r.URL, Trust: r.Trust, Kind: string(r.Kind), Version: r.PGVersion, Text: text}
				out.Results = append(out.Results, h)
				if tc != nil && tc.Conv != nil && r.URL != "" {
					tc.Conv.AddSource(Citation{Title: citeTitle(r.Title, r.Heading), Author: r.Author, URL: r.URL, Trust: r.Trust, Kind: string(r.Kind)})
				}
			}
			if len(out.Results) == 0 {
				out.Note = "nothing found; try other words, or say that the knowledge base has nothing on it"
			}
			b, err := json.Marshal(out)
			return string(b), err
		},
	}
	if s == nil {
		t.Unavailable = "no knowledge base"
	}
	return t
}

func citeTitle(title, heading string) string {
	heading = strings.TrimPrefix(heading, title+kb.HeadingSep)
	if heading != "" && heading != title {
		return title + " — " + heading
	}
	return title
}

// learnSources re-reads a stored get_extra_content result.
func learnSources(c *Conversation, content string) {
	var out kbOutput
	if json.Unmarshal([]byte(content), &out) != nil || out.Query == "" {
		return
	}
	for _, h := range out.Results {
		if h.URL != "" {
			c.AddSource(Citation{Title: citeTitle(h.Title, h.Heading), Author: h.Author, URL: h.URL, Trust: h.Trust, Kind: h.Kind})
		}
	}
}
