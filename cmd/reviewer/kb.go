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
	"path/filepath"
	"slices"
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
             --source DIR               a source tree (repeatable); PostgreSQL, PgBouncer, pgvector
                                        and Patroni trees fetched by scripts/kb-fetch (or unpacked by
                                        apt-get source) are recognised: release tag, upstream URL,
                                        version and author come from the tree
             --source DIR --source-url BASE [--source-tag TAG] [--source-name NAME]
                                        any other tree; BASE may contain {tag}
             --articles MANIFEST        articles listed in a YAML/JSON manifest (permitted ones only)
             --rules [--rules-url URL]  the reviewer's own rule docs (docs/rules/<id>.md pages)
  search   reviewer kb search "question" [--json] [--kind K] [--limit N] [--trust T] [--version V] [--mode M]
  stats    what the knowledge base holds, and whether search is hybrid or full-text only
  eval     hit@1/5/10 and MRR on the eval set, full-text only and hybrid [--json] [--set FILE]
  rule-docs  regenerate docs/rules/<id>.md, one page per rule of the catalogue [--dir DIR]

Sources: scripts/kb-fetch downloads PostgreSQL 15 and 17, PgBouncer, pgvector and
Patroni from Debian's package registry (apt-get source) into ~/.cache/pgai-kb.

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
	case "rule-docs":
		err = kbRuleDocs(rest, stdout, stderr)
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
	return c.openWith(ctx, stderr, kb.StoreOptions{})
}

// openWith is open with store options (the logger and embedder are set here).
func (c *kbCommon) openWith(ctx context.Context, stderr io.Writer, so kb.StoreOptions) (*kb.Store, func(), error) {
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
	so.Logger, so.Embedder = logger, emb
	return kb.NewStore(pool, so), pool.Close, nil
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
	var sources multiFlag
	fs.Var(&sources, "source", "source tree to ingest (repeatable)")
	sourceURL := fs.String("source-url", "", "browsable base URL of the source tree, may contain {tag}")
	sourceTag := fs.String("source-tag", "", "tag or commit substituted for {tag} in --source-url")
	sourceName := fs.String("source-name", "", "short name of the source tree (default: folder name)")
	articles := fs.String("articles", "", "manifest of articles (YAML or JSON)")
	rules := fs.Bool("rules", false, "ingest the reviewer's own rule docs")
	rulesURL := fs.String("rules-url", kb.DefaultRulesURL, "where the rule pages are published; {id} is replaced by the rule id")
	noEmbed := fs.Bool("no-embed", false, "store chunks only, do not compute embeddings")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *docs == "" && len(sources) == 0 && *articles == "" && !*rules {
		return errors.New("nothing to ingest: give --docs, --source, --articles or --rules")
	}
	// Everything is checked before anything is stored: a bad URL template
	// or an unknown tree fails the run up front.
	type tree struct {
		dir  string
		opts kb.SourceOptions
	}
	var trees []tree
	for _, dir := range sources {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("--source %s: not a directory", dir)
		}
		opts, info, known, err := kb.DetectSource(dir)
		if err != nil {
			return err
		}
		if *sourceURL != "" {
			opts = kb.SourceOptions{BaseURL: *sourceURL, Tag: *sourceTag, Name: *sourceName, PGVersion: *pgVersion}
		} else if !known {
			return fmt.Errorf("--source %s: not a tree kb knows (PostgreSQL, PgBouncer, pgvector or Patroni from scripts/kb-fetch or apt-get source): give --source-url, the browsable base URL used in citations", dir)
		} else {
			fmt.Fprintf(stderr, "%s: %s %s, cited at %s\n", dir, info.Project, info.Version, strings.ReplaceAll(opts.BaseURL, "{tag}", opts.Tag))
		}
		if err := kb.ValidateURLTemplate(opts.BaseURL, "{tag}"); err != nil {
			return fmt.Errorf("--source %s: %w", dir, err)
		}
		trees = append(trees, tree{dir, opts})
	}
	if *rules {
		if err := kb.ValidateURLTemplate(*rulesURL, "{id}"); err != nil {
			return fmt.Errorf("--rules-url: %w", err)
		}
		if !strings.Contains(*rulesURL, "{id}") {
			return fmt.Errorf("--rules-url %s has no {id}: every rule needs its own page", *rulesURL)
		}
	}
	// One rebuild of the posting lists after every collection is stored.
	store, closeDB, err := c.openWith(ctx, stderr, kb.StoreOptions{DeferRefresh: true})
	if err != nil {
		return err
	}
	defer closeDB()
	changed := false
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
	for _, t := range trees {
		jobs = append(jobs, job{"", func() ([]kb.Document, error) {
			notes := map[string]int{}
			t.opts.Notes = func(path, reason string) {
				notes[reason]++
				if c.verbose {
					fmt.Fprintf(stderr, "note: %s: %s\n", path, reason)
				}
			}
			ds, err := kb.ParseSourceTree(t.dir, t.opts)
			for reason, n := range notes {
				fmt.Fprintf(stderr, "%s: %d files %s (-v lists them)\n", t.dir, n, reason)
			}
			return ds, err
		}})
	}
	if *articles != "" {
		col := *articles
		if abs, err := filepath.Abs(col); err == nil {
			col = abs
		}
		jobs = append(jobs, job{"articles:" + col, func() ([]kb.Document, error) {
			ds, skipped, err := kb.ParseArticles(*articles)
			if err != nil {
				return nil, err
			}
			for _, t := range skipped {
				fmt.Fprintf(stderr, "skipped (no permission from the author): %s\n", t)
			}
			// Revoked articles go, whichever collection stored them.
			revoked, err := kb.ArticleRevocations(*articles)
			if err != nil {
				return nil, err
			}
			n, err := store.Remove(ctx, revoked)
			if n > 0 {
				changed = true
				fmt.Fprintf(stdout, "articles: %d removed (permission revoked)\n", n)
			}
			return ds, err
		}})
	}
	if *rules {
		jobs = append(jobs, job{"rules", func() ([]kb.Document, error) {
			return kb.RuleDocuments(ruleDocs(), *rulesURL, "")
		}})
	}
	for _, j := range jobs {
		start := time.Now()
		ds, err := j.load()
		if err != nil {
			return err
		}
		if len(ds) == 0 && j.collection == "" {
			return errors.New("no documents found")
		}
		// One collection per docs version or tree part (docs:15,
		// source:postgresql-15, docs:pgbouncer), so re-ingesting removes
		// vanished pages. An articles manifest is its own collection even
		// when nothing in it is permitted any more: ingesting it then
		// removes every article it had (revoked permission).
		var order []string
		groups := map[string][]kb.Document{}
		if j.collection != "" {
			order = append(order, j.collection)
			groups[j.collection] = ds
		} else {
			for _, d := range ds {
				col := d.Key[:strings.LastIndex(d.Key, ":")]
				if _, ok := groups[col]; !ok {
					order = append(order, col)
				}
				groups[col] = append(groups[col], d)
			}
		}
		for _, collection := range order {
			fmt.Fprintf(stderr, "%s: %d documents read in %s\n", collection, len(groups[collection]), time.Since(start).Round(time.Millisecond))
			bar := newProgressBar(stderr, "storing")
			st, err := store.Ingest(ctx, collection, groups[collection], bar.update)
			bar.done()
			if st.Added+st.Updated+st.Removed > 0 {
				changed = true
			}
			if err != nil {
				if changed {
					err = errors.Join(err, store.RefreshLexemes(context.WithoutCancel(ctx)))
				}
				return err
			}
			fmt.Fprintf(stdout, "%s: %s\n", collection, st)
		}
	}
	if changed {
		start := time.Now()
		if err := store.RefreshLexemes(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "full-text index rebuilt in %s\n", time.Since(start).Round(time.Millisecond))
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
	trust := fs.String("trust", "unknown", "minimum trust level: unknown, reviewer, high, highest")
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
	// A version the knowledge base does not hold would silently give
	// version-independent results only, and one held in part (PostgreSQL
	// 17's docs but not its source) would read as "no code": say so.
	versionNote := ""
	if opts.Version != "" {
		vk, err := store.VersionKinds(ctx)
		if err != nil {
			return err
		}
		if len(vk[opts.Version]) == 0 {
			have, err := store.Versions(ctx)
			if err != nil {
				return err
			}
			msg := fmt.Sprintf("no results: the knowledge base has no PostgreSQL %s docs or source (it has: %s); search without --version, or fetch and ingest version %s (scripts/kb-fetch, reviewer kb ingest)",
				opts.Version, orNone(have), opts.Version)
			if *asJSON {
				return writeSearchJSON(stdout, kbSearchOutput{Query: query, SearchedFor: query, Note: msg, Results: []kb.Result{}})
			}
			fmt.Fprintln(stdout, msg)
			return nil
		}
		for _, k := range []kb.Kind{kb.KindDocs, kb.KindSource} {
			if (len(opts.Kinds) == 0 || slices.Contains(opts.Kinds, k)) && !slices.Contains(vk[opts.Version], k) {
				versionNote = fmt.Sprintf("note: the knowledge base has no PostgreSQL %s %s (only %s)", opts.Version, k, kindList(vk[opts.Version]))
			}
		}
	}
	rs, searched, err := store.SearchExplained(ctx, query, opts)
	if err != nil {
		return err
	}
	sugg := searched.Suggestions
	if *asJSON {
		return writeSearchJSON(stdout, kbSearchOutput{Query: query, SearchedFor: searched.Query, Corrections: searched.Corrections,
			NotFound: searched.Unknown, Suggestions: sugg, Note: versionNote, Results: rs})
	}
	if len(rs) == 0 {
		fmt.Fprintln(stdout, "no results")
		if len(sugg) > 0 {
			fmt.Fprintf(stdout, "did you mean %s?\n", kb.SuggestionText(sugg))
		}
		return nil
	}
	if len(searched.Corrections) > 0 {
		fmt.Fprintf(stdout, "searched for: %s (corrected %s)\n", searched.Query, kb.SuggestionText(searched.Corrections))
	}
	if len(searched.Unknown) > 0 {
		fmt.Fprintf(stdout, "not found anywhere in the knowledge base: %s\n", quotedList(searched.Unknown))
	}
	if versionNote != "" {
		fmt.Fprintln(stdout, versionNote)
	}
	if len(searched.Corrections) > 0 || len(searched.Unknown) > 0 || versionNote != "" {
		fmt.Fprintln(stdout)
	}
	for i, r := range rs {
		fmt.Fprintf(stdout, "%d. %s\n   %s\n   %s\n   %s\n\n", i+1, shortHeading(r.Heading), r.URL, resultLine(r),
			strings.ReplaceAll(r.Snippet, "\n", " "))
	}
	return nil
}

// kbSearchOutput is what `kb search --json` prints: always one object.
type kbSearchOutput struct {
	Query string `json:"query"`
	// SearchedFor is the query as searched, with misspelt words corrected.
	SearchedFor string          `json:"searched_for"`
	Corrections []kb.Suggestion `json:"corrections"`
	// NotFound are words found nowhere in the knowledge base.
	NotFound []string `json:"not_found"`
	// Suggestions are close words, when nothing was found.
	Suggestions []kb.Suggestion `json:"suggestions"`
	Note        string          `json:"note"`
	Results     []kb.Result     `json:"results"`
}

// writeSearchJSON prints out with every key, empty lists as [].
func writeSearchJSON(w io.Writer, out kbSearchOutput) error {
	if out.Corrections == nil {
		out.Corrections = []kb.Suggestion{}
	}
	if out.NotFound == nil {
		out.NotFound = []string{}
	}
	if out.Suggestions == nil {
		out.Suggestions = []kb.Suggestion{}
	}
	if out.Results == nil {
		out.Results = []kb.Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// shortHeading cuts each part of a heading path to 80 characters: a
// command form's synopsis can run to 300 ("REFERENCES reftable [ (
// refcolumn ) ] [ MATCH …"). The JSON output keeps the whole heading.
func shortHeading(h string) string {
	parts := strings.Split(h, kb.HeadingSep)
	for i, p := range parts {
		if r := []rune(p); len(r) > 80 {
			parts[i] = strings.TrimSpace(string(r[:79])) + "…"
		}
	}
	return strings.Join(parts, kb.HeadingSep)
}

// kindList renders kinds as "docs, source".
func kindList(ks []kb.Kind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}

// quotedList renders words as "a", "b".
func quotedList(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	return strings.Join(q, ", ")
}

// resultLine is what a reader weighs a result by: kind, trust, version,
// author and score (the 0-1 full-text match; RRF score in hybrid mode).
func resultLine(r kb.Result) string {
	parts := []string{string(r.Kind), "trust " + r.Trust}
	switch {
	case r.PGVersion != "" && len(r.AlsoIn) > 0:
		parts = append(parts, "PostgreSQL "+r.PGVersion+" (also "+strings.Join(r.AlsoIn, ", ")+")")
	case r.PGVersion != "":
		parts = append(parts, "PostgreSQL "+r.PGVersion)
	case r.Kind == kb.KindDocs || r.Kind == kb.KindSource:
		// A related project's release: "PgBouncer 1.24.1: src/admin.c".
		if project, _, ok := strings.Cut(r.Title, ": "); ok {
			parts = append(parts, strings.TrimSuffix(project, " docs"))
		}
	}
	parts = append(parts, r.Author)
	if r.VectorRank > 0 {
		parts = append(parts, fmt.Sprintf("score %.4f (hybrid; text match %.2f)", r.Score, r.Match))
	} else {
		// Results are in score order: the text match weighed by the kind
		// of source and by the rest of its page.
		parts = append(parts, fmt.Sprintf("score %.2f (text match %.2f)", r.Score, r.Match))
	}
	return strings.Join(parts, " · ")
}

func orNone(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, ", ")
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
	set := fs.String("set", "", "eval set: a file of JSON lines of {question, want, slice}, or \"holdout\" for the built-in held-out set; default: the built-in set")
	showMisses := fs.Bool("misses", false, "list the questions missed in the top 10")
	showRanks := fs.Bool("ranks", false, "list every question with the rank of its answer (0: not in the top 10) and the first result")
	var params []string
	fs.Func("param", "set a ranking parameter for this run, NAME=VALUE (repeatable; measures a change before it becomes the default)", func(v string) error {
		params = append(params, v)
		return nil
	})
	weightList := fs.String("vector-weights", "1", "comma-separated fusion weights of the vector side: one hybrid row each")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	weights, err := parseWeights(*weightList)
	if err != nil {
		return err
	}
	for _, p := range params {
		name, val, ok := strings.Cut(p, "=")
		f, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil {
			return fmt.Errorf("--param %q: want NAME=NUMBER", p)
		}
		if err := kb.SetRankingParam(name, f); err != nil {
			return fmt.Errorf("--param: %w", err)
		}
	}
	cases, err := kb.DefaultEvalSet()
	if *set == "holdout" {
		cases, err = kb.HoldoutEvalSet()
	} else if *set != "" {
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
	if sl := reps[0].Slices; len(sl) > 1 {
		names := make([]string, 0, len(sl))
		for n := range sl {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprintf(stdout, "\nby slice (%s):\n", reps[0].Mode)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLICE\tQUESTIONS\tHIT@1\tHIT@5\tHIT@10\tMRR")
		for _, n := range names {
			r := sl[n]
			fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n", n, r.Questions, r.Hit1, r.Hit5, r.Hit10, r.MRR)
		}
		tw.Flush()
	}
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
	if *showRanks {
		for _, r := range reps {
			fmt.Fprintf(stdout, "\nranks (%s): rank, slice, question, wanted page, first result\n", r.Mode)
			for _, c := range r.Cases {
				fmt.Fprintf(stdout, "%2d  %-9s  %s  want %s  first %s\n", c.Rank, c.Slice, c.Question, c.Want, c.Top)
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
