package dblab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/sqlparse"
)

// Runner measures migrations on a fresh clone for each review: clone,
// experiment, merge with the static findings, release. Its Experiment
// method is what the review core asks of an experimenter.
type Runner struct {
	Provider Provider
	// Request names the clones (project, MR, sha) and sets their TTL.
	Request CloneRequest
	Options Options
	Logger  *slog.Logger
	// Sweep runs the provider's janitor before cloning, so that clones
	// left by crashed runs do not pile up.
	Sweep bool
}

// WithRequest returns a copy of the runner whose clones are named for req
// (one merge request and commit of a long-running worker).
func (r *Runner) WithRequest(req CloneRequest) *Runner {
	c := *r
	if req.TTL == 0 {
		req.TTL = r.Request.TTL
	}
	c.Request = req
	return &c
}

// Experiment clones, runs the files, releases the clone and returns the
// measurements and the static findings merged with the measured ones.
func (r *Runner) Experiment(ctx context.Context, files []*sqlparse.File, static []checks.Finding) ([]Measurement, []checks.Finding, error) {
	res, err := r.Run(ctx, files)
	if res == nil {
		return nil, static, err
	}
	if err != nil {
		// Interrupted or broken off: what ran is listed, the static
		// findings stand.
		return res.Measurements, static, err
	}
	return res.Measurements, Merge(static, res, r.Options.Thresholds), nil
}

// Run clones and runs the files, and releases the clone on every path.
func (r *Runner) Run(ctx context.Context, files []*sqlparse.File) (*Result, error) {
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if r.Provider == nil {
		return nil, errors.New("experiment: no clone provider")
	}
	if sw, ok := r.Provider.(Sweeper); ok && r.Sweep {
		j := &Janitor{Sweepers: []Sweeper{sw}, Logger: logger}
		if _, err := j.Sweep(ctx); err != nil {
			logger.WarnContext(ctx, "janitor", slog.Any("error", err))
		}
	}
	opts := r.Options
	if opts.Logger == nil {
		opts.Logger = logger
	}
	var res *Result
	err := WithClone(ctx, r.Provider, r.Request, logger, func(ctx context.Context, c *Clone) error {
		var err error
		res, err = Experiment(ctx, c, files, opts)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("measure on a clone: %w", err)
	}
	return res, nil
}
