package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/kb"
)

const kbUsage = `Usage: reviewer kb COMMAND [flags]

Commands:
  ingest   store sources in the knowledge base (and embed them when an API key is set)
             --docs DIR                 PostgreSQL HTML docs (e.g. /usr/share/doc/postgresql-doc-15/html)
             --source DIR --source-url BASE [--source-tag TAG] [--source-name NAME]
                                        a source tree; BASE may contain {tag}
             --articles MANIFEST        articles listed in a YAML/JSON manifest (permitted ones only)
             --rules [--rules-url URL]  the reviewer's own rule docs
  search   reviewer kb search "question" [--json] [--kind K] [--limit N] [--trust T] [--version V] [--mode M]
  stats    what the knowledge base holds, and whether search is hybrid or full-text only
  eval     hit@1/5/10 and MRR on the eval set, full-text only and hybrid [--json] [--set FILE]

Every command takes --database-url (default $PGAI_DATABASE_URL).
Embeddings: $PGAI_OPENAI_API_KEY (or $OPENAI_API_KEY), $PGAI_OPENAI_BASE_URL,
$PGAI_EMBEDDING_MODEL (default text-embedding-3-small), $PGAI_EMBEDDING_DIMENSIONS.
Without an API key the knowledge base works in full-text-only mode.
--local-hash-embedder uses a deterministic hashed character n-gram embedder instead:
it is NOT a language model; it exists for offline benchmarks and tests.
`

// runKB is the "kb" command: ingest, search, stats and eval.
func runKB(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, kbUsage)
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	sub, rest := args[0], args[1:]
	var err error
	switch sub {
	case "ingest":
		err = kbIngest(ctx, rest, stdout, stderr)
	case "search":
		err = kbSearch(ctx, rest, stdout, stderr)
	case "stats":
		err = kbStats(ctx, rest, stdout, stderr)
	case "eval":
		err = kbEval(ctx, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "reviewer kb: unknown command %q\n\n%s", sub, kbUsage)
		return exitError
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "reviewer kb %s: %v\n", sub, err)
		return exitError
	}
	return exitOK
}

// kbCommon are the flags every kb command takes.
type kbCommon struct {
	databaseURL string
	localHash   bool
	verbose     bool
}

func (c *kbCommon) register(fs *flag.FlagSet) {
	fs.StringVar(&c.databaseURL, "database-url", os.Getenv("PGAI_DATABASE_URL"), "PostgreSQL URL of the knowledge base (default $PGAI_DATABASE_URL)")
	fs.BoolVar(&c.localHash, "local-hash-embedder", false, "embed with the deterministic hashed n-gram embedder (not a language model; benchmarks only)")
	fs.BoolVar(&c.verbose, "v", false, "log details to stderr")
}

// open connects, migrates and builds the store with the configured embedder.
func (c *kbCommon) open(ctx context.Context, stderr io.Writer) (*kb.Store, func(), error) {
	if c.databaseURL == "" {
		return nil, nil, errors.New("no database: set PGAI_DATABASE_URL or --database-url")
	}
	pool, err := pgxpool.New(ctx, c.databaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	if err := kb.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	emb, err := c.embedder()
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	level := slog.LevelWarn
	if c.verbose || os.Getenv("PGAI_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return kb.NewStore(pool, kb.StoreOptions{Logger: logger, Embedder: emb}), pool.Close, nil
}

// embedder reads the embedding configuration from the environment; nil
// means full-text-only mode.
func (c *kbCommon) embedder() (kb.Embedder, error) {
	if c.localHash {
		return kb.HashEmbedder{Dims: 256}, nil
	}
	key := os.Getenv("PGAI_OPENAI_API_KEY")
	if key == "" {
		key = os.Getenv("OPENAI_API_KEY")
	}
	if key == "" {
		return nil, nil
	}
	dims := 0
	if s := os.Getenv("PGAI_EMBEDDING_DIMENSIONS"); s != "" {
		d, err := strconv.Atoi(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("PGAI_EMBEDDING_DIMENSIONS=%q: want a positive number", s)
		}
		dims = d
	}
	return kb.NewOpenAIEmbedder(kb.OpenAIOptions{
		APIKey:     key,
		BaseURL:    os.Getenv("PGAI_OPENAI_BASE_URL"),
		Model:      os.Getenv("PGAI_EMBEDDING_MODEL"),
		Dimensions: dims,
	})
}

func kbIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reviewer kb ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c kbCommon
	c.register(fs)
	docs := fs.String("docs", "", "folder of the PostgreSQL HTML docs")
	pgVersion := fs.String("pg-version", "", "PostgreSQL major version of the docs or source (default: read from the docs)")
	source := fs.String("source", "", "source tree to ingest")
	sourceURL := fs.String("source-url", "", "browsable base URL of the source tree, may contain {tag}")
	sourceTag := fs.String("source-tag", "", "tag or commit substituted for {tag} in --source-url")
	sourceName := fs.String("source-name", "", "short name of the source tree (default: folder name)")
	articles := fs.String("articles", "", "manifest of articles (YAML or JSON)")
	rules := fs.Bool("rules", false, "ingest the reviewer's own rule docs")
	rulesURL := fs.String("rules-url", "https://gitlab.com/pgai/reviewer/-/blob/main/README.md#rules", "where the rule docs are published; {id} is replaced by the rule id")
	noEmbed := fs.Bool("no-embed", false, "store chunks only, do not compute embeddings")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *docs == "" && *source == "" && *articles == "" && !*rules {
		return errors.New("nothing to ingest: give --docs, --source, --articles or --rules")
	}
	if *source != "" && *sourceURL == "" {
		return errors.New("--source needs --source-url, the browsable base URL used in citations")
	}
	store, closeDB, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	type job struct {
		collection string
		load       func() ([]kb.Document, error)
	}
	var jobs []job
	if *docs != "" {
		jobs = append(jobs, job{"", func() ([]kb.Document, error) {
			return kb.ParseDocsDir(*docs, kb.DocsOptions{Version: *pgVersion})
		}})
	}
	if *source != "" {
		jobs = append(jobs, job{"", func() ([]kb.Document, error) {
			return kb.ParseSourceTree(*source, kb.SourceOptions{BaseURL: *sourceURL, Tag: *sourceTag, Name: *sourceName, PGVersion: *pgVersion})
		}})
	}
	if *articles != "" {
		jobs = append(jobs, job{"articles:" + *articles, func() ([]kb.Document, error) {
			ds, skipped, err := kb.ParseArticles(*articles)
			for _, t := range skipped {
				fmt.Fprintf(stderr, "skipped (no permission from the author): %s\n", t)
			}
			return ds, err
		}})
	}
	if *rules {
		jobs = append(jobs, job{"rules", func() ([]kb.Document, error) {
			return kb.RuleDocuments(ruleDocs(), *rulesURL, ""), nil
		}})
	}
	for _, j := range jobs {
		start := time.Now()
		ds, err := j.load()
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			return errors.New("no documents found")
		}
		collection := j.collection
		if collection == "" {
			// docs:15 or source:postgres: one collection per docs version
			// or tree, so re-ingesting removes vanished pages.
			key := ds[0].Key
			collection = key[:strings.LastIndex(key, ":")]
		}
		fmt.Fprintf(stderr, "%s: %d documents read in %s\n", collection, len(ds), time.Since(start).Round(time.Millisecond))
		bar := newProgressBar(stderr, "storing")
		st, err := store.Ingest(ctx, collection, ds, bar.update)
		bar.done()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s\n", collection, st)
	}
	if store.Embedder() == nil {
		fmt.Fprintln(stdout, "embeddings: none (no API key: set PGAI_OPENAI_API_KEY); search runs in full-text-only mode")
		return nil
	}
	if *noEmbed {
		fmt.Fprintln(stdout, "embeddings: skipped (--no-embed)")
		return nil
	}
	bar := newProgressBar(stderr, "embedding")
	es, err := store.Embed(ctx, bar.update)
	bar.done()
	if err != nil {
		return fmt.Errorf("%w (stored embeddings are kept; run ingest again to resume)", err)
	}
	fmt.Fprintf(stdout, "embeddings: %d chunks embedded with %s in %s\n", es.Embedded, es.Model, es.Duration.Round(time.Millisecond))
	return nil
}

// ruleDocs converts the rule catalogue for the knowledge base.
func ruleDocs() []kb.RuleDoc {
	var out []kb.RuleDoc
	for _, r := range checks.All() {
		d := kb.RuleDoc{ID: r.ID, Summary: r.Summary, Why: r.Why, Fix: r.Fix, DocsURL: r.DocsURL}
		for _, fx := range checks.Fixtures(r.ID) {
			d.Examples = append(d.Examples, kb.RuleExample{Name: fx.Name, Bad: fx.Sections["bad.sql"], Good: fx.Sections["good.sql"]})
		}
		out = append(out, d)
	}
	return out
}

func kbSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reviewer kb search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c kbCommon
	c.register(fs)
	asJSON := fs.Bool("json", false, "print results as JSON")
	limit := fs.Int("limit", 5, "number of results (1-100)")
	var kinds multiFlag
	fs.Var(&kinds, "kind", "only this kind of source: docs, source, article, mailing_list, web, rules (repeatable)")
	trust := fs.String("trust", "unknown", "minimum trust level: unknown, high, highest")
	version := fs.String("version", "", "only this PostgreSQL major version (and version-independent sources)")
	mode := fs.String("mode", "", "hybrid, fulltext or vector (default: hybrid when embeddings exist)")
	vecWeight := fs.Float64("vector-weight", 1, "hybrid: fusion weight of the vector ranks against the full-text ones (see kb eval --vector-weights)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	query := strings.TrimSpace(strings.Join(pos, " "))
	if query == "" {
		return errors.New(`no query: reviewer kb search "why does SET NOT NULL scan the whole table"`)
	}
	if *vecWeight <= 0 {
		return fmt.Errorf("--vector-weight %v: want a positive number", *vecWeight)
	}
	opts := kb.SearchOptions{Limit: *limit, Version: *version, Mode: kb.Mode(*mode), VectorWeight: *vecWeight}
	if *limit < 1 || *limit > 100 {
		return fmt.Errorf("--limit %d: want 1 to 100", *limit)
	}
	for _, k := range kinds {
		kind, err := kb.ParseKind(k)
		if err != nil {
			return err
		}
		opts.Kinds = append(opts.Kinds, kind)
	}
	if opts.MinTrust, err = kb.ParseTrust(*trust); err != nil {
		return err
	}
	store, closeDB, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	rs, err := store.Search(ctx, query, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		if rs == nil {
			rs = []kb.Result{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
	}
	if len(rs) == 0 {
		fmt.Fprintln(stdout, "no results")
		return nil
	}
	for i, r := range rs {
		fmt.Fprintf(stdout, "%d. %s\n   %s\n   %s · %s · score %.4f\n   %s\n\n", i+1, r.Heading, r.URL, r.Kind, r.Author, r.Score,
			strings.ReplaceAll(r.Snippet, "\n", " "))
	}
	return nil
}

func kbStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reviewer kb stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c kbCommon
	c.register(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	store, closeDB, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	st, err := store.Stats(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSOURCES\tCHUNKS\tLAST FETCHED")
	for _, k := range st.Sources {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", k.Kind, k.Sources, k.Chunks, k.LastFetched.UTC().Format(time.RFC3339))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d chunks, about %d tokens\n", st.Chunks, st.Tokens)
	for _, m := range st.Models {
		fmt.Fprintf(stdout, "embeddings: %s, %d dimensions, %d of %d chunks\n", m.Model, m.Dimensions, m.Embedded, st.Chunks)
	}
	switch {
	case st.Embedder == "":
		fmt.Fprintln(stdout, "mode: full-text only (no embedding API key: set PGAI_OPENAI_API_KEY for hybrid search)")
	case st.Mode == kb.ModeHybrid:
		fmt.Fprintf(stdout, "mode: hybrid (full text + %s vectors)\n", st.Embedder)
	default:
		fmt.Fprintf(stdout, "mode: full-text only (no embeddings stored for %s yet: run reviewer kb ingest)\n", st.Embedder)
	}
	return nil
}

func kbEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reviewer kb eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c kbCommon
	c.register(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	set := fs.String("set", "", "eval set (JSON lines of {question, want, slice}); default: the built-in PostgreSQL 15 set")
	showMisses := fs.Bool("misses", false, "list the questions missed in the top 10")
	weightList := fs.String("vector-weights", "1", "comma-separated fusion weights of the vector side: one hybrid row each")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	weights, err := parseWeights(*weightList)
	if err != nil {
		return err
	}
	cases, err := kb.DefaultEvalSet()
	if *set != "" {
		f, ferr := os.Open(*set)
		if ferr != nil {
			return ferr
		}
		cases, err = kb.ReadEvalSet(f)
		f.Close()
	}
	if err != nil {
		return err
	}
	store, closeDB, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	st, err := store.Stats(ctx)
	if err != nil {
		return err
	}
	runs := []kb.SearchOptions{{Mode: kb.ModeFullText}}
	note := ""
	switch {
	case st.Embedder == "":
		note = "hybrid: not run (no embedding API key: set PGAI_OPENAI_API_KEY, or --local-hash-embedder for the non-semantic local stand-in)"
	case st.Mode != kb.ModeHybrid:
		note = "hybrid: not run (no embeddings stored for " + st.Embedder + ": run reviewer kb ingest first)"
	default:
		runs = append(runs, kb.SearchOptions{Mode: kb.ModeVector})
		for _, w := range weights {
			runs = append(runs, kb.SearchOptions{Mode: kb.ModeHybrid, VectorWeight: w})
		}
	}
	var reps []kb.EvalReport
	for _, o := range runs {
		rep, err := store.Evaluate(ctx, cases, o)
		if err != nil {
			return err
		}
		reps = append(reps, rep)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Reports []kb.EvalReport `json:"reports"`
			Note    string          `json:"note,omitempty"`
		}{reps, note})
	}
	fmt.Fprintf(stdout, "%d questions (page-level hits; anchor-level for the %d questions naming a section)\n", len(cases), reps[0].AnchorQuestions)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tMODEL\tHIT@1\tHIT@5\tHIT@10\tMRR\tANCHOR HIT@10\tANCHOR MRR")
	for _, r := range reps {
		model := r.Model
		if model == "" {
			model = "-"
		}
		mode := string(r.Mode)
		if r.Mode == kb.ModeHybrid && len(weights) > 1 {
			mode += fmt.Sprintf(" w=%g", weightOrOne(r.VectorWeight))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n", mode, model, r.Hit1, r.Hit5, r.Hit10, r.MRR, r.AnchorHit10, r.AnchorMRR)
	}
	tw.Flush()
	if strings.HasPrefix(st.Embedder, "local-hash") {
		fmt.Fprintln(stdout, "note: vectors come from the local hashed n-gram embedder, not a language model")
	}
	if note != "" {
		fmt.Fprintln(stdout, note)
	}
	if *showMisses {
		for _, r := range reps {
			mode := string(r.Mode)
			if r.Mode == kb.ModeHybrid && len(weights) > 1 {
				mode += fmt.Sprintf(" w=%g", weightOrOne(r.VectorWeight))
			}
			for _, q := range r.Misses {
				fmt.Fprintf(stdout, "miss (%s): %s\n", mode, q)
			}
		}
	}
	return nil
}

// parseWeights reads a comma-separated list of vector fusion weights.
func parseWeights(list string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(list, ",") {
		w, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("--vector-weights %q: want positive numbers separated by commas", list)
		}
		out = append(out, w)
	}
	return out, nil
}

func weightOrOne(w float64) float64 {
	if w == 0 {
		return 1
	}
	return w
}

// progressBar draws "label [=====     ] 40% 460/1152 item" on stderr,
// redrawing only when the percentage changes.
type progressBar struct {
	w     io.Writer
	label string
	last  int
	drawn bool
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, last: -1}
}

func (p *progressBar) update(done, total int, item string) {
	if total <= 0 {
		return
	}
	pct := done * 100 / total
	if pct == p.last && done != total {
		return
	}
	p.last = pct
	if !isTerminal(p.w) {
		// In a log, one line per 10% instead of a redrawn bar.
		if pct%10 == 0 || done == total {
			fmt.Fprintf(p.w, "%s %3d%% %d/%d\n", p.label, pct, done, total)
		}
		return
	}
	const width = 30
	filled := pct * width / 100
	if len(item) > 40 {
		item = "…" + item[len(item)-39:]
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %3d%% %d/%d %-40s", p.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), pct, done, total, item)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
