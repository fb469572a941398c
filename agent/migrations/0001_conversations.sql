-- Conversations of the agent: one per merge-request discussion thread or
-- chat session, with every message, tool call, citation and token count.
CREATE TABLE agent_conversations (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('mr', 'chat')),
    key text NOT NULL UNIQUE,
    project_id bigint,
    mr_iid bigint,
    discussion_id text,
    -- private hides the conversation from the history pages (chat
    -- sessions are private unless started with --public); a project in
    -- agent_private_projects hides all of its conversations.
    private boolean NOT NULL DEFAULT false,
    title text NOT NULL DEFAULT '',
    debug boolean NOT NULL DEFAULT false,
    model text NOT NULL DEFAULT '',
    prompt_version text NOT NULL DEFAULT '',
    prompt_tokens bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_conversations_updated ON agent_conversations (updated_at DESC);
CREATE INDEX agent_conversations_mr ON agent_conversations (project_id, mr_iid);

CREATE TABLE agent_messages (
    conversation_id bigint NOT NULL REFERENCES agent_conversations (id) ON DELETE CASCADE,
    seq int NOT NULL,
    role text NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content text NOT NULL DEFAULT '',
    tool_calls jsonb,
    tool_call_id text,
    tool_name text,
    -- On the final assistant message of a turn: the sources it cited, the
    -- tool runs (name, arguments, duration, error) and the turn's tokens.
    citations jsonb,
    tool_runs jsonb,
    prompt_tokens int,
    completion_tokens int,
    model text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE agent_private_projects (
    project_id bigint PRIMARY KEY,
    marked_at timestamptz NOT NULL DEFAULT now()
);

-- Requests per GitLab user and calendar month (UTC).
CREATE TABLE agent_quota (
    user_id bigint NOT NULL,
    month date NOT NULL,
    requests int NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, month)
);

-- Explanations of review findings, by rule + statement fingerprint +
-- measurement, so that a re-review does not ask the model again.
CREATE TABLE agent_explanations (
    key text PRIMARY KEY,
    rule text NOT NULL,
    text text NOT NULL,
    citations jsonb NOT NULL DEFAULT '[]',
    model text NOT NULL,
    tokens int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
