package dblab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Provider makes clones of a database.
type Provider interface {
	// Clone makes a clone and returns once it accepts connections. The
	// caller must Release it.
	Clone(ctx context.Context, req CloneRequest) (*Clone, error)
}

// Sweeper is the janitor ability of a provider: it removes the clones it
// made that outlived their time to live, and returns their ids.
type Sweeper interface {
	Sweep(ctx context.Context) ([]string, error)
}

// DefaultTTL is how long a clone may live when the request names no TTL;
// the janitor removes it after that.
const DefaultTTL = 2 * time.Hour

// DefaultReleaseTimeout bounds how long Release may take.
const DefaultReleaseTimeout = 2 * time.Minute

// CloneRequest says what a clone is for; the parts name the clone so that
// an operator can tell what it is (pgai-<project>-<mr>-<sha7>-<rand>).
type CloneRequest struct {
	// Project is the GitLab project path or id; MR its merge request iid;
	// SHA the head commit. All optional.
	Project string
	MR      int
	SHA     string
	// TTL is how long the clone may live before the janitor removes it
	// (DefaultTTL when zero).
	TTL time.Duration
}

// TTLOrDefault returns the request's TTL, or DefaultTTL.
func (r CloneRequest) TTLOrDefault() time.Duration {
	if r.TTL > 0 {
		return r.TTL
	}
	return DefaultTTL
}

var idUnsafe = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// NewCloneID returns an id for a clone made for req:
// pgai-<project>-<mr>-<sha7>-<4 random hex>, with absent parts left out. It
// matches DBLab's id pattern ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ and stays under
// 50 characters so that providers can add a prefix within PostgreSQL's
// 63-byte identifier limit.
func NewCloneID(req CloneRequest) string {
	parts := []string{"pgai"}
	if p := strings.Trim(idUnsafe.ReplaceAllString(strings.ToLower(req.Project), "-"), "-"); p != "" {
		if len(p) > 20 {
			p = strings.Trim(p[len(p)-20:], "-")
		}
		parts = append(parts, p)
	}
	if req.MR > 0 {
		parts = append(parts, strconv.Itoa(req.MR))
	}
	if s := strings.ToLower(idUnsafe.ReplaceAllString(req.SHA, "")); s != "" {
		if len(s) > 7 {
			s = s[:7]
		}
		parts = append(parts, s)
	}
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	parts = append(parts, hex.EncodeToString(b))
	return strings.Join(parts, "-")
}

// Clone is a disposable copy of a database.
type Clone struct {
	// ID names the clone at its provider.
	ID string
	// DSN connects to the clone with rights to change its schema.
	DSN string
	// CreatedAt is when the clone was ready; ExpiresAt when the janitor
	// may remove it.
	CreatedAt, ExpiresAt time.Time
	// DataStateAt is the time of the data the clone holds, when known.
	DataStateAt time.Time

	release func(context.Context) error
	once    sync.Once
	err     error
}

// NewClone makes a Clone whose Release calls release once.
func NewClone(id, dsn string, release func(context.Context) error) *Clone {
	return &Clone{ID: id, DSN: dsn, CreatedAt: time.Now(), release: release}
}

// Release destroys the clone. It runs even when ctx is already canceled
// (a SIGINT must not leave the clone behind), bounded by
// DefaultReleaseTimeout, and only once: later calls return the first
// result.
func (c *Clone) Release(ctx context.Context) error {
	c.once.Do(func() {
		if c.release == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultReleaseTimeout)
		defer cancel()
		if err := c.release(ctx); err != nil {
			c.err = fmt.Errorf("release clone %s: %w", c.ID, err)
		}
	})
	return c.err
}

// WithClone makes a clone, calls fn with it and releases it afterwards on
// every path: fn's error, ctx's cancellation or deadline (SIGINT in the
// CLI) and a panic in fn, which is re-raised after the release. A release
// error is joined to fn's error.
func WithClone(ctx context.Context, p Provider, req CloneRequest, logger *slog.Logger, fn func(context.Context, *Clone) error) (err error) {
	c, err := p.Clone(ctx, req)
	if err != nil {
		return fmt.Errorf("create clone: %w", err)
	}
	if logger != nil {
		logger.InfoContext(ctx, "clone ready", slog.String("clone_id", c.ID))
	}
	defer func() {
		r := recover()
		if rerr := c.Release(context.WithoutCancel(ctx)); rerr != nil {
			err = errors.Join(err, rerr)
		} else if logger != nil {
			logger.InfoContext(ctx, "clone released", slog.String("clone_id", c.ID))
		}
		if r != nil {
			panic(r)
		}
	}()
	return fn(ctx, c)
}
