package dblab

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Janitor removes expired clones of several providers, once (Sweep) or
// every interval until ctx ends (Run). Clones of a run that crashed (a
// killed process, a lost node) are found by the providers' own marks:
// the expiry in the database comment for local clones, the pgai- id and
// creation time for DBLab.
type Janitor struct {
	Sweepers []Sweeper
	Logger   *slog.Logger
}

// Sweep runs every sweeper once and returns the ids removed.
func (j *Janitor) Sweep(ctx context.Context) ([]string, error) {
	var gone []string
	var errs []error
	for _, s := range j.Sweepers {
		ids, err := s.Sweep(ctx)
		gone = append(gone, ids...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if j.Logger != nil {
		for _, id := range gone {
			j.Logger.InfoContext(ctx, "janitor removed an expired clone", slog.String("clone_id", id))
		}
	}
	return gone, errors.Join(errs...)
}

// Run sweeps at once and then every interval until ctx ends. Errors are
// logged, not returned: the next round tries again.
func (j *Janitor) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := j.Sweep(ctx); err != nil && j.Logger != nil && ctx.Err() == nil {
			j.Logger.WarnContext(ctx, "janitor", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
