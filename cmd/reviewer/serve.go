package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/pgai/reviewer/agent"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/blobcache"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/queue"
	"gitlab.com/pgai/reviewer/internal/ui"
	"gitlab.com/pgai/reviewer/loadtest"
	"gitlab.com/pgai/reviewer/webhook"
)

// secret holds a token or password; it prints as REDACTED in logs, %v and
// errors, so that it cannot leak by accident.
type secret string

func (secret) String() string       { return "REDACTED" }
func (secret) GoString() string     { return "REDACTED" }
func (secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }
func (s secret) MarshalText() ([]byte, error) {
	if s == "" {
		return []byte(""), nil
	}
	return []byte("REDACTED"), nil
}

// reveal returns the secret's value, for the one place that sends it.
func (s secret) reveal() string { return string(s) }

// serviceConfig is the configuration of `reviewer serve` and `reviewer
// worker`: a YAML file, overridden by the environment, overridden by flags.
//
//	gitlab_url: https://gitlab.example.com   # PGAI_GITLAB_URL
//	gitlab_token: glpat-…                    # PGAI_GITLAB_TOKEN (api scope; Developer role to resolve threads)
//	webhook_secret: …                        # PGAI_WEBHOOK_SECRET
//	database_url: postgres://…               # PGAI_DATABASE_URL
//	listen_addr: ":8080"                     # PGAI_LISTEN_ADDR
//	workers: 4                               # PGAI_WORKERS; 0 = receiver only
//	min_access: developer                    # who may run /pgai commands (PGAI_MIN_ACCESS)
//	skip_drafts: false                       # review draft MRs only once marked ready
//	max_inline: 25                           # inline discussions per review
//	public_url: https://reviewer.example.com # PGAI_PUBLIC_URL: the summary note links the review's page under /ui/
//	private_projects: [42, acme/secret]      # PGAI_PRIVATE_PROJECTS (comma-separated): not shown or linked in /ui/
//	bench_dsn: postgres://…                  # PGAI_BENCH_DSN: dedicated PostgreSQL for /pgai bench (pgbench on this host)
//	bench_runner_project: perf/bench-runner  # PGAI_BENCH_RUNNER_PROJECT: or run /pgai bench as a pipeline there
//	bench_runner_ref: main                   # PGAI_BENCH_RUNNER_REF
//	openai_base_url: https://api.openai.com/v1  # PGAI_OPENAI_BASE_URL (or OPENAI_BASE_URL): any OpenAI-compatible API
//	openai_api_key: sk-…                     # PGAI_OPENAI_API_KEY (or OPENAI_API_KEY)
//	openai_model: gpt-4o                     # PGAI_OPENAI_MODEL; empty = LLM off (/pgai experiment still works)
//	agent_quota: 200                         # /pgai ask + experiment requests per GitLab user and month (PGAI_AGENT_QUOTA; 0 = none)
//	fetch_hosts: [postgresql.org, …]         # hosts fetch_whole_web_page may read (default: postgresql.org, wiki/git.postgresql.org, github.com/postgres)
type serviceConfig struct {
	GitLabURL     string `yaml:"gitlab_url"`
	GitLabToken   secret `yaml:"gitlab_token"`
	WebhookSecret secret `yaml:"webhook_secret"`
	DatabaseURL   secret `yaml:"database_url"`
	ListenAddr    string `yaml:"listen_addr"`
	Workers       int    `yaml:"workers"`
	MinAccess     string `yaml:"min_access"`
	SkipDrafts    bool   `yaml:"skip_drafts"`
	MaxInline     int    `yaml:"max_inline"`
	Debug         bool   `yaml:"debug"`
	// PublicURL is where /ui/ is reachable for people reading the MR.
	PublicURL string `yaml:"public_url"`
	// PrivateProjects are project IDs or paths (a group's path covers
	// its projects) that the UI neither shows nor links.
	PrivateProjects []string `yaml:"private_projects"`
	// Benchmarks (/pgai bench, the agent's dedicated-environment tools).
	BenchDSN           secret `yaml:"bench_dsn"`
	BenchRunnerProject string `yaml:"bench_runner_project"`
	BenchRunnerRef     string `yaml:"bench_runner_ref"`
	// The LLM agent (agent/): model endpoint, monthly quota per GitLab
	// user for /pgai ask and experiment, web-fetch allow-list.
	OpenAIBaseURL string   `yaml:"openai_base_url"`
	OpenAIAPIKey  secret   `yaml:"openai_api_key"`
	OpenAIModel   string   `yaml:"openai_model"`
	AgentQuota    int      `yaml:"agent_quota"`
	FetchHosts    []string `yaml:"fetch_hosts"`
}

// serviceFlags declares the flags shared by serve and worker; apply
// copies the ones given onto the config.
type serviceFlags struct {
	fs         *flag.FlagSet
	configFile *string
	set        map[string]*string
	workers    *int
	skipDrafts *bool
	debug      *bool
}

func addServiceFlags(fs *flag.FlagSet, withHTTP bool) *serviceFlags {
	f := &serviceFlags{fs: fs, set: map[string]*string{}}
	f.configFile = fs.String("config", "", "service config file (YAML); environment variables override it, flags override both")
	f.set["gitlab_url"] = fs.String("gitlab-url", "", "GitLab base URL (env PGAI_GITLAB_URL)")
	f.set["database_url"] = fs.String("database-url", "", "PostgreSQL URL of the reviewer's own database, for the queue (env PGAI_DATABASE_URL)")
	f.set["min_access"] = fs.String("min-access", "", "lowest role that may run /pgai commands: guest, reporter, developer, maintainer, owner (default developer)")
	f.set["max_inline"] = fs.String("max-inline", "", "inline discussions opened per review at most (default 25)")
	f.workers = fs.Int("workers", -1, "review jobs run at once in this process (default 4; 0 with serve = receive only)")
	f.debug = fs.Bool("v", false, "debug logging")
	if withHTTP {
		f.set["listen_addr"] = fs.String("listen", "", "address to listen on (env PGAI_LISTEN_ADDR, default :8080)")
		f.skipDrafts = fs.Bool("skip-drafts", false, "do not review draft merge requests until they are marked ready")
	}
	return f
}

// load builds the config: defaults, file, environment, flags.
func (f *serviceFlags) load(getenv func(string) string) (*serviceConfig, error) {
	c := &serviceConfig{ListenAddr: ":8080", Workers: 4, MinAccess: "developer", MaxInline: 25, AgentQuota: 200}
	if *f.configFile != "" {
		b, err := os.ReadFile(*f.configFile)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := yaml.UnmarshalWithOptions(b, c, yaml.Strict()); err != nil {
			return nil, fmt.Errorf("config %s: %w", *f.configFile, err)
		}
	}
	env := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	envSecret := func(name string, dst *secret) {
		if v := getenv(name); v != "" {
			*dst = secret(v)
		}
	}
	env("PGAI_GITLAB_URL", &c.GitLabURL)
	envSecret("PGAI_GITLAB_TOKEN", &c.GitLabToken)
	envSecret("PGAI_WEBHOOK_SECRET", &c.WebhookSecret)
	envSecret("PGAI_DATABASE_URL", &c.DatabaseURL)
	env("PGAI_LISTEN_ADDR", &c.ListenAddr)
	env("PGAI_MIN_ACCESS", &c.MinAccess)
	env("PGAI_PUBLIC_URL", &c.PublicURL)
	if v := getenv("PGAI_PRIVATE_PROJECTS"); v != "" {
		c.PrivateProjects = strings.Split(v, ",")
	}
	envSecret("PGAI_BENCH_DSN", &c.BenchDSN)
	env("PGAI_BENCH_RUNNER_PROJECT", &c.BenchRunnerProject)
	env("PGAI_BENCH_RUNNER_REF", &c.BenchRunnerRef)
	env("OPENAI_BASE_URL", &c.OpenAIBaseURL)
	env("PGAI_OPENAI_BASE_URL", &c.OpenAIBaseURL)
	if ac := agentConfigFromEnv(getenv); ac.APIKey != "" {
		c.OpenAIAPIKey = ac.APIKey
	}
	env("PGAI_OPENAI_MODEL", &c.OpenAIModel)
	var errs []error
	if v := getenv("PGAI_AGENT_QUOTA"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("PGAI_AGENT_QUOTA=%q: want a number, 0 for no limit", v))
		}
		c.AgentQuota = n
	}
	if v := getenv("PGAI_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PGAI_WORKERS=%q: want a number", v))
		}
		c.Workers = n
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for key, p := range f.set {
		if *p == "" {
			continue
		}
		switch key {
		case "gitlab_url":
			c.GitLabURL = *p
		case "database_url":
			c.DatabaseURL = secret(*p)
		case "listen_addr":
			c.ListenAddr = *p
		case "min_access":
			c.MinAccess = *p
		case "max_inline":
			n, err := strconv.Atoi(*p)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("--max-inline %q: want a number", *p))
			}
			c.MaxInline = n
		}
	}
	if given["workers"] {
		c.Workers = *f.workers
	}
	if f.skipDrafts != nil && given["skip-drafts"] {
		c.SkipDrafts = *f.skipDrafts
	}
	if *f.debug {
		c.Debug = true
	}
	return c, errors.Join(errs...)
}

// validate reports every problem at once.
func (c *serviceConfig) validate(needSecret bool) error {
	var errs []error
	if c.GitLabURL == "" {
		errs = append(errs, errors.New("no GitLab URL (PGAI_GITLAB_URL or --gitlab-url)"))
	}
	if c.GitLabToken == "" {
		errs = append(errs, errors.New("no GitLab token (PGAI_GITLAB_TOKEN)"))
	}
	if needSecret && c.WebhookSecret == "" {
		errs = append(errs, errors.New("no webhook secret (PGAI_WEBHOOK_SECRET): unauthenticated webhooks are refused"))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("no database (PGAI_DATABASE_URL or --database-url)"))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers %d: want 0 or more", c.Workers))
	}
	if _, err := gitlab.ParseAccessLevel(c.MinAccess); err != nil {
		errs = append(errs, fmt.Errorf("min_access: %w", err))
	}
	if err := checkPublicURL(c.PublicURL); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.visibility(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// service is what serve and worker run: the database pool, the GitLab
// client, the reviewer and the queue.
type service struct {
	cfg     *serviceConfig
	log     *slog.Logger
	pool    *pgxpool.Pool
	metrics *webhook.Metrics
	gitlab  *gitlab.Client
	bot     gitlab.User
	queue   *queue.Queue
	archive *archive.Store
	// bench runs benchmarks (nil when none is configured).
	bench *loadtest.Manager
}

func startService(ctx context.Context, cfg *serviceConfig, workers int, clone *cloneFlags, log *slog.Logger) (*service, error) {
	s := &service{cfg: cfg, log: log, metrics: webhook.NewMetrics()}
	s.metrics.Logger = log
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL.reveal())
	if err != nil {
		// pgx errors can quote the URL: say only what is wrong.
		return nil, errors.New("database URL: cannot parse it (check PGAI_DATABASE_URL)")
	}
	pcfg.MaxConns = int32(workers + 10)
	s.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := queue.Migrate(mctx, s.pool, log); err != nil {
		s.pool.Close()
		return nil, err
	}
	if err := archive.Migrate(mctx, s.pool, log); err != nil {
		s.pool.Close()
		return nil, err
	}
	s.archive = archive.NewStore(s.pool)
	s.gitlab, err = gitlab.New(gitlab.Options{BaseURL: cfg.GitLabURL, Token: cfg.GitLabToken.reveal(), Logger: log, OnError: s.metrics.GitLabError})
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	gctx, gcancel := context.WithTimeout(ctx, 30*time.Second)
	defer gcancel()
	if s.bot, err = s.gitlab.CurrentUser(gctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("check the GitLab token: %w", err)
	}
	minAccess, _ := gitlab.ParseAccessLevel(cfg.MinAccess)
	ropts := mrreview.Options{GitLab: s.gitlab, Logger: log, MinAccess: minAccess, MaxInline: cfg.MaxInline, Cache: blobcache.New(s.pool)}
	if clone != nil && clone.enabled() {
		ropts.CloneSource = clone.source()
		r, err := clone.runner(log)
		if err != nil {
			s.pool.Close()
			return nil, err
		}
		ropts.Experimenter = r
	}
	hide, _ := cfg.visibility() // validated
	links := archive.Links{PublicURL: cfg.PublicURL, Visibility: hide}
	archiveHooks(&ropts, s.archive, links, log)
	var runner *dblab.Runner
	if r, ok := ropts.Experimenter.(*dblab.Runner); ok {
		runner = r
	}
	acfg := agentConfig{BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIAPIKey, Model: cfg.OpenAIModel, FetchHosts: cfg.FetchHosts}
	var bench agent.Benchmarker
	if cfg.BenchDSN != "" || cfg.BenchRunnerProject != "" {
		bench = agentBench{s}
	}
	ag, err := buildAgent(ctx, acfg, s.pool, runner, log, bench, cfg.GitLabToken.reveal(), cfg.WebhookSecret.reveal(), cfg.DatabaseURL.reveal(), cfg.BenchDSN.reveal())
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	if ag.explainer != nil {
		ropts.ExplainAll = ag.explainer.ExplainFindings
	}
	if ag.store != nil {
		// Projects named private by id leave the agent's public history
		// too (the /ui/ pages also hide them by path).
		for _, p := range cfg.PrivateProjects {
			if id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64); err == nil {
				if err := ag.store.SetProjectPrivate(ctx, id, true); err != nil {
					log.WarnContext(ctx, "mark project private", "project_id", id, "err", err)
				}
			}
		}
	}
	rev := mrreview.New(ropts)
	if s.bench, err = setupBench(ctx, s, rev); err != nil {
		s.pool.Close()
		return nil, err
	}
	exp := ag.experimenter()
	if exp != nil {
		exp = recordingExperimenter{exp} // experiments are archived with their MR (archiveExperiments)
	}
	for _, c := range agent.Commands(agent.MROptions{Agent: ag.agent, Store: ag.store, Experimenter: exp, Uploader: s.gitlab, Quota: cfg.AgentQuota, Logger: log}) {
		archiveExperiments(c, s.archive, links, log)
		rev.Register(c)
	}
	log.InfoContext(ctx, "agent", "llm", llmStatus(acfg), "knowledge_base", ag.kb != nil, "clone", runner != nil, "benchmarks", s.bench != nil, "quota", cfg.AgentQuota)
	s.queue, err = queue.New(s.pool, queue.Options{Workers: workers, Handler: rev, Logger: log,
		Observe: func(kind, outcome string, d time.Duration) {
			if kind == "review" {
				s.metrics.Review(outcome, d)
			}
		}})
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	s.metrics.QueueDepth = s.queue.Depth
	if err := s.queue.Start(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	log.InfoContext(ctx, "service started", "gitlab", cfg.GitLabURL, "bot", s.bot.Username, "workers", workers, "min_access", minAccess.String())
	return s, nil
}

// stop lets running reviews finish (up to 30s; after that they are
// cancelled and resume on the next start) and closes the pool.
func (s *service) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.queue.Stop(ctx); err != nil {
		s.log.Error("stop workers", "err", err)
	}
	if s.bench != nil {
		s.bench.Close()
	}
	s.pool.Close()
}

func serviceLogger(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug || os.Getenv("REVIEWER_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// parseServiceConfig parses the flags of serve or worker (which take no
// arguments) and loads and validates the service configuration; when ok is
// false the command ends with code.
func parseServiceConfig(name string, fs *flag.FlagSet, sf *serviceFlags, args []string, needSecret bool, stderr io.Writer) (cfg *serviceConfig, code int, ok bool) {
	if code, ok := parseFlags(fs, args); !ok {
		return nil, code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reviewer %s: unexpected argument %q\n", name, fs.Arg(0))
		return nil, exitError, false
	}
	cfg, err := sf.load(os.Getenv)
	if err == nil {
		err = cfg.validate(needSecret)
	}
	if err != nil {
		fmt.Fprintf(stderr, "reviewer %s: %v\n", name, err)
		return nil, exitError, false
	}
	return cfg, exitOK, true
}

func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServiceFlags(fs, true)
	clone := addCloneFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: reviewer serve [flags]\n\nReceives GitLab webhooks on POST /webhook/gitlab (also /healthz, /readyz, /metrics),")
		fmt.Fprintln(stderr, "serves the read-only history pages under /ui/ (reviews, experiments; public_url makes the summary note link them),")
		fmt.Fprintln(stderr, "queues reviews in PostgreSQL and runs them with in-process workers (see also: reviewer worker).")
		fmt.Fprintln(stderr, "Secrets come from the environment or the config file only: PGAI_GITLAB_TOKEN, PGAI_WEBHOOK_SECRET, PGAI_DATABASE_URL.\n\nFlags:")
		fs.PrintDefaults()
	}
	cfg, code, ok := parseServiceConfig("serve", fs, sf, args, true, stderr)
	if !ok {
		return code
	}
	log := serviceLogger(stderr, cfg.Debug)
	svc, err := startService(ctx, cfg, cfg.Workers, clone, log)
	if err != nil {
		log.Error("start", "err", err)
		return exitError
	}
	defer svc.stop()
	h, err := webhook.NewHandler(webhook.Options{
		Secret: cfg.WebhookSecret.reveal(), Enqueuer: svc.queue, BotUserID: svc.bot.ID, BotUsername: svc.bot.Username,
		SkipDrafts: cfg.SkipDrafts, Logger: log, Metrics: svc.metrics,
		Ready: func(ctx context.Context) error { return queue.Ready(ctx, svc.pool) },
	})
	if err != nil {
		log.Error("webhook", "err", err)
		return exitError
	}
	hide, _ := cfg.visibility()
	pages, err := ui.New(uiOptions(ctx, svc.pool, svc.archive, hide, log))
	if err != nil {
		log.Error("ui", "err", err)
		return exitError
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		log.Error("listen", "err", err)
		return exitError
	}
	srv := &http.Server{Handler: withUI(h, pages), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "reviewer serve: listening on %s\n", ln.Addr())
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Error("http server", "err", err)
		return exitError
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	return exitOK
}
