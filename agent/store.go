package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	openai "github.com/sashabaranov/go-openai"
)

// Store keeps conversations, quotas, private projects and cached
// explanations in the reviewer's database. Call Migrate first.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store on a migrated database.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Thread locates a conversation.
type Thread struct {
	Kind string // "mr" or "chat"
	// ProjectID, MRIID and DiscussionID locate an MR discussion; Session a
	// chat session.
	ProjectID, MRIID int64
	DiscussionID     string
	Session          string
	// Private hides a chat session from the history pages.
	Private bool
}

// Key is the thread's unique key.
func (t Thread) Key() string {
	if t.Kind == "mr" {
		return fmt.Sprintf("mr:%d:%d:%s", t.ProjectID, t.MRIID, t.DiscussionID)
	}
	return "chat:" + t.Session
}

// Open loads the thread's conversation with its history, or creates it.
func (s *Store) Open(ctx context.Context, t Thread) (*Conversation, error) {
	c := &Conversation{Kind: t.Kind, Key: t.Key(), ProjectID: t.ProjectID, MRIID: t.MRIID, DiscussionID: t.DiscussionID}
	var pid, iid *int64
	var did *string
	if t.Kind == "mr" {
		pid, iid, did = &t.ProjectID, &t.MRIID, &t.DiscussionID
	}
	err := s.pool.QueryRow(ctx, `
		INSERT INTO agent_conversations (kind, key, project_id, mr_iid, discussion_id, private, prompt_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
		RETURNING id, debug`, t.Kind, c.Key, pid, iid, did, t.Private, PromptVersion).Scan(&c.ID, &c.Debug)
	if err != nil {
		return nil, fmt.Errorf("open conversation: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT role, content, tool_calls, coalesce(tool_call_id, ''), coalesce(tool_name, '')
		FROM agent_messages WHERE conversation_id = $1 ORDER BY seq`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Message
		var calls []byte
		if err := rows.Scan(&m.Role, &m.Content, &calls, &m.ToolCallID, &m.Name); err != nil {
			return nil, fmt.Errorf("load conversation: %w", err)
		}
		if len(calls) > 0 {
			if err := json.Unmarshal(calls, &m.ToolCalls); err != nil {
				return nil, fmt.Errorf("load conversation: tool calls: %w", err)
			}
		}
		if m.Role != openai.ChatMessageRoleTool {
			m.Name = ""
		}
		c.History = append(c.History, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	return c, nil
}

// SaveTurn appends one turn's messages; the last one carries the
// citations, tool runs, tokens and model.
func (s *Store) SaveTurn(ctx context.Context, c *Conversation, turn []Message, ans *Answer) error {
	if c.ID == 0 {
		return errors.New("save turn: the conversation was not opened from the store")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var seq int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM agent_messages WHERE conversation_id = $1`, c.ID).Scan(&seq); err != nil {
			return fmt.Errorf("save turn: %w", err)
		}
		for i, m := range turn {
			seq++
			var calls, cites, runs []byte
			if len(m.ToolCalls) > 0 {
				calls, _ = json.Marshal(m.ToolCalls)
			}
			var pt, ct *int
			var model *string
			if i == len(turn)-1 && ans != nil {
				cites, _ = json.Marshal(nonNil(ans.Citations))
				runs, _ = json.Marshal(nonNilRuns(ans.Tools))
				pt, ct, model = &ans.Usage.PromptTokens, &ans.Usage.CompletionTokens, &ans.Model
			}
			var callID, name *string
			if m.Role == openai.ChatMessageRoleTool {
				callID, name = &m.ToolCallID, &m.Name
			}
			if _, err := tx.Exec(ctx, `INSERT INTO agent_messages
				(conversation_id, seq, role, content, tool_calls, tool_call_id, tool_name, citations, tool_runs, prompt_tokens, completion_tokens, model)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				c.ID, seq, m.Role, m.Content, calls, callID, name, cites, runs, pt, ct, model); err != nil {
				return fmt.Errorf("save turn: %w", err)
			}
		}
		var title string
		if len(turn) > 0 {
			title = oneLine(firstLine(turn[0].Content), 120)
		}
		var p, cpl int
		var model string
		if ans != nil {
			p, cpl, model = ans.Usage.PromptTokens, ans.Usage.CompletionTokens, ans.Model
		}
		c.mu.Lock()
		debug := c.Debug
		c.mu.Unlock()
		_, err := tx.Exec(ctx, `UPDATE agent_conversations SET updated_at = now(), debug = $2,
			prompt_tokens = prompt_tokens + $3, completion_tokens = completion_tokens + $4,
			model = CASE WHEN $5 = '' THEN model ELSE $5 END,
			title = CASE WHEN title = '' THEN $6 ELSE title END, prompt_version = $7
			WHERE id = $1`, c.ID, debug, p, cpl, model, title, PromptVersion)
		if err != nil {
			return fmt.Errorf("save turn: %w", err)
		}
		return nil
	})
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

func nonNil(c []Citation) []Citation {
	if c == nil {
		return []Citation{}
	}
	return c
}

func nonNilRuns(r []ToolRun) []ToolRun {
	if r == nil {
		return []ToolRun{}
	}
	return r
}

// SetProjectPrivate marks a project private (its conversations leave the
// history pages) or public again.
func (s *Store) SetProjectPrivate(ctx context.Context, projectID int64, private bool) error {
	var err error
	if private {
		_, err = s.pool.Exec(ctx, `INSERT INTO agent_private_projects (project_id) VALUES ($1) ON CONFLICT DO NOTHING`, projectID)
	} else {
		_, err = s.pool.Exec(ctx, `DELETE FROM agent_private_projects WHERE project_id = $1`, projectID)
	}
	if err != nil {
		return fmt.Errorf("mark project %d: %w", projectID, err)
	}
	return nil
}

// ConversationInfo is a conversation as the history pages list it.
type ConversationInfo struct {
	ID               int64     `json:"id"`
	Kind             string    `json:"kind"`
	ProjectID        int64     `json:"project_id,omitempty"`
	MRIID            int64     `json:"mr_iid,omitempty"`
	DiscussionID     string    `json:"discussion_id,omitempty"`
	Title            string    `json:"title"`
	Model            string    `json:"model"`
	PromptVersion    string    `json:"prompt_version"`
	PromptTokens     int64     `json:"prompt_tokens"`
	CompletionTokens int64     `json:"completion_tokens"`
	Messages         int       `json:"messages"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// StoredMessage is one stored message.
type StoredMessage struct {
	Seq              int        `json:"seq"`
	Role             string     `json:"role"`
	Content          string     `json:"content"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ToolName         string     `json:"tool_name,omitempty"`
	Citations        []Citation `json:"citations,omitempty"`
	ToolRuns         []ToolRun  `json:"tool_runs,omitempty"`
	PromptTokens     int        `json:"prompt_tokens,omitempty"`
	CompletionTokens int        `json:"completion_tokens,omitempty"`
	Model            string     `json:"model,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
}

// ListOptions page and filter ListPublic.
type ListOptions struct {
	// ProjectID keeps one project's conversations (0: all).
	ProjectID int64
	// Limit (default 50, at most 500) and Offset page the list, newest
	// first.
	Limit, Offset int
}

const publicCond = `NOT c.private AND NOT EXISTS (SELECT 1 FROM agent_private_projects p WHERE p.project_id = c.project_id)`

// ListPublic lists the public conversations (not private chat sessions,
// not in a private project), newest first.
func (s *Store) ListPublic(ctx context.Context, o ListOptions) ([]ConversationInfo, error) {
	if o.Limit <= 0 {
		o.Limit = 50
	}
	if o.Limit > 500 {
		o.Limit = 500
	}
	rows, err := s.pool.Query(ctx, `SELECT c.id, c.kind, coalesce(c.project_id, 0), coalesce(c.mr_iid, 0), coalesce(c.discussion_id, ''),
			c.title, c.model, c.prompt_version, c.prompt_tokens, c.completion_tokens,
			(SELECT count(*) FROM agent_messages m WHERE m.conversation_id = c.id), c.created_at, c.updated_at
		FROM agent_conversations c
		WHERE `+publicCond+` AND ($1 = 0 OR c.project_id = $1)
		ORDER BY c.updated_at DESC, c.id DESC LIMIT $2 OFFSET $3`, o.ProjectID, o.Limit, o.Offset)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConversationInfo, error) {
		var c ConversationInfo
		err := r.Scan(&c.ID, &c.Kind, &c.ProjectID, &c.MRIID, &c.DiscussionID, &c.Title, &c.Model, &c.PromptVersion,
			&c.PromptTokens, &c.CompletionTokens, &c.Messages, &c.CreatedAt, &c.UpdatedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return out, nil
}

// ErrNotFound is returned for a conversation that does not exist or is
// not public.
var ErrNotFound = errors.New("conversation not found")

// GetPublic returns a public conversation with its messages.
func (s *Store) GetPublic(ctx context.Context, id int64) (*ConversationInfo, []StoredMessage, error) {
	var c ConversationInfo
	err := s.pool.QueryRow(ctx, `SELECT c.id, c.kind, coalesce(c.project_id, 0), coalesce(c.mr_iid, 0), coalesce(c.discussion_id, ''),
			c.title, c.model, c.prompt_version, c.prompt_tokens, c.completion_tokens, c.created_at, c.updated_at
		FROM agent_conversations c WHERE c.id = $1 AND `+publicCond, id).Scan(
		&c.ID, &c.Kind, &c.ProjectID, &c.MRIID, &c.DiscussionID, &c.Title, &c.Model, &c.PromptVersion,
		&c.PromptTokens, &c.CompletionTokens, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get conversation: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, role, content, tool_calls, coalesce(tool_name, ''), citations, tool_runs,
			coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0), coalesce(model, ''), created_at
		FROM agent_messages WHERE conversation_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("get conversation: %w", err)
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredMessage, error) {
		var m StoredMessage
		var calls, cites, runs []byte
		if err := r.Scan(&m.Seq, &m.Role, &m.Content, &calls, &m.ToolName, &cites, &runs, &m.PromptTokens, &m.CompletionTokens, &m.Model, &m.CreatedAt); err != nil {
			return m, err
		}
		for _, x := range []struct {
			b []byte
			v any
		}{{calls, &m.ToolCalls}, {cites, &m.Citations}, {runs, &m.ToolRuns}} {
			if len(x.b) > 0 {
				if err := json.Unmarshal(x.b, x.v); err != nil {
					return m, err
				}
			}
		}
		m.Citations = nonNilIfEmpty(m.Citations)
		c.Messages++
		return m, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("get conversation: %w", err)
	}
	return &c, msgs, nil
}

func nonNilIfEmpty(c []Citation) []Citation {
	if len(c) == 0 {
		return nil
	}
	return c
}

// QuotaResult says whether a request fits the monthly quota.
type QuotaResult struct {
	OK      bool
	Used    int
	Limit   int
	ResetAt time.Time
}

// TakeQuota counts one request of a GitLab user against a monthly limit
// (calendar month, UTC) and reports whether it is allowed. limit <= 0
// means no limit. A refused request is not counted.
func (s *Store) TakeQuota(ctx context.Context, userID int64, limit int, now time.Time) (QuotaResult, error) {
	now = now.UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	r := QuotaResult{Limit: limit, ResetAt: month.AddDate(0, 1, 0)}
	if limit <= 0 {
		r.OK = true
		return r, nil
	}
	err := s.pool.QueryRow(ctx, `
		INSERT INTO agent_quota AS q (user_id, month, requests) VALUES ($1, $2, 1)
		ON CONFLICT (user_id, month) DO UPDATE SET requests = q.requests + 1 WHERE q.requests < $3
		RETURNING requests`, userID, month, limit).Scan(&r.Used)
	if errors.Is(err, pgx.ErrNoRows) {
		r.Used = limit
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("quota: %w", err)
	}
	r.OK = true
	return r, nil
}
