package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// runWorker runs review workers without the webhook receiver: several
// `reviewer worker` processes (and `reviewer serve` replicas) share the
// queue in PostgreSQL.
func runWorker(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServiceFlags(fs, false)
	clone := addCloneFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: reviewer worker [flags]\n\nRuns queued reviews and /pgai commands (the receiver is `reviewer serve`).")
		fmt.Fprintln(stderr, "Secrets come from the environment or the config file: PGAI_GITLAB_TOKEN, PGAI_DATABASE_URL.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reviewer worker: unexpected argument %q\n", fs.Arg(0))
		return exitError
	}
	cfg, err := sf.load(os.Getenv)
	if err == nil {
		err = cfg.validate(false)
	}
	if err == nil && cfg.Workers == 0 {
		err = errors.New("workers must be at least 1")
	}
	if err != nil {
		fmt.Fprintf(stderr, "reviewer worker: %v\n", err)
		return exitError
	}
	log := serviceLogger(stderr, cfg.Debug)
	svc, err := startService(ctx, cfg, cfg.Workers, clone, log)
	if err != nil {
		log.Error("start", "err", err)
		return exitError
	}
	<-ctx.Done()
	log.Info("shutting down; letting running reviews finish")
	svc.stop()
	return exitOK
}
