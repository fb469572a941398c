package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
	cfg, code, ok := parseServiceConfig("worker", fs, sf, args, false, stderr)
	if !ok {
		return code
	}
	if cfg.Workers == 0 {
		fmt.Fprintln(stderr, "reviewer worker: workers must be at least 1")
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
