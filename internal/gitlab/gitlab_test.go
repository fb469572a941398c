package gitlab_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
)

const (
	token = "glpat-test-token"
	pid   = 7
	iid   = 3
	base  = "b000000000000000000000000000000000000000"
	head  = "h111111111111111111111111111111111111111"
)

func setup(t *testing.T) (*gitlabtest.Server, *gitlab.Client) {
	t.Helper()
	s := gitlabtest.New(t)
	s.AddUser(token, gitlabtest.User{ID: 99, Username: "pgai-bot"})
	s.SetFile(pid, base, "db/001_init.sql", "create table t (id int);\n")
	s.AddMR(gitlabtest.MR{ProjectID: pid, IID: iid, Title: "add index", BaseSHA: base, AuthorID: 5})
	s.Push(pid, iid, head,
		gitlabtest.Change{Path: "db/002_index.sql", Content: "create index i on t (id);\nselect 1;\n"},
		gitlabtest.Change{Path: "db/001_init.sql", Content: "create table t (id int);\nalter table t add column x int;\n"})
	c, err := gitlab.New(gitlab.Options{BaseURL: s.URL, Token: token, CreateRetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestReadMR(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	ctx := t.Context()
	mr := gitlab.MR{ProjectID: pid, IID: iid}
	m, err := c.MergeRequest(ctx, mr)
	if err != nil {
		t.Fatal(err)
	}
	if m.SHA != head || m.State != "opened" || m.AuthorID != 5 {
		t.Errorf("merge request = %+v", m)
	}
	vs, err := c.Versions(ctx, mr)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].HeadSHA != head || vs[0].BaseSHA != base || vs[0].StartSHA != base {
		t.Errorf("versions = %+v", vs)
	}
	ds, err := c.Diffs(ctx, mr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		l := gitlab.ParseDiff(d.Diff)
		got = append(got, fmt.Sprintf("%s new=%v added=%v", d.NewPath, d.NewFile, keys(l.Added)))
	}
	want := []string{"db/001_init.sql new=false added=[2]", "db/002_index.sql new=true added=[1 2]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diffs (-want +got):\n%s", diff)
	}
	b, err := c.RawFile(ctx, pid, "db/002_index.sql", head)
	if err != nil || !strings.HasPrefix(string(b), "create index") {
		t.Errorf("raw file = %q, %v", b, err)
	}
	if _, err := c.RawFile(ctx, pid, "db/002_index.sql", base); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("missing file: err = %v, want ErrNotFound", err)
	}
}

func keys(m map[int]bool) []int {
	var out []int
	for i := 1; i <= 1000; i++ {
		if m[i] {
			out = append(out, i)
		}
	}
	return out
}

func TestDiffsPaginate(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	var changes []gitlabtest.Change
	for i := range 230 {
		changes = append(changes, gitlabtest.Change{Path: fmt.Sprintf("db/m%03d.sql", i), Content: "select 1;\n"})
	}
	s.Push(pid, iid, "h2", changes...)
	ds, err := c.Diffs(t.Context(), gitlab.MR{ProjectID: pid, IID: iid})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 232 {
		t.Errorf("%d diffs, want 232", len(ds))
	}
	if n := s.CountCalls(gitlabtest.RouteDiffs); n != 3 {
		t.Errorf("%d diff pages fetched, want 3", n)
	}
}

func TestCreateNoteOnceAfterServerError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		apply bool // the failing POST stored the note anyway
		posts int
	}{
		{"stored despite 500", true, 1},
		{"not stored", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := setup(t)
			s.Fail(gitlabtest.Fault{Route: gitlabtest.RouteCreateNote, Status: 500, Apply: tt.apply})
			mr := gitlab.MR{ProjectID: pid, IID: iid}
			n, err := c.CreateNoteOnce(t.Context(), mr, "<!-- m -->\nhello", "<!-- m -->")
			if err != nil {
				t.Fatal(err)
			}
			notes := s.Notes(pid, iid)
			if len(notes) != 1 || notes[0].ID != n.ID {
				t.Errorf("notes = %+v, want exactly the returned one (%d)", notes, n.ID)
			}
			if got := s.CountCalls(gitlabtest.RouteCreateNote); got != tt.posts {
				t.Errorf("%d POSTs, want %d", got, tt.posts)
			}
		})
	}
}

func TestClientNeverRetriesCreate(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	s.Fail(gitlabtest.Fault{Route: gitlabtest.RouteCreateNote, Status: 502, Apply: true})
	_, err := c.CreateNote(t.Context(), gitlab.MR{ProjectID: pid, IID: iid}, "x")
	if !gitlab.Retryable(err) {
		t.Errorf("err = %v, want a retryable error", err)
	}
	if got := s.CountCalls(gitlabtest.RouteCreateNote); got != 1 {
		t.Errorf("%d POSTs, want 1 (client retries must be off for creates)", got)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error shows the token: %v", err)
	}
}

func TestDiscussions(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	ctx := t.Context()
	mr := gitlab.MR{ProjectID: pid, IID: iid}
	pos := &gitlab.Position{BaseSHA: base, StartSHA: base, HeadSHA: head, OldPath: "db/002_index.sql", NewPath: "db/002_index.sql", NewLine: 1}
	d, err := c.CreateDiscussionOnce(ctx, mr, "finding <!-- fp=1 -->", pos, "<!-- fp=1 -->")
	if err != nil {
		t.Fatal(err)
	}
	// A line the diff does not add: GitLab's line_code error, permanent.
	bad := *pos
	bad.NewPath, bad.OldPath, bad.NewLine = "db/001_init.sql", "db/001_init.sql", 1
	_, err = c.CreateDiscussion(ctx, mr, "x", &bad)
	var ae *gitlab.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || gitlab.Retryable(err) || !strings.Contains(ae.Message, "line_code") {
		t.Errorf("bad position: err = %v, want permanent 400 line_code", err)
	}
	if _, err := c.ReplyOnce(ctx, mr, d.ID, "fixed <!-- r -->", "<!-- r -->"); err != nil {
		t.Fatal(err)
	}
	if err := c.ResolveDiscussion(ctx, mr, d.ID, true); err != nil {
		t.Fatal(err)
	}
	ds, err := c.Discussions(ctx, mr)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || len(ds[0].Notes) != 2 || !ds[0].Resolved() || ds[0].Notes[0].Position == nil || ds[0].Notes[0].Position.NewLine != 1 {
		t.Errorf("discussions = %+v", ds)
	}
}

func TestMemberEmojiStatus(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	ctx := t.Context()
	s.SetMember(pid, 5, 30)
	s.SetMember(pid, 6, 10)
	for user, want := range map[int64]gitlab.AccessLevel{5: gitlab.Developer, 6: gitlab.Guest, 8: gitlab.NoAccess} {
		got, err := c.MemberAccess(ctx, pid, user)
		if err != nil || got != want {
			t.Errorf("MemberAccess(%d) = %v, %v; want %v", user, got, err, want)
		}
	}
	mr := gitlab.MR{ProjectID: pid, IID: iid}
	noteID, _ := s.AddUserNote(pid, iid, 5, "/pgai help")
	for range 2 { // the second award of the same emoji is not an error
		if err := c.AwardEmoji(ctx, mr, noteID, "eyes"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetCommitStatus(ctx, pid, gitlab.CommitStatus{SHA: head, Name: "pgai/migrations", State: "pending"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetCommitStatus(ctx, pid, gitlab.CommitStatus{SHA: head, Name: "pgai/migrations", State: "success", TargetURL: "http://x/#note_1"}); err != nil {
		t.Fatal(err)
	}
	want := []gitlabtest.Status{
		{SHA: head, Name: "pgai/migrations", State: "pending"},
		{SHA: head, Name: "pgai/migrations", State: "success", TargetURL: "http://x/#note_1"},
	}
	if diff := cmp.Diff(want, s.Statuses(pid)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestParseDiff(t *testing.T) {
	t.Parallel()
	d := "@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c\n@@ -10,0 +12,1 @@\n+z\n\\ No newline at end of file\n"
	got := gitlab.ParseDiff(d)
	want := gitlab.DiffLines{Added: map[int]bool{2: true, 3: true, 12: true}, Context: map[int]int{1: 1, 4: 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseDiff (-want +got):\n%s", diff)
	}
}

func TestListFiles(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	for i := range 150 {
		s.SetFile(pid, "h3", fmt.Sprintf("db/m%03d.sql", i), "select 1;\n")
	}
	s.SetFile(pid, "h3", "db/sub/nested.sql", "select 2;\n")
	s.SetFile(pid, "h3", "dbx/other.sql", "select 3;\n")
	s.SetFile(pid, "h3", "README.md", "hi\n")
	ctx := t.Context()
	tests := []struct {
		name, dir, ref string
		want           []string
		wantCalls      int
		wantErr        error
	}{
		{name: "head", dir: "db", ref: head, want: []string{"db/001_init.sql", "db/002_index.sql"}, wantCalls: 1},
		{name: "base", dir: "db", ref: base, want: []string{"db/001_init.sql"}, wantCalls: 1},
		{name: "root lists files only", dir: "", ref: "h3", want: []string{"README.md"}, wantCalls: 1},
		{name: "missing dir", dir: "nope", ref: head, wantErr: gitlab.ErrNotFound, wantCalls: 1},
		{name: "missing ref", dir: "db", ref: "h404", wantErr: gitlab.ErrNotFound, wantCalls: 1},
	}
	for _, tt := range tests {
		before := s.CountCalls(gitlabtest.RouteTree)
		got, err := c.ListFiles(ctx, pid, tt.dir, tt.ref)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: files (-want +got):\n%s", tt.name, diff)
		}
		if n := s.CountCalls(gitlabtest.RouteTree) - before; n != tt.wantCalls {
			t.Errorf("%s: %d tree calls, want %d", tt.name, n, tt.wantCalls)
		}
	}
	// 150 files and a subdirectory take two pages; the nested file is not
	// listed.
	before := s.CountCalls(gitlabtest.RouteTree)
	got, err := c.ListFiles(ctx, pid, "db", "h3")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 150 || got[0] != "db/m000.sql" || got[149] != "db/m149.sql" {
		t.Errorf("paged listing: %d files, first %q", len(got), got[:min(1, len(got))])
	}
	if n := s.CountCalls(gitlabtest.RouteTree) - before; n != 2 {
		t.Errorf("%d tree pages fetched, want 2", n)
	}
}
