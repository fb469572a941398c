package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/config"
	"gitlab.com/pgai/reviewer/internal/livecat"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// maxStdin caps what `reviewer check -` reads.
const maxStdin = 64 << 20

var formats = []string{"text", "json", "codequality", "junit", "markdown"}

type output struct {
	format string
	file   string // "" = stdout
}

func parseOutputs(specs []string) ([]output, error) {
	if len(specs) == 0 {
		specs = []string{"text"}
	}
	var out []output
	toStdout := 0
	for _, s := range specs {
		f, file, _ := strings.Cut(s, "=")
		ok := false
		for _, known := range formats {
			ok = ok || f == known
		}
		if !ok {
			return nil, fmt.Errorf("--format %q: want one of %s, optionally =FILE", s, strings.Join(formats, ", "))
		}
		if file == "" || file == "-" {
			file = ""
			toStdout++
		}
		out = append(out, output{format: f, file: file})
	}
	if toStdout > 1 {
		return nil, errors.New("--format: only one format can go to standard output; give the others =FILE")
	}
	return out, nil
}

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		fmts, vars, ruleOpts multiFlag
		schemas              multiFlag
		schemaDSN            = fs.String("schema-dsn", "", "read the schema and table sizes of this live database (read only) before the migrations: `DSN`")
		configPath           = fs.String("config", "", "config file (default: .pgai.yml searched upward from the first path)")
		framework            = fs.String("framework", "", "migration framework: "+frameworkNames()+" (default: detected)")
		pgVersion            = fs.String("pg-version", "", "target PostgreSQL version, e.g. 15 or 14.3 (default 15)")
		failOn               = fs.String("fail-on", "", "lowest severity that fails the gate: error, warning, info (default error)")
		stdinName            = fs.String("stdin-filename", "stdin.sql", "file name to report for SQL read from standard input (-)")
		assumeTx             = fs.Bool("assume-in-transaction", false, "treat plain SQL files as run in one transaction (psql -1)")
		color                = fs.String("color", "auto", "colour text output: auto, always, never")
		brief                = fs.Bool("brief", false, "text output: one line per finding")
		verbose              = fs.Bool("v", false, "log progress to standard error")
		diff                 = fs.Bool("diff", false, "print the fixes that replace a statement as a unified diff for `git apply` instead of a report")
	)
	fs.Var(&fmts, "format", "output `FORMAT[=FILE]`: text, json, codequality, junit, markdown; repeatable")
	fs.Var(&vars, "var", "placeholder value `name=value` for ${name}, :name; repeatable")
	fs.Var(&ruleOpts, "rule", "rule setting `id=severity|on|off`; repeatable")
	fs.Var(&schemas, "schema", "schema `FILE` read before the migrations (pg_dump --schema-only, structure.sql, DDL); nothing in it is reported; repeatable (adds to .pgai.yml schema:)")
	clone := addCloneFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: reviewer check [flags] PATH... (files, directories, or - for standard input)")
		fmt.Fprintln(stderr, "\nExit status: 0 no blocking finding, 1 blocking findings, 2 usage, config or I/O error.\n\nFlags:")
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if code, ok := flagResult(err); !ok {
		return code
	}
	outs, err := parseOutputs(fmts)
	if err != nil {
		fmt.Fprintln(stderr, "reviewer check:", err)
		return exitError
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose || os.Getenv("PGAI_DEBUG") == "1" {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	// Configuration: the file, then flags on top.
	cfgFile := *configPath
	if cfgFile == "" {
		start := "."
		if len(paths) > 0 && paths[0] != "-" {
			start = paths[0]
			if st, err := os.Stat(start); err == nil && !st.IsDir() {
				start = filepath.Dir(start)
			}
		}
		cfgFile = config.Find(start)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		fmt.Fprintln(stderr, "reviewer check:", err)
		return exitError
	}
	var errs []error
	if *framework != "" {
		errs = append(errs, cfg.SetFramework(*framework))
	}
	if *pgVersion != "" {
		v, err := checks.ParseVersion(*pgVersion)
		errs = append(errs, err)
		cfg.Settings.PGVersion = v
	}
	if *failOn != "" {
		sev, err := checks.ParseSeverity(*failOn)
		errs = append(errs, err)
		cfg.Settings.FailOn = sev
	}
	for _, v := range vars {
		errs = append(errs, cfg.SetVar(v))
	}
	for _, r := range ruleOpts {
		id, val, ok := strings.Cut(r, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("--rule %q: want id=severity|on|off", r))
			continue
		}
		errs = append(errs, cfg.SetRule(id, val))
	}
	if *assumeTx {
		cfg.Parse.AssumeInTransaction = true
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(stderr, "reviewer check:", err)
		return exitError
	}
	if len(paths) == 0 {
		paths = cfg.Paths
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "reviewer check: no paths given (and no `paths` in .pgai.yml)")
		fs.Usage()
		return exitError
	}

	req := review.Request{Config: cfg, Schema: cfg.Schema, Schemas: append(cfg.Schemas, schemas...)}
	if *schemaDSN != "" {
		snap, err := livecat.Read(ctx, *schemaDSN)
		if err != nil {
			fmt.Fprintln(stderr, "reviewer check:", err)
			return exitError
		}
		logger.Debug("read live schema", "server", snap.Server, "tables", len(snap.Stats))
		req.Live = snap
	}
	for _, p := range paths {
		if p != "-" {
			req.Paths = append(req.Paths, p)
		}
	}
	if len(req.Paths) < len(paths) {
		b, err := io.ReadAll(io.LimitReader(stdin, maxStdin+1))
		if err != nil {
			fmt.Fprintln(stderr, "reviewer check: read standard input:", err)
			return exitError
		}
		req.Parsed = append(req.Parsed, sqlparse.ParseFile(*stdinName, b, cfg.Parse))
	}
	if clone.enabled() {
		r, err := clone.runner(logger)
		if err != nil {
			fmt.Fprintln(stderr, "reviewer check:", err)
			return exitError
		}
		req.Experimenter = r
	}
	if *diff {
		rep, err := review.Run(ctx, req)
		if err != nil {
			fmt.Fprintln(stderr, "reviewer check:", err)
			return exitError
		}
		if err := writeDiff(stdout, stderr, rep.Findings); err != nil {
			fmt.Fprintln(stderr, "reviewer check:", err)
			return exitError
		}
		if rep.Summary.Blocking > 0 {
			return exitBlocking
		}
		return exitOK
	}
	if len(outs) == 1 && outs[0].format == "text" && outs[0].file == "" && req.Experimenter == nil {
		// The common terminal case: print each file's findings as soon as
		// it is checked, so memory stays flat on large migration sets.
		tw := report.NewTextWriter(stdout, textOptions(stdout, *color, *brief))
		req.OnFile = func(f report.File, found []checks.Finding) error {
			if f.Path != "" {
				tw.File(f)
			}
			for _, fd := range found {
				tw.Finding(fd)
			}
			return nil
		}
		rep, err := review.Run(ctx, req)
		if err != nil {
			fmt.Fprintln(stderr, "reviewer check:", err)
			return exitError
		}
		if err := tw.Finish(rep); err != nil {
			fmt.Fprintln(stderr, "reviewer check: write text report:", err)
			return exitError
		}
		if rep.Summary.Blocking > 0 {
			return exitBlocking
		}
		return exitOK
	}
	rep, err := review.Run(ctx, req)
	if err != nil {
		if code, ok := interruptCode(ctx); ok {
			fmt.Fprintln(stderr, "reviewer check: interrupted")
			return code
		}
		fmt.Fprintln(stderr, "reviewer check:", err)
		return exitError
	}
	logger.Debug("review done", "files", rep.Summary.Files, "statements", rep.Summary.Statements, "findings", len(rep.Findings))
	for _, o := range outs {
		if err := writeOutput(o, rep, stdout, *color, *brief); err != nil {
			fmt.Fprintln(stderr, "reviewer check:", err)
			return exitError
		}
	}
	if rep.NotMeasured != "" {
		fmt.Fprintln(stderr, "reviewer check:", rep.NotMeasured)
	}
	if code, ok := interruptCode(ctx); ok && req.Experimenter != nil {
		// The static report was printed; the gate was not decided.
		return code
	}
	if rep.Summary.Blocking > 0 {
		return exitBlocking
	}
	return exitOK
}

func writeOutput(o output, rep *report.Report, stdout io.Writer, color string, brief bool) error {
	w := stdout
	var f *os.File
	if o.file != "" {
		if dir := filepath.Dir(o.file); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
		}
		var err error
		if f, err = os.Create(o.file); err != nil {
			return fmt.Errorf("create report: %w", err)
		}
		w = f
	}
	bw := bufio.NewWriter(w)
	var err error
	switch o.format {
	case "text":
		to := textOptions(stdout, color, brief)
		if f != nil {
			to.Color = color == "always"
		}
		err = report.WriteText(bw, rep, to)
	case "json":
		err = report.WriteJSON(bw, rep)
	case "codequality":
		err = report.WriteCodeQuality(bw, rep)
	case "junit":
		err = report.WriteJUnit(bw, rep)
	case "markdown":
		err = report.WriteMarkdown(bw, rep, report.MarkdownOptions{Commit: rep.Commit})
	}
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("write %s report: %w", o.format, err)
	}
	return nil
}

// textOptions picks colour for the text report: always, never, or auto
// (only on a terminal, and not when NO_COLOR is set).
func textOptions(w io.Writer, color string, brief bool) report.TextOptions {
	use := color == "always" || (color == "auto" && isTerminal(w) && os.Getenv("NO_COLOR") == "")
	return report.TextOptions{Color: use, Brief: brief}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func frameworkNames() string {
	var n []string
	for _, f := range sqlparse.Frameworks {
		n = append(n, string(f))
	}
	return strings.Join(n, ", ")
}

// writeDiff prints the findings' edits as one unified diff, file by file
// in the order the findings came, with paths relative to the repository
// root (the directory holding .git) so that `git apply` takes it there;
// outside a repository, relative to the working directory. When two edits
// touch the same lines, the more severe wins and the other is counted on
// stderr: apply, check again, and it shows.
func writeDiff(stdout, stderr io.Writer, findings []checks.Finding) error {
	var paths []string
	byPath := map[string][]checks.Finding{}
	for _, f := range findings {
		if f.Edit == nil || f.Refuted {
			continue
		}
		if _, ok := byPath[f.Path]; !ok {
			paths = append(paths, f.Path)
		}
		byPath[f.Path] = append(byPath[f.Path], f)
	}
	n, skipped := 0, 0
	bw := bufio.NewWriter(stdout)
	for _, p := range paths {
		fs := byPath[p]
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Severity > fs[j].Severity })
		src, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("diff: %w", err)
		}
		edits := make([]checks.Edit, len(fs))
		for i, f := range fs {
			edits[i] = *f.Edit
		}
		d, s := checks.UnifiedDiff(repoRelative(p), src, edits)
		bw.WriteString(d)
		skipped += s
		n += len(edits) - s
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write diff: %w", err)
	}
	msg := fmt.Sprintf("reviewer check --diff: %d %s", n, pluralWord(n, "fix", "fixes"))
	if skipped > 0 {
		msg += fmt.Sprintf("; %d more on the same lines (apply this diff and run it again)", skipped)
	}
	fmt.Fprintln(stderr, msg)
	return nil
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// repoRelative returns path relative to the root of the Git repository
// that holds it, or to the working directory outside one, with slashes.
func repoRelative(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			if rel, err := filepath.Rel(dir, abs); err == nil {
				return filepath.ToSlash(rel)
			}
			break
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(path)
}
