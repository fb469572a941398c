// Command reviewer reviews PostgreSQL migrations: in a terminal, as a CI
// gate, and as a GitLab merge-request bot.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

func main() {
	ctx, stop := signalContext()
	unbound := func() {}
	if len(os.Args) > 1 && os.Args[1] == "check" {
		unbound = boundMemory()
	}
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	unbound()
	stop()
	os.Exit(code)
}

// interrupted is the cause of a context canceled by a signal.
type interrupted struct{ sig syscall.Signal }

func (e interrupted) Error() string { return "interrupted by " + e.sig.String() }

// signalContext is canceled by the first SIGINT or SIGTERM, with the
// signal as its cause (see interruptCode). Later signals are swallowed
// until stop: the run is already cleaning up (dropping its clone), and a
// second Ctrl-C must not kill it half way.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if sig, ok := s.(syscall.Signal); ok {
					cancel(interrupted{sig})
				} else {
					cancel(interrupted{syscall.SIGINT})
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() { signal.Stop(ch); close(done); cancel(nil) }
}

// interruptCode is the exit status of a run stopped by a signal (128 +
// the signal's number: 130 for SIGINT, 143 for SIGTERM), as shells report
// it, and whether ctx was stopped by one.
func interruptCode(ctx context.Context) (int, bool) {
	var in interrupted
	if errors.As(context.Cause(ctx), &in) {
		return 128 + int(in.sig), true
	}
	return 0, false
}

// Exit codes shared by every subcommand.
const (
	exitOK       = 0 // no blocking finding
	exitBlocking = 1 // blocking findings
	exitError    = 2 // usage, config or I/O error
)

type command struct {
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
	summary string
}

// commands is the table of subcommands. Each lives in its own file.
var commands = map[string]command{
	"bench":      {runBench, "pgbench benchmark of a dedicated PostgreSQL: 70+ artifacts per iteration, TPS and latency percentiles, A/B, plots"},
	"chat":       {runChat, "ask the LLM agent about PostgreSQL and migrations (knowledge base, experiments on clones); one question per line when piped"},
	"check":      {runCheck, "lint migrations (and measure them on a clone); the CI gate"},
	"ci":         {runCI, "GitLab CI merge-request gate: review, comment on the MR, write Code Quality and JUnit reports"},
	"experiment": {runExperiment, "run SQL on a clone and print timings, locks (hold times, what they block), rewrites and plans"},
	"kb":         {runKB, "knowledge base: ingest docs/source/articles/rules, search, stats, eval"},
	"rules":      {runRules, "list the rules, or print one rule's documentation"},
	"serve":      {runServe, "GitLab webhook receiver and review workers (/webhook/gitlab, /healthz, /readyz, /metrics)"},
	"version":    {runVersion, "print the version"},
	"worker":     {runWorker, "review workers only, sharing the queue with serve replicas"},
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "reviewer: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitError
	}
	return c.run(ctx, args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "pgai reviewer: reviews PostgreSQL migrations before they take production down.")
	fmt.Fprintln(w, "\nUsage: reviewer COMMAND [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'reviewer COMMAND -h' for a command's flags.")
}
