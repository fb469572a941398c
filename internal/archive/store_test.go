package archive_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/dblab"
	"gitlab.com/pgai/reviewer/internal/archive"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/internal/report"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t *testing.T) *archive.Store {
	t.Helper()
	pool := pgtest.New(t).Pool(t)
	for range 2 { // Migrate is idempotent
		if err := archive.Migrate(t.Context(), pool, nil); err != nil {
			t.Fatal(err)
		}
	}
	return archive.NewStore(pool)
}

func sampleReview(project int64, path string, iid int64, sha, title string, blocking bool, measured bool) *archive.Review {
	f := checks.Finding{Rule: "require-concurrent-index", Severity: checks.Error, Path: "db/001_idx.sql", Line: 1,
		Message: "CREATE INDEX without CONCURRENTLY blocks writes on orders", Blocking: blocking}
	var ms []dblab.Measurement
	if measured {
		ms = []dblab.Measurement{{Path: "db/001_idx.sql", Line: 1, Statement: "CREATE INDEX orders_email_idx ON orders (email);",
			DurationMS: 12.5, Locks: []dblab.Lock{{Relation: "orders", Mode: dblab.ShareLock, HeldMS: 12.5, Blocks: dblab.Blocks(dblab.ShareLock)}}}}
	}
	rep := report.Build([]report.File{{Path: "db/001_idx.sql", Framework: "plain", Statements: 1, Analysed: true}}, []checks.Finding{f}, ms)
	return &archive.Review{Key: archive.Key{ProjectID: project, MRIID: iid, HeadSHA: sha}, ProjectPath: path, MRTitle: title,
		MRURL: "https://gitlab.example.com/" + path + "/-/merge_requests/1", Report: rep, Markdown: "### pgai review\n",
		Migrations: []archive.Migration{{Path: "db/001_idx.sql", Text: "CREATE INDEX orders_email_idx ON orders (email);\n"}}}
}

func TestStoreRoundTripAndFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	a := sampleReview(1, "acme/shop", 7, "aaaaaaaaaaaa", "Add index on orders.email", true, true)
	b := sampleReview(2, "acme/secret", 3, "bbbbbbbbbbbb", "Secret things", false, false)
	b.Report.Findings[0].Severity = checks.Info
	b.Report = report.Build(b.Report.Files, b.Report.Findings, nil)
	for _, r := range []*archive.Review{a, b} {
		if err := s.SaveReview(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A re-review of the same head replaces the stored one.
	a.MRTitle = "Add index on orders.email (v2)"
	if err := s.SaveReview(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.Review(ctx, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.MRTitle != a.MRTitle || got.Verdict != archive.VerdictBlocking || got.ExperimentID == 0 ||
		len(got.Migrations) != 1 || got.Report == nil || len(got.Report.Findings) != 1 || got.Markdown != a.Markdown {
		t.Fatalf("review read back: %+v", got)
	}
	e, err := s.Experiment(ctx, got.ExperimentID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Review == nil || *e.Review != a.Key || len(e.Measurements) != 1 || e.Measurements[0].Locks[0].Mode != dblab.ShareLock || e.Source != archive.SourceReview {
		t.Fatalf("experiment read back: %+v", e)
	}
	if _, err := s.Review(ctx, archive.Key{ProjectID: 9, MRIID: 9, HeadSHA: "x"}); !errors.Is(err, archive.ErrNotFound) {
		t.Fatalf("missing review: %v", err)
	}

	list := func(f archive.ReviewFilter) []string {
		t.Helper()
		rs, err := s.Reviews(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ProjectPath)
		}
		return out
	}
	hide, err := archive.ParseVisibility([]string{"acme/secret"})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		f    archive.ReviewFilter
		want []string
	}{
		"all":            {archive.ReviewFilter{}, []string{"acme/shop", "acme/secret"}},
		"private hidden": {archive.ReviewFilter{Hide: hide}, []string{"acme/shop"}},
		"private by id":  {archive.ReviewFilter{Hide: archive.Visibility{PrivateIDs: []int64{1}}}, []string{"acme/secret"}},
		"group private":  {archive.ReviewFilter{Hide: archive.Visibility{PrivatePaths: []string{"acme"}}}, nil},
		"project":        {archive.ReviewFilter{Project: "acme/secret"}, []string{"acme/secret"}},
		"verdict":        {archive.ReviewFilter{Verdict: archive.VerdictClean}, []string{"acme/secret"}},
		"search prefix":  {archive.ReviewFilter{Query: "orders_ema"}, []string{"acme/shop", "acme/secret"}},
		"search title":   {archive.ReviewFilter{Query: "secret THINGS"}, []string{"acme/secret"}},
		"search none":    {archive.ReviewFilter{Query: "nothing-like-this"}, nil},
		"search symbols": {archive.ReviewFilter{Query: "'):* & !"}, []string{"acme/shop", "acme/secret"}},
	} {
		if diff := cmp.Diff(tc.want, list(tc.f)); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", name, diff)
		}
	}
	projects, err := s.Projects(ctx, hide)
	if err != nil || !cmp.Equal(projects, []string{"acme/shop"}) {
		t.Errorf("projects = %v, %v", projects, err)
	}
	id, err := s.SaveExperiment(ctx, &archive.Experiment{ProjectID: 2, ProjectPath: "acme/secret", Title: "x", Source: archive.SourceCommand})
	if err != nil || id == 0 {
		t.Fatal(id, err)
	}
	es, err := s.Experiments(ctx, hide, 10, 0)
	if err != nil || len(es) != 1 || es[0].ID != got.ExperimentID || es[0].Statements != 1 {
		t.Errorf("experiments = %+v, %v", es, err)
	}
}

func TestVisibilityAndLinks(t *testing.T) {
	t.Parallel()
	v, err := archive.ParseVisibility([]string{" 42 ", "Acme/Secret/", ""})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   int64
		path string
		want bool
	}{{42, "x/y", false}, {1, "acme/secret", false}, {1, "acme/secret/sub", false}, {1, "acme/secretive", true}, {1, "acme/shop", true}} {
		if got := v.Public(tc.id, tc.path); got != tc.want {
			t.Errorf("Public(%d, %q) = %v", tc.id, tc.path, got)
		}
	}
	if _, err := archive.ParseVisibility([]string{"-3"}); err == nil {
		t.Error("negative ID accepted")
	}
	k := archive.Key{ProjectID: 1, MRIID: 2, HeadSHA: "abc"}
	l := archive.Links{PublicURL: "https://r.example.com/", Visibility: v}
	if got := l.Review(k, "acme/shop"); got != "https://r.example.com/ui/reviews/1/2/abc" {
		t.Errorf("link = %q", got)
	}
	if got := l.Review(k, "acme/secret"); got != "" {
		t.Errorf("private link = %q", got)
	}
	if got := (archive.Links{}).Review(k, "acme/shop"); got != "" {
		t.Errorf("link without public URL = %q", got)
	}
	if got := archive.ProjectPathOf("https://gitlab.example.com/acme/shop/-/merge_requests/3"); got != "acme/shop" {
		t.Errorf("ProjectPathOf = %q", got)
	}
}
