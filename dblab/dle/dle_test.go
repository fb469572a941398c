package dle_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/dblab/dblabtest"
	"gitlab.com/pgai/reviewer/dblab/dle"
	"gitlab.com/pgai/reviewer/dblab/localpg"
	"gitlab.com/pgai/reviewer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func provider(t *testing.T, f *dblabtest.FakeDLE, opts dle.Options) *dle.Provider {
	t.Helper()
	opts.URL = f.URL
	if opts.PollInterval == 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	if opts.CreateTimeout == 0 {
		opts.CreateTimeout = 10 * time.Second
	}
	if opts.SSLMode == "" {
		opts.SSLMode = "disable"
	}
	p, err := dle.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConformance runs the provider suite against the fake engine whose
// clones are real local clones of a seeded database.
func TestConformance(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	db.Exec(t, dblabtest.SeedSQL)
	lp, err := localpg.New(localpg.Options{SourceDSN: db.URL, Prefix: "pgai_dle" + strings.TrimPrefix(db.Name, "pgtest_") + "_"})
	if err != nil {
		t.Fatal(err)
	}
	f := dblabtest.NewFakeDLE(t, dblabtest.FakeOptions{
		Token:       "secret",
		CreateDelay: 30 * time.Millisecond, DeleteDelay: 30 * time.Millisecond,
		Backend: &dblabtest.LocalBackend{Provider: lp, AdminDSN: pgtest.AdminURL(t)},
	})
	dblabtest.Exercise(t, provider(t, f, dle.Options{Token: "secret"}))
	if ids := f.CloneIDs(); len(ids) != 0 {
		t.Errorf("clones left on the engine: %v", ids)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	f := dblabtest.NewFakeDLE(t, dblabtest.FakeOptions{Token: "secret"})
	_, err := provider(t, f, dle.Options{Token: "wrong"}).Clone(t.Context(), dblab.CloneRequest{})
	var ae *dle.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("Clone with a wrong token = %v, want a 401 APIError", err)
	}
	if !strings.Contains(err.Error(), "--dblab-token") {
		t.Errorf("error %q does not say how to fix the token", err)
	}
}

func TestFatalCloneIsDestroyed(t *testing.T) {
	t.Parallel()
	f := dblabtest.NewFakeDLE(t, dblabtest.FakeOptions{Fatal: "cannot start container: port pool exhausted"})
	_, err := provider(t, f, dle.Options{}).Clone(t.Context(), dblab.CloneRequest{MR: 3})
	if err == nil || !strings.Contains(err.Error(), "FATAL") || !strings.Contains(err.Error(), "port pool exhausted") {
		t.Fatalf("Clone on a FATAL engine = %v, want the FATAL message", err)
	}
	if ids := f.CloneIDs(); len(ids) != 0 {
		t.Errorf("FATAL clone left on the engine: %v", ids)
	}
}

func TestCreateTimeoutDestroysClone(t *testing.T) {
	t.Parallel()
	f := dblabtest.NewFakeDLE(t, dblabtest.FakeOptions{Hang: true})
	_, err := provider(t, f, dle.Options{CreateTimeout: 100 * time.Millisecond}).Clone(t.Context(), dblab.CloneRequest{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Clone on a hanging engine = %v, want a deadline error", err)
	}
	if ids := f.CloneIDs(); len(ids) != 0 {
		t.Errorf("clone left on the engine after the timeout: %v", ids)
	}
}

func TestCreateRequestFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, version, branch string
		wantBranch            any
		wantErr               string
	}{
		{name: "v4 sends branch", version: "v4.0.0", branch: "dev", wantBranch: "dev"},
		{name: "v4 default branch", version: "v4.1.0", wantBranch: nil},
		{name: "v3 refuses branch", version: "v3.5.0", branch: "dev", wantErr: "branches need 4.0"},
		{name: "v3 plain", version: "v3.5.0", wantBranch: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := dblabtest.NewFakeDLE(t, dblabtest.FakeOptions{Version: tt.version})
			p := provider(t, f, dle.Options{Branch: tt.branch, DBName: "app"})
			c, err := p.Clone(t.Context(), dblab.CloneRequest{Project: "Group/My.App", MR: 7, SHA: "ABCDEF0123"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Clone = %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Release(context.Background())
			bodies := f.CreateBodies()
			if len(bodies) != 1 {
				t.Fatalf("%d create requests, want 1", len(bodies))
			}
			b := bodies[0]
			if diff := cmp.Diff(tt.wantBranch, b["branch"]); diff != "" {
				t.Errorf("branch field (-want +got):\n%s", diff)
			}
			db := b["db"].(map[string]any)
			if db["db_name"] != "app" || db["username"] != "pgai_reviewer" {
				t.Errorf("db fields = %v, want db_name app and username pgai_reviewer", db)
			}
			pw, _ := db["password"].(string)
			if len(pw) < 20 || !strings.Contains(c.DSN, "password='"+pw+"'") {
				t.Errorf("password %q: want ≥ 20 random characters, used in the DSN %q", pw, c.DSN)
			}
			if !strings.HasPrefix(c.ID, "pgai-group-my-app-7-abcdef0-") || b["id"] != c.ID {
				t.Errorf("clone id %q (sent %v), want pgai-group-my-app-7-abcdef0-<rand>", c.ID, b["id"])
			}
		})
	}
}

func TestResetAndDestroy(t *testing.T) {
	t.Parallel()
	f := dblabtest.NewFakeDLE(t, dblabtest.FakeOptions{ResetDelay: 20 * time.Millisecond, DeleteDelay: 20 * time.Millisecond})
	p := provider(t, f, dle.Options{})
	c, err := p.Clone(t.Context(), dblab.CloneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Reset(t.Context(), c.ID, "", true); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if err := p.Reset(t.Context(), c.ID, "snap@1", true); err == nil {
		t.Error("Reset with both latest and a snapshot succeeded, want the engine's 400")
	}
	if err := p.Reset(t.Context(), "missing", "", false); !dle.IsNotFound(err) {
		t.Errorf("Reset of a missing clone = %v, want 404", err)
	}
	if err := c.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if ids := f.CloneIDs(); len(ids) != 0 {
		t.Errorf("Destroy returned before the clone was gone: %v", ids)
	}
	if err := p.Destroy(t.Context(), c.ID); err != nil {
		t.Errorf("Destroy of a gone clone = %v, want nil", err)
	}
}

// TestSweep: a run killed before it released its clone leaves it on the
// engine; the janitor deletes the reviewer's clones older than MaxAge and
// leaves younger ones, protected ones and clones of other users alone.
func TestSweep(t *testing.T) {
	t.Parallel()
	f := dblabtest.NewFakeDLE(t, dblabtest.FakeOptions{})
	p := provider(t, f, dle.Options{MaxAge: time.Hour})
	old, err := p.Clone(t.Context(), dblab.CloneRequest{MR: 1}) // never released: the "killed" run
	if err != nil {
		t.Fatal(err)
	}
	young, err := p.Clone(t.Context(), dblab.CloneRequest{MR: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer young.Release(context.Background())
	f.SetCreatedAt(old.ID, time.Now().Add(-2*time.Hour))
	got, err := p.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{old.ID}, got); diff != "" {
		t.Errorf("Sweep (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{young.ID}, f.CloneIDs()); diff != "" {
		t.Errorf("clones after Sweep (-want +got):\n%s", diff)
	}
}

func TestTimeFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2023-05-16T06:12:52Z"`, time.Date(2023, 5, 16, 6, 12, 52, 0, time.UTC)},
		{`"2023-05-16 06:12:52 UTC"`, time.Date(2023, 5, 16, 6, 12, 52, 0, time.UTC)},
		{`""`, time.Time{}},
		{`null`, time.Time{}},
	}
	for _, tt := range tests {
		var got dle.Time
		if err := got.UnmarshalJSON([]byte(tt.in)); err != nil {
			t.Errorf("UnmarshalJSON(%s): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("UnmarshalJSON(%s) = %v, want %v", tt.in, got.Time, tt.want)
		}
	}
	var bad dle.Time
	if err := bad.UnmarshalJSON([]byte(`"yesterday"`)); err == nil {
		t.Error("UnmarshalJSON(yesterday) succeeded, want an error")
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://x", "not a url", "http://"} {
		if _, err := dle.New(dle.Options{URL: u}); err == nil {
			t.Errorf("New(%q) succeeded, want an error", u)
		}
	}
}
