package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// runExperiment implements `reviewer experiment`: run SQL on a clone and
// print what it did (timings, locks with hold times and what they block,
// rewrites, scans, plans).
func runExperiment(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("experiment", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addCloneFlags(fs)
	var (
		sqlText  = fs.String("sql", "", "SQL to run (several statements allowed)")
		file     = fs.String("file", "", "file with the SQL to run (a migration file; - for standard input)")
		format   = fs.String("format", "text", "output format: text or json")
		assumeTx = fs.Bool("assume-in-transaction", false, "run plain SQL in one transaction (psql -1), as a migration tool would")
		verbose  = fs.Bool("v", false, "log progress to standard error")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: reviewer experiment [--clone local|dblab] [--source-dsn DSN] [--dblab-url URL --dblab-token TOKEN] (--sql "…" | --file F) [--format text|json]`)
		fmt.Fprintln(stderr, "\nRuns the SQL on a fresh clone (never on the source), measures every statement and destroys the clone.")
		fmt.Fprintln(stderr, "Exit status: 0 ran, 1 a statement failed or a blocking finding, 2 usage or clone error.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "reviewer experiment: "+format+"\n", a...)
		return exitError
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q (give the SQL with --sql or --file)", fs.Args())
	}
	if (*sqlText == "") == (*file == "") {
		return fail("give exactly one of --sql and --file")
	}
	if *format != "text" && *format != "json" {
		return fail("--format %q: want text or json", *format)
	}
	if !cf.enabled() {
		cf.resolve()
		switch {
		case cf.dblabURL != "":
			cf.mode = "dblab"
		case cf.sourceDSN != "":
			cf.mode = "local"
		default:
			return fail("no clone: give --clone local --source-dsn DSN or --clone dblab --dblab-url URL (or set PGAI_SOURCE_DSN / PGAI_DBLAB_URL)")
		}
	}
	name, src := "sql", []byte(*sqlText)
	if *file != "" {
		name = *file
		var err error
		if *file == "-" {
			name = "stdin.sql"
			src, err = io.ReadAll(io.LimitReader(stdin, maxStdin))
		} else {
			src, err = os.ReadFile(*file)
		}
		if err != nil {
			return fail("read SQL: %v", err)
		}
	}
	f := sqlparse.ParseFile(name, src, sqlparse.Options{AssumeInTransaction: *assumeTx})
	if !f.Analysed {
		return fail("%s: %s", name, f.SkippedReason)
	}
	for _, st := range f.Statements {
		if st.Err != nil {
			return fail("%v", st.Err)
		}
	}
	if len(f.Up()) == 0 {
		return fail("no SQL statement to run")
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose || os.Getenv("PGAI_DEBUG") == "1" {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r, err := cf.runner(logger)
	if err != nil {
		return fail("%v", err)
	}
	start := time.Now()
	res, err := r.Run(ctx, []*sqlparse.File{f})
	if res == nil {
		if code, ok := interruptCode(ctx); ok {
			fmt.Fprintln(stderr, "reviewer experiment: interrupted: not measured")
			return code
		}
		return fail("%v", err)
	}
	out := experimentOutput{Clone: cf.mode, DurationMS: float64(time.Since(start).Microseconds()) / 1000, Result: res}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(out); werr != nil {
			return fail("write: %v", werr)
		}
	} else {
		writeExperimentText(stdout, out)
	}
	if code, ok := interruptCode(ctx); ok {
		fmt.Fprintln(stderr, "reviewer experiment: interrupted: the statements from the interrupted one on were not measured")
		return code
	}
	if err != nil {
		return fail("%v", err)
	}
	for _, fd := range res.Findings {
		if fd.Blocking {
			return exitBlocking
		}
	}
	return exitOK
}

// experimentOutput is the JSON form of `reviewer experiment`.
type experimentOutput struct {
	Clone string `json:"clone"`
	// DurationMS includes making and destroying the clone.
	DurationMS float64 `json:"duration_ms"`
	*dblab.Result
}

func writeExperimentText(w io.Writer, out experimentOutput) {
	res := out.Result
	fmt.Fprintf(w, "Experiment on a %s clone: %d statements in %s (%s with the clone).\n", out.Clone, len(res.Measurements), dblab.HumanMS(res.DurationMS), dblab.HumanMS(out.DurationMS))
	for _, m := range res.Measurements {
		fmt.Fprintf(w, "\n%s:%d  %s\n", m.Path, m.Line, oneLine(m.Statement, 100))
		if !m.Measured() {
			fmt.Fprintf(w, "  %s\n", m.StatusText())
			continue
		}
		parts := []string{"duration " + dblab.HumanMS(m.DurationMS)}
		if m.Rows >= 0 {
			parts = append(parts, fmt.Sprintf("rows %d", m.Rows))
		}
		if m.WALBytes > 0 {
			parts = append(parts, "WAL "+dblab.HumanBytes(m.WALBytes))
		}
		if m.InTransaction {
			parts = append(parts, "in a transaction (locks held until it ends)")
		}
		fmt.Fprintf(w, "  %s\n", strings.Join(parts, " · "))
		if m.Error != "" {
			fmt.Fprintf(w, "  ERROR %s: %s\n", m.SQLState, m.Error)
		}
		if len(m.Locks) > 0 {
			fmt.Fprintln(w, "  locks:")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, l := range m.Locks {
				fmt.Fprintf(tw, "    %s\ton %s %s\theld %s\tblocks %s\n", checks.LockSQLName(l.Mode), l.Kind, l.Relation, dblab.HumanMS(l.HeldMS), strings.Join(l.Blocks, ", "))
			}
			tw.Flush()
		}
		if len(m.Rewritten) > 0 {
			fmt.Fprintf(w, "  rewritten: %s\n", strings.Join(m.Rewritten, ", "))
		}
		if len(m.Scanned) > 0 {
			fmt.Fprintf(w, "  scanned in full: %s\n", strings.Join(m.Scanned, ", "))
		}
		for _, s := range m.Sizes {
			fmt.Fprintf(w, "  size of %s: table %s → %s, indexes %s → %s\n", s.Relation,
				dblab.HumanBytes(s.TableBefore), dblab.HumanBytes(s.TableAfter), dblab.HumanBytes(s.IndexBefore), dblab.HumanBytes(s.IndexAfter))
		}
		for _, b := range m.Blocked {
			fmt.Fprintf(w, "  traffic: a %s on %s waited %s\n", b.Kind, b.Relation, dblab.HumanMS(b.MaxWaitMS))
		}
		if m.Plan != nil {
			fmt.Fprintln(w, "  plan:")
			writePlan(w, m.Plan)
		}
	}
	if res.Stopped != "" {
		fmt.Fprintf(w, "\nStopped: %s\n", res.Stopped)
	}
	if len(res.Findings) > 0 {
		fmt.Fprintln(w, "\nFindings:")
		fs := append([]checks.Finding(nil), res.Findings...)
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Line < fs[j].Line })
		for _, f := range fs {
			fmt.Fprintf(w, "  %s:%d %s [%s] %s\n", f.Path, f.Line, f.Severity, f.Rule, f.Message)
			if f.Measured != "" {
				fmt.Fprintf(w, "      measured: %s\n", f.Measured)
			}
			if f.Fix != "" {
				fmt.Fprintf(w, "      fix: %s\n", oneLine(f.Fix, 200))
			}
			fmt.Fprintf(w, "      docs: %s\n", f.DocsURL)
		}
	}
}

// writePlan prints the plan as EXPLAIN (ANALYZE, BUFFERS) prints it,
// indented under the statement.
func writePlan(w io.Writer, plan any) {
	for _, l := range strings.Split(strings.TrimRight(dblab.PlanText(plan), "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", l)
	}
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max-1] + "…"
	}
	return s
}
