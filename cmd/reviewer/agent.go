package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/kb"
)

// agentConfig is the LLM part of the configuration, shared by serve,
// worker and chat.
type agentConfig struct {
	BaseURL    string
	APIKey     secret
	Model      string
	FetchHosts []string
}

// agentParts are the agent and what it is built on.
type agentParts struct {
	agent     *agent.Agent
	store     *agent.Store
	kb        *kb.Store
	explainer *agent.Explainer
	runner    *dblab.Runner
}

// buildAgent builds the agent: the model (nil when none is configured:
// the LLM is off and everything else works), the knowledge base and the
// conversation store on pool (both optional), and the seven tools.
// bench runs benchmarks (nil: the benchmark tools say they are
// unavailable). extraSecrets are redacted from everything the model sees or says.
func buildAgent(ctx context.Context, cfg agentConfig, pool *pgxpool.Pool, runner *dblab.Runner, log *slog.Logger, bench agent.Benchmarker, extraSecrets ...string) (*agentParts, error) {
	p := &agentParts{runner: runner}
	var model agent.Model
	mc := agent.Config{BaseURL: cfg.BaseURL, APIKey: cfg.APIKey.reveal(), Model: cfg.Model, Logger: log}
	if mc.Enabled() {
		m, err := agent.NewOpenAI(mc, nil)
		if err != nil {
			return nil, err
		}
		model = m
	}
	if pool != nil {
		if err := agent.Migrate(ctx, pool); err != nil {
			return nil, err
		}
		p.store = agent.NewStore(pool)
		if err := kb.Migrate(ctx, pool); err != nil {
			log.WarnContext(ctx, "knowledge base unavailable: get_extra_content will say so", "err", err)
		} else {
			emb, err := (&kbCommon{}).embedder()
			if err != nil {
				return nil, err
			}
			p.kb = kb.NewStore(pool, kb.StoreOptions{Logger: log, Embedder: emb})
		}
	}
	var searcher agent.Searcher
	if p.kb != nil {
		searcher = p.kb
	}
	var ex agent.Experimenter
	if runner != nil {
		ex = runner
	}
	benchStart, benchWait := agent.BenchTools(bench, "unavailable: no dedicated benchmark environment is configured here (reviewer serve with bench_dsn or bench_runner_project)")
	tb, err := agent.NewToolbox(agent.KBTool(searcher), agent.ExperimentTool(ex), benchStart, benchWait, agent.PlotTool(),
		agent.FetchTool(agent.NewFetcher(agent.FetchOptions{AllowHosts: cfg.FetchHosts})), agent.DebugTool())
	if err != nil {
		return nil, err
	}
	secrets := []string{cfg.APIKey.reveal()}
	for _, s := range extraSecrets {
		secrets = append(secrets, s, urlPassword(s))
	}
	p.agent = agent.New(agent.Options{Model: model, Tools: tb, Store: p.store, Logger: log, Secrets: secrets})
	if model != nil {
		p.explainer = &agent.Explainer{Model: model, KB: searcher, Store: p.store, Logger: log}
	}
	return p, nil
}

// urlPassword is the password in a URL-form DSN ("" if none).
func urlPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}

// agentConfigFromEnv reads PGAI_OPENAI_* (falling back to OPENAI_*).
func agentConfigFromEnv(getenv func(string) string) agentConfig {
	c := agent.ConfigFromEnv(getenv)
	return agentConfig{BaseURL: c.BaseURL, APIKey: secret(c.APIKey), Model: c.Model}
}

// llmStatus is one line on the model for logs and the terminal.
func llmStatus(cfg agentConfig) string {
	if cfg.Model == "" {
		return "LLM off: no model configured (set PGAI_OPENAI_MODEL, and PGAI_OPENAI_BASE_URL or PGAI_OPENAI_API_KEY)"
	}
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.openai.com/v1"
	}
	u, err := url.Parse(base)
	if err == nil {
		u.User, u.RawQuery = nil, ""
		base = u.String()
	}
	return fmt.Sprintf("LLM %s at %s", cfg.Model, base)
}

// experimenter is the clone runner as the agent's Experimenter (nil when
// there is no clone: a typed nil would look configured).
func (p *agentParts) experimenter() agent.Experimenter {
	if p.runner == nil {
		return nil
	}
	return p.runner
}
