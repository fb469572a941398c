package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/dle"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// cloneFlags are the flags that run migrations on a clone, shared by
// `reviewer check` and `reviewer experiment`.
type cloneFlags struct {
	mode                          string
	sourceDSN                     string
	dblabURL, dblabToken          string
	lockTimeout, statementTimeout time.Duration
	deadline                      time.Duration
	probe                         bool
	keepAlive                     time.Duration
	strategy, prefix              string
	harmless                      time.Duration
}

// addCloneFlags declares the clone flags on fs. Defaults for the DSN, URL
// and token come from PGAI_SOURCE_DSN, PGAI_DBLAB_URL and
// PGAI_DBLAB_TOKEN when the flags are not given (read at run time, so
// that -h never prints a secret).
func addCloneFlags(fs *flag.FlagSet) *cloneFlags {
	c := &cloneFlags{}
	fs.StringVar(&c.mode, "clone", "", "run the migrations on a clone and measure them: local (CREATE DATABASE … TEMPLATE on the source's server) or dblab (DBLab Engine thin clone)")
	fs.StringVar(&c.sourceDSN, "source-dsn", "", "database to clone with --clone local (default $PGAI_SOURCE_DSN); it is never changed")
	fs.StringVar(&c.dblabURL, "dblab-url", "", "DBLab Engine API URL for --clone dblab (default $PGAI_DBLAB_URL)")
	fs.StringVar(&c.dblabToken, "dblab-token", "", "DBLab verification token (default $PGAI_DBLAB_TOKEN)")
	fs.DurationVar(&c.lockTimeout, "lock-timeout", 10*time.Second, "lock_timeout for each statement on the clone")
	fs.DurationVar(&c.statementTimeout, "statement-timeout", 30*time.Minute, "statement_timeout for each statement on the clone")
	fs.DurationVar(&c.deadline, "experiment-deadline", time.Hour, "deadline of the whole run on the clone")
	fs.BoolVar(&c.probe, "probe-traffic", false, "while migrating, run a reader and a writer on each touched table and report how long they waited")
	fs.DurationVar(&c.keepAlive, "clone-ttl", dblab.DefaultTTL, "how long a clone may live; the janitor removes older ones (after a crash)")
	fs.StringVar(&c.strategy, "clone-strategy", "template", "how --clone local copies the source: template (CREATE DATABASE … TEMPLATE, STRATEGY FILE_COPY on PostgreSQL 15+; the source must have no other sessions) or dump (pg_dump | pg_restore; works on a live source, slower)")
	fs.StringVar(&c.prefix, "clone-prefix", localpg.DefaultPrefix, "name prefix of --clone local clone databases (the janitor removes only expired ones with this prefix)")
	fs.DurationVar(&c.harmless, "harmless-lock", time.Second, "a lock hazard measured to block reads or writes for less than this is downgraded to info (harmless at the table's size)")
	return c
}

// enabled reports whether a clone was asked for.
func (c *cloneFlags) enabled() bool { return c.mode != "" && c.mode != "none" }

func (c *cloneFlags) resolve() {
	env := func(v *string, name string) {
		if *v == "" {
			*v = os.Getenv(name)
		}
	}
	env(&c.sourceDSN, "PGAI_SOURCE_DSN")
	env(&c.dblabURL, "PGAI_DBLAB_URL")
	env(&c.dblabToken, "PGAI_DBLAB_TOKEN")
}

// provider builds the clone provider the flags name.
func (c *cloneFlags) provider(logger *slog.Logger) (dblab.Provider, error) {
	c.resolve()
	switch c.mode {
	case "local":
		if c.sourceDSN == "" {
			return nil, errors.New("--clone local needs --source-dsn (or PGAI_SOURCE_DSN)")
		}
		return localpg.New(localpg.Options{SourceDSN: c.sourceDSN, Logger: logger, Method: c.strategy, Prefix: c.prefix})
	case "dblab":
		if c.dblabURL == "" {
			return nil, errors.New("--clone dblab needs --dblab-url (or PGAI_DBLAB_URL)")
		}
		return dle.New(dle.Options{URL: c.dblabURL, Token: c.dblabToken, Logger: logger, MaxAge: c.keepAlive})
	}
	return nil, fmt.Errorf("--clone %q: want local or dblab", c.mode)
}

// runner builds the experiment runner. Clones are named after the GitLab
// CI job when there is one (CI_PROJECT_PATH, CI_MERGE_REQUEST_IID,
// CI_COMMIT_SHA).
func (c *cloneFlags) runner(logger *slog.Logger) (*dblab.Runner, error) {
	p, err := c.provider(logger)
	if err != nil {
		return nil, err
	}
	if c.lockTimeout <= 0 || c.statementTimeout <= 0 || c.deadline <= 0 || c.harmless <= 0 {
		return nil, errors.New("--lock-timeout, --statement-timeout, --experiment-deadline and --harmless-lock must be positive")
	}
	mr, _ := strconv.Atoi(os.Getenv("CI_MERGE_REQUEST_IID"))
	return &dblab.Runner{
		Provider: p,
		Request:  dblab.CloneRequest{Project: os.Getenv("CI_PROJECT_PATH"), MR: mr, SHA: os.Getenv("CI_COMMIT_SHA"), TTL: c.keepAlive},
		Options: dblab.Options{
			LockTimeout: c.lockTimeout, StatementTimeout: c.statementTimeout, Deadline: c.deadline,
			ProbeTraffic: c.probe, Logger: logger,
			Thresholds: dblab.Thresholds{Harmless: c.harmless},
		},
		Logger: logger,
		Sweep:  true,
	}, nil
}

// run clones, runs the files on the clone, merges the measurements into
// the static findings and releases the clone (also on error, timeout,
// panic and SIGINT, which cancels ctx).
func (c *cloneFlags) run(ctx context.Context, files []*sqlparse.File, static []checks.Finding, logger *slog.Logger) ([]dblab.Measurement, []checks.Finding, error) {
	r, err := c.runner(logger)
	if err != nil {
		return nil, nil, err
	}
	return r.Experiment(ctx, files, static)
}
