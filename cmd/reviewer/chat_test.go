package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/agent/agenttest"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/kb"
)

// `printf 'Q\n…' | reviewer chat` against the fake API: the seven tools
// are offered, a docs question is answered with the kb's postgresql.org
// link, a loopback fetch is refused, /debug and /prompt work.
func TestChatPiped(t *testing.T) {
	f := agenttest.New(t)
	f.SetPolicy(agenttest.DemoPolicy)
	db := pgtest.New(t)
	pool := db.Pool(t)
	if err := kb.Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	store := kb.NewStore(pool, kb.StoreOptions{})
	const u = "https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-LOCK-TIMEOUT"
	if _, err := store.Ingest(t.Context(), "t", []kb.Document{{Key: "d", Kind: kb.KindDocs, Title: "Client Connection Defaults", Trust: kb.TrustHigh,
		URL: "https://www.postgresql.org/docs/15/runtime-config-client.html", Author: "The PostgreSQL Global Development Group",
		Chunks: []kb.Chunk{{Heading: []string{"Client Connection Defaults", "lock_timeout"}, URL: u,
			Text: "Abort any statement that waits longer than the specified amount of time while attempting to acquire a lock. The time limit applies separately to each lock acquisition attempt."}}}}, nil); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGAI_OPENAI_BASE_URL", f.BaseURL())
	t.Setenv("PGAI_OPENAI_API_KEY", "sk-chat-test-key")
	t.Setenv("PGAI_OPENAI_MODEL", "fake-model")
	t.Setenv("PGAI_DATABASE_URL", db.URL)
	in := "what does lock_timeout do\n/debug\nplease fetch https://127.0.0.1:9/admin\n/prompt\n/quit\nnever read\n"
	var out, errb bytes.Buffer
	code := runChat(t.Context(), []string{"--session", "t1", "--fetch-hosts", "postgresql.org,127.0.0.1"}, strings.NewReader(in), &out, &errb)
	got := out.String()
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, got, errb.String())
	}
	for _, want := range []string{
		"LLM fake-model at " + f.BaseURL() + " · knowledge base: on",
		"> what does lock_timeout do\n  · get_extra_content {\"limit\":3,\"query\":\"what does lock_timeout do\"}",
		"[Client Connection Defaults > lock_timeout](" + u + ") by The PostgreSQL Global Development Group says: \"Abort any statement",
		"**Sources** (from the knowledge base):\n1. [Client Connection Defaults — lock_timeout](" + u + ")",
		"debug mode on",
		"  · fetch_whole_web_page {\"url\":\"https://127.0.0.1:9/admin\"}",
		"error: refused: 127.0.0.1 is a loopback address",
		"<details><summary>Debug: 1 tool call(s)",
		"System prompt, version ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "never read") || strings.Contains(got+errb.String(), "sk-chat-test-key") {
		t.Errorf("read past /quit or printed the key:\n%s", got)
	}
	reqs := f.Requests()
	if len(reqs) == 0 || len(reqs[0].Tools) != 7 {
		t.Fatalf("tools offered: %v", reqs)
	}
}

func TestServiceConfigAgent(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	sf := addServiceFlags(fs, true)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OPENAI_API_KEY": "sk-fallback", "OPENAI_BASE_URL": "http://fallback/v1", "PGAI_OPENAI_MODEL": "m1", "PGAI_AGENT_QUOTA": "7"}
	cfg, err := sf.load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OpenAIAPIKey.reveal() != "sk-fallback" || cfg.OpenAIBaseURL != "http://fallback/v1" || cfg.OpenAIModel != "m1" || cfg.AgentQuota != 7 {
		t.Errorf("config %+v", cfg)
	}
	env["PGAI_OPENAI_API_KEY"], env["PGAI_OPENAI_BASE_URL"] = "sk-pgai", "http://pgai/v1"
	cfg, _ = sf.load(func(k string) string { return env[k] })
	if cfg.OpenAIAPIKey.reveal() != "sk-pgai" || cfg.OpenAIBaseURL != "http://pgai/v1" {
		t.Errorf("PGAI_ names do not win: %+v", cfg)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg)
	if s := logs.String() + fmt.Sprintf("%v %+v", cfg, cfg); strings.Contains(s, "sk-pgai") {
		t.Errorf("the API key was printed: %s", s)
	}
	env["PGAI_AGENT_QUOTA"] = "many"
	if _, err := sf.load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "PGAI_AGENT_QUOTA") {
		t.Errorf("bad quota: %v", err)
	}
}
