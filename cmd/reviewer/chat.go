package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/dblab"
)

const chatHelp = `Commands: /debug (tool calls with arguments and durations on or off), /prompt (the system prompt),
/tools (the tools offered), /quit. Anything else is a question.`

// runChat implements `reviewer chat`: a conversation with the agent in a
// terminal (streamed), or one question per line when stdin is not a
// terminal.
func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addCloneFlags(fs)
	var (
		dbURL    = fs.String("database-url", "", "the reviewer's database: knowledge base and stored conversations (default $PGAI_DATABASE_URL; without it: no knowledge base, nothing stored)")
		session  = fs.String("session", "", "resume the chat session with this id")
		public   = fs.Bool("public", false, "list this session on the history pages (sessions are private by default)")
		debug    = fs.Bool("debug", false, "start with debug mode on")
		plots    = fs.String("plot-dir", filepath.Join(os.TempDir(), "pgai-plots"), "where make_a_plot writes its PNG files")
		hosts    = fs.String("fetch-hosts", "", "comma-separated allow-list of fetch_whole_web_page (default postgresql.org, wiki.postgresql.org, git.postgresql.org, github.com/postgres)")
		verbose  = fs.Bool("v", false, "log to standard error")
		noStream = fs.Bool("no-stream", false, "print each answer when it is complete instead of streaming it")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: reviewer chat [--database-url URL] [--clone local|dblab …] [--session ID] [--debug]")
		fmt.Fprintln(stderr, "\nAsks the agent questions about PostgreSQL and migrations; answers cite the knowledge base and experiments run on clones.")
		fmt.Fprintln(stderr, "Model: PGAI_OPENAI_BASE_URL, PGAI_OPENAI_API_KEY, PGAI_OPENAI_MODEL (or OPENAI_BASE_URL / OPENAI_API_KEY).")
		fmt.Fprintln(stderr, "When standard input is not a terminal, each line is one question.\n\n"+chatHelp+"\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reviewer chat: unexpected argument %q (questions come on standard input)\n", fs.Arg(0))
		return exitError
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	acfg := agentConfigFromEnv(os.Getenv)
	if *hosts != "" {
		for _, h := range strings.Split(*hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				acfg.FetchHosts = append(acfg.FetchHosts, h)
			}
		}
	}
	if *dbURL == "" {
		*dbURL = os.Getenv("PGAI_DATABASE_URL")
	}
	var pool *pgxpool.Pool
	if *dbURL != "" {
		var err error
		pool, err = pgxpool.New(ctx, *dbURL)
		if err != nil {
			fmt.Fprintln(stderr, "reviewer chat: database URL: cannot parse it (check PGAI_DATABASE_URL)")
			return exitError
		}
		defer pool.Close()
	}
	var runner *dblab.Runner
	cf.resolve()
	if !cf.enabled() {
		switch {
		case cf.dblabURL != "":
			cf.mode = "dblab"
		case cf.sourceDSN != "":
			cf.mode = "local"
		}
	}
	if cf.enabled() {
		r, err := cf.runner(log)
		if err != nil {
			fmt.Fprintf(stderr, "reviewer chat: %v\n", err)
			return exitError
		}
		runner = r
	}
	parts, err := buildAgent(ctx, acfg, pool, runner, log, nil, *dbURL, cf.sourceDSN, cf.dblabToken)
	if err != nil {
		fmt.Fprintf(stderr, "reviewer chat: %v\n", err)
		return exitError
	}
	interactive := readerIsTerminal(stdin) && isTerminal(stdout)
	stream := !*noStream && isTerminal(stdout)
	if *session == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		*session = time.Now().UTC().Format("20060102-150405-") + hex.EncodeToString(b)
	}
	th := agent.Thread{Kind: "chat", Session: *session, Private: !*public}
	var conv *agent.Conversation
	if parts.store != nil {
		conv, err = parts.store.Open(ctx, th)
		if err != nil {
			fmt.Fprintf(stderr, "reviewer chat: %v\n", err)
			return exitError
		}
	} else {
		conv = agent.NewConversation("chat", th.Key())
	}
	if *debug {
		conv.Debug = true
	}
	kbState := "knowledge base: off (no database)"
	if parts.kb != nil {
		kbState = "knowledge base: on"
	}
	cloneState := "clone: off (give --clone local --source-dsn DSN for experiments)"
	if runner != nil {
		cloneState = "clone: " + cf.mode
	}
	fmt.Fprintf(stdout, "pgai chat · %s · %s · %s · prompt %s · session %s\n", llmStatus(acfg), kbState, cloneState, agent.PromptVersion, *session)
	if interactive {
		fmt.Fprintln(stdout, chatHelp)
	}
	att := dirAttacher(*plots)
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	failed := false
	for {
		if interactive {
			fmt.Fprint(stdout, "\npgai> ")
		}
		if !sc.Scan() {
			break
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !interactive {
			fmt.Fprintf(stdout, "\n> %s\n", line)
		}
		switch strings.ToLower(strings.Fields(line)[0]) {
		case "/quit", "/exit":
			return chatExit(failed)
		case "/help":
			fmt.Fprintln(stdout, chatHelp)
			continue
		case "/prompt":
			fmt.Fprintf(stdout, "System prompt, version %s (agent/prompts/system.md):\n\n%s\n", agent.PromptVersion, agent.SystemPrompt())
			continue
		case "/tools":
			fmt.Fprintf(stdout, "Tools offered: %s\n", strings.Join(parts.agent.Tools().Names(agent.EntryChat), ", "))
			continue
		case "/debug":
			conv.Debug = !conv.Debug
			fmt.Fprintf(stdout, "debug mode %s\n", map[bool]string{true: "on", false: "off"}[conv.Debug])
			continue
		}
		if strings.HasPrefix(line, "/") {
			fmt.Fprintf(stdout, "unknown command %s\n%s\n", strings.Fields(line)[0], chatHelp)
			continue
		}
		q := agent.Question{Text: line, Entry: agent.EntryChat, Attach: att,
			OnTool: func(r agent.ToolRun) {
				status := "ok"
				if r.Error != "" {
					status = "error: " + r.Error
				}
				fmt.Fprintf(stdout, "  · %s %s (%.0f ms) %s\n", r.Name, oneLine(r.Arguments, 160), r.DurationMS, oneLine(status, 200))
			}}
		streamed := false
		if stream {
			q.OnDelta = func(s string) { streamed = true; fmt.Fprint(stdout, s) }
		}
		ans, err := parts.agent.Ask(ctx, conv, q)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return exitError
			}
			failed = true
			fmt.Fprintf(stdout, "%v\n", err)
			continue
		}
		if streamed {
			fmt.Fprintln(stdout)
			if len(ans.Removed) > 0 {
				fmt.Fprintf(stdout, "(in the text above, these links were not returned by any tool and are not to be trusted: %s)\n", strings.Join(ans.Removed, ", "))
			}
		} else {
			fmt.Fprintln(stdout, ans.Body)
		}
		if ans.Footer != "" {
			fmt.Fprintf(stdout, "\n%s\n", ans.Footer)
		}
		fmt.Fprintf(stdout, "[%s · %d tool call(s) · %d model call(s) · %d prompt + %d completion tokens]\n",
			ans.Model, len(ans.Tools), ans.Usage.Calls, ans.Usage.PromptTokens, ans.Usage.CompletionTokens)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(stderr, "reviewer chat: read: %v\n", err)
		return exitError
	}
	return chatExit(failed)
}

func chatExit(failed bool) int {
	if failed {
		return exitError
	}
	return exitOK
}

// dirAttacher writes plots to a directory.
type dirAttacher string

func (d dirAttacher) Attach(_ context.Context, name string, data []byte) (string, error) {
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(string(d), time.Now().UTC().Format("150405-")+filepath.Base(name))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf("![%s](%s)", strings.TrimSuffix(filepath.Base(name), ".png"), p), nil
}

// readerIsTerminal reports whether r is a terminal.
func readerIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
