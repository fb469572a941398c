package dblabtest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/dblab"
)

// SeedSQL creates what Exercise expects to find in every clone: the source
// database of the provider under test must have run it.
const SeedSQL = `CREATE TABLE dblabtest_seed (id int PRIMARY KEY, note text);
INSERT INTO dblabtest_seed VALUES (42, 'from the source');`

// Exercise is the conformance suite of a Provider. The provider's source
// database must hold SeedSQL. Every clone it makes must: accept
// connections and hold the source's data; be isolated from other clones;
// be gone after Release, also when Release gets a canceled context (as
// after SIGINT); and WithClone must release it when the callback fails or
// panics.
func Exercise(t *testing.T, p dblab.Provider) {
	t.Helper()
	req := dblab.CloneRequest{Project: "group/app", MR: 12, SHA: "0123456789abcdef", TTL: time.Hour}

	t.Run("CloneHoldsSourceData", func(t *testing.T) {
		ctx := t.Context()
		c, err := p.Clone(ctx, req)
		if err != nil {
			t.Fatalf("Clone: %v", err)
		}
		t.Cleanup(func() { _ = c.Release(context.Background()) })
		if c.ID == "" || c.DSN == "" {
			t.Fatalf("clone has ID %q, DSN %q; want both", c.ID, c.DSN)
		}
		if !strings.Contains(c.ID, "0123456") || !strings.Contains(c.ID, "12") {
			t.Errorf("clone id %q does not name the MR (12) and sha (0123456)", c.ID)
		}
		if !c.ExpiresAt.After(c.CreatedAt) {
			t.Errorf("clone expires at %v, not after its creation %v", c.ExpiresAt, c.CreatedAt)
		}
		if got := seedNote(t, c.DSN); got != "from the source" {
			t.Errorf("seed row in the clone = %q, want %q", got, "from the source")
		}
		if err := c.Release(ctx); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if err := c.Release(ctx); err != nil {
			t.Errorf("second Release: %v, want nil (idempotent)", err)
		}
		assertGone(t, c)
	})

	t.Run("ClonesAreIsolated", func(t *testing.T) {
		ctx := t.Context()
		var clones [2]*dblab.Clone
		var errs [2]error
		var wg sync.WaitGroup
		for i := range clones {
			wg.Add(1)
			go func() {
				defer wg.Done()
				clones[i], errs[i] = p.Clone(ctx, req)
			}()
		}
		wg.Wait()
		for i, c := range clones {
			if errs[i] != nil {
				t.Fatalf("concurrent Clone %d: %v", i, errs[i])
			}
			t.Cleanup(func() { _ = c.Release(context.Background()) })
		}
		if clones[0].ID == clones[1].ID {
			t.Fatalf("two clones share the id %q", clones[0].ID)
		}
		execSQL(t, clones[0].DSN, "UPDATE dblabtest_seed SET note = 'changed in clone 0'")
		if got := seedNote(t, clones[1].DSN); got != "from the source" {
			t.Errorf("clone 1 sees %q after clone 0 changed its row; clones must be isolated", got)
		}
	})

	t.Run("ReleaseWithCanceledContext", func(t *testing.T) {
		c, err := p.Clone(t.Context(), req)
		if err != nil {
			t.Fatalf("Clone: %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := c.Release(ctx); err != nil {
			t.Fatalf("Release with a canceled context: %v", err)
		}
		assertGone(t, c)
	})

	t.Run("CloneWithCanceledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		c, err := p.Clone(ctx, req)
		if err == nil {
			_ = c.Release(context.Background())
			t.Fatal("Clone with a canceled context succeeded, want an error")
		}
	})

	t.Run("WithCloneReleasesOnError", func(t *testing.T) {
		var got *dblab.Clone
		boom := errors.New("boom")
		err := dblab.WithClone(t.Context(), p, req, nil, func(ctx context.Context, c *dblab.Clone) error {
			got = c
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithClone = %v, want the callback's error", err)
		}
		assertGone(t, got)
	})

	t.Run("WithCloneReleasesOnPanic", func(t *testing.T) {
		var got *dblab.Clone
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want the callback's panic re-raised", r)
				}
			}()
			_ = dblab.WithClone(t.Context(), p, req, nil, func(ctx context.Context, c *dblab.Clone) error {
				got = c
				panic("boom")
			})
		}()
		if got == nil {
			t.Fatal("callback not called")
		}
		assertGone(t, got)
	})
}

func seedNote(t *testing.T, dsn string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect to clone: %v", err)
	}
	defer conn.Close(context.Background())
	var note string
	if err := conn.QueryRow(t.Context(), "SELECT note FROM dblabtest_seed WHERE id = 42").Scan(&note); err != nil {
		t.Fatalf("read seed row in clone: %v", err)
	}
	return note
}

func execSQL(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect to clone: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("exec on clone: %v", err)
	}
}

// assertGone checks that a released clone no longer accepts connections.
func assertGone(t *testing.T, c *dblab.Clone) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN)
	if err == nil {
		conn.Close(context.Background())
		t.Errorf("clone %s still accepts connections after Release", c.ID)
	}
}
