// Package gitlab wraps the GitLab REST API (gitlab.com/gitlab-org/api/client-go/v2)
// with the few calls a merge-request reviewer needs, in our own types.
//
// The client's automatic retries are limited to idempotent methods: a POST
// that creates a note or a discussion is never retried blindly, because
// GitLab may have stored it before answering 5xx. The *Once helpers retry a
// failed create only after listing what exists and finding no copy carrying
// the caller's hidden marker.
//
// The token is sent in a header only; it never appears in errors or logs.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// ErrNotFound is returned when GitLab answers 404 (a file, MR or member
// that does not exist, or that the token may not see).
var ErrNotFound = errors.New("gitlab: not found")

// APIError is a non-2xx answer from GitLab other than 404.
type APIError struct {
	Op     string
	Status int
	// Message is GitLab's error message (never contains the token).
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("gitlab %s: HTTP %d", e.Op, e.Status)
	}
	return fmt.Sprintf("gitlab %s: HTTP %d: %s", e.Op, e.Status, e.Message)
}

// Retryable reports whether an error from this package is worth retrying
// later: rate limits, server errors, timeouts and connection failures.
// 4xx answers (bad position, no permission, gone) are permanent.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// Transport errors of the retrying client ("giving up after N
	// attempts") and unexpected EOFs are transient.
	return true
}

// MR identifies a merge request.
type MR struct {
	ProjectID int64
	IID       int64
}

func (m MR) String() string { return fmt.Sprintf("%d!%d", m.ProjectID, m.IID) }

// MergeRequest is what the reviewer needs to know about a merge request.
type MergeRequest struct {
	ProjectID       int64
	IID             int64
	Title           string
	State           string // opened, closed, merged, locked
	Draft           bool
	SHA             string // head of the source branch
	WebURL          string
	SourceBranch    string
	TargetBranch    string
	SourceProjectID int64
	AuthorID        int64
}

// Version is one diff version of a merge request; positions of inline
// discussions must use the three SHAs of one version.
type Version struct {
	ID       int64
	HeadSHA  string
	BaseSHA  string
	StartSHA string
	State    string
}

// Diff is one changed file of a merge request.
type Diff struct {
	OldPath, NewPath string
	// Diff is the hunks (without the ---/+++ header); empty when GitLab
	// collapsed the file as too large.
	Diff        string
	NewFile     bool
	RenamedFile bool
	DeletedFile bool
	TooLarge    bool
}

// User is a GitLab user.
type User struct {
	ID       int64
	Username string
}

// Position places a discussion on a line of the diff.
type Position struct {
	BaseSHA, StartSHA, HeadSHA string
	OldPath, NewPath           string
	// NewLine alone is an added line; OldLine alone a removed line; both an
	// unchanged line inside a hunk.
	NewLine, OldLine int
}

// Note is a comment on a merge request, alone or in a discussion.
type Note struct {
	ID         int64
	Body       string
	AuthorID   int64
	System     bool
	Resolvable bool
	Resolved   bool
	ResolvedBy int64
	Position   *Position
}

// Discussion is a thread of notes.
type Discussion struct {
	ID    string
	Notes []Note
}

// Resolved reports whether the thread is resolvable and resolved.
func (d Discussion) Resolved() bool {
	for _, n := range d.Notes {
		if n.Resolvable {
			return n.Resolved
		}
	}
	return false
}

// CommitStatus is an external status on a commit.
type CommitStatus struct {
	SHA         string
	Ref         string
	Name        string
	State       string // pending, running, success, failed, canceled
	TargetURL   string
	Description string
}

// AccessLevel is a member's role in a project.
type AccessLevel int

// GitLab's access levels.
const (
	NoAccess   AccessLevel = 0
	Guest      AccessLevel = 10
	Planner    AccessLevel = 15
	Reporter   AccessLevel = 20
	Developer  AccessLevel = 30
	Maintainer AccessLevel = 40
	Owner      AccessLevel = 50
)

// ParseAccessLevel reads a role name (guest, reporter, developer,
// maintainer, owner) or a number.
func ParseAccessLevel(s string) (AccessLevel, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "guest":
		return Guest, nil
	case "planner":
		return Planner, nil
	case "reporter":
		return Reporter, nil
	case "developer":
		return Developer, nil
	case "maintainer":
		return Maintainer, nil
	case "owner":
		return Owner, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && n >= 0 && n <= 60 {
		return AccessLevel(n), nil
	}
	return 0, fmt.Errorf("unknown access level %q (want guest, reporter, developer, maintainer or owner)", s)
}

func (a AccessLevel) String() string {
	switch a {
	case NoAccess:
		return "no access"
	case Guest:
		return "Guest"
	case Planner:
		return "Planner"
	case Reporter:
		return "Reporter"
	case Developer:
		return "Developer"
	case Maintainer:
		return "Maintainer"
	case Owner:
		return "Owner"
	}
	return fmt.Sprintf("access level %d", int(a))
}

// Options configure a Client.
type Options struct {
	// BaseURL is the GitLab instance, e.g. https://gitlab.example.com.
	BaseURL string
	// Token is a personal, project or group access token with api scope.
	Token string
	// HTTPClient, when set, replaces the default transport.
	HTTPClient *http.Client
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// CreateRetries is how many times a failed create is retried after
	// checking it did not land (default 3); CreateRetryWait is the first
	// wait between attempts, doubled each time (default 1s).
	CreateRetries   int
	CreateRetryWait time.Duration
	// OnError, when set, is called for each failed API call (metrics).
	OnError func(op string, status int)
}

// Client talks to one GitLab instance with one token.
type Client struct {
	api  *gl.Client
	log  *slog.Logger
	opts Options

	mu  sync.Mutex
	bot *User
}

// New returns a client for the instance and token of o.
func New(o Options) (*Client, error) {
	if o.BaseURL == "" {
		return nil, errors.New("gitlab: no base URL")
	}
	if o.Token == "" {
		return nil, errors.New("gitlab: no token")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CreateRetries == 0 {
		o.CreateRetries = 3
	}
	if o.CreateRetryWait == 0 {
		o.CreateRetryWait = time.Second
	}
	opts := []gl.ClientOptionFunc{
		gl.WithBaseURL(o.BaseURL),
		gl.WithOnlyIdempotentRetries(),
		gl.WithCustomRetryWaitMinMax(100*time.Millisecond, 2*time.Second),
		gl.WithUserAgent("pgai-reviewer"),
	}
	if o.HTTPClient != nil {
		opts = append(opts, gl.WithHTTPClient(o.HTTPClient))
	}
	api, err := gl.NewClient(o.Token, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab client: %w", err)
	}
	return &Client{api: api, log: o.Logger, opts: o}, nil
}

// wrap turns a client-go error into ours, without any URL query or token.
func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) {
		if er.StatusCode == http.StatusNotFound {
			c.reportError(op, er.StatusCode)
			return fmt.Errorf("gitlab %s: %w", op, ErrNotFound)
		}
		c.reportError(op, er.StatusCode)
		return &APIError{Op: op, Status: er.StatusCode, Message: truncate(er.Message, 300)}
	}
	if errors.Is(err, gl.ErrNotFound) {
		c.reportError(op, http.StatusNotFound)
		return fmt.Errorf("gitlab %s: %w", op, ErrNotFound)
	}
	c.reportError(op, 0)
	return fmt.Errorf("gitlab %s: %w", op, err)
}

func (c *Client) reportError(op string, status int) {
	if c.opts.OnError != nil {
		c.opts.OnError(op, status)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func ctxOpt(ctx context.Context) gl.RequestOptionFunc { return gl.WithContext(ctx) }

// CurrentUser returns the token's user (the bot), fetched once.
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bot != nil {
		return *c.bot, nil
	}
	u, _, err := c.api.Users.CurrentUser(ctxOpt(ctx))
	if err != nil {
		return User{}, c.wrap("get current user", err)
	}
	c.bot = &User{ID: u.ID, Username: u.Username}
	return *c.bot, nil
}

// MergeRequest reads a merge request.
func (c *Client) MergeRequest(ctx context.Context, mr MR) (MergeRequest, error) {
	m, _, err := c.api.MergeRequests.GetMergeRequest(mr.ProjectID, mr.IID, nil, ctxOpt(ctx))
	if err != nil {
		return MergeRequest{}, c.wrap("get merge request "+mr.String(), err)
	}
	out := MergeRequest{
		ProjectID: m.ProjectID, IID: m.IID, Title: m.Title, State: m.State, Draft: m.Draft,
		SHA: m.SHA, WebURL: m.WebURL, SourceBranch: m.SourceBranch, TargetBranch: m.TargetBranch,
		SourceProjectID: m.SourceProjectID,
	}
	if m.Author != nil {
		out.AuthorID = m.Author.ID
	}
	return out, nil
}

// Versions lists the diff versions of a merge request, newest first.
func (c *Client) Versions(ctx context.Context, mr MR) ([]Version, error) {
	var out []Version
	opt := &gl.GetMergeRequestDiffVersionsOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		vs, resp, err := c.api.MergeRequests.GetMergeRequestDiffVersions(mr.ProjectID, mr.IID, opt, ctxOpt(ctx))
		if err != nil {
			return nil, c.wrap("list versions of "+mr.String(), err)
		}
		for _, v := range vs {
			out = append(out, Version{ID: v.ID, HeadSHA: v.HeadCommitSHA, BaseSHA: v.BaseCommitSHA, StartSHA: v.StartCommitSHA, State: v.State})
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// Diffs lists the changed files of a merge request (all pages).
func (c *Client) Diffs(ctx context.Context, mr MR) ([]Diff, error) {
	var out []Diff
	opt := &gl.ListMergeRequestDiffsOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		ds, resp, err := c.api.MergeRequests.ListMergeRequestDiffs(mr.ProjectID, mr.IID, opt, ctxOpt(ctx))
		if err != nil {
			return nil, c.wrap("list diffs of "+mr.String(), err)
		}
		for _, d := range ds {
			out = append(out, Diff{
				OldPath: d.OldPath, NewPath: d.NewPath, Diff: d.Diff,
				NewFile: d.NewFile, RenamedFile: d.RenamedFile, DeletedFile: d.DeletedFile,
				TooLarge: d.TooLarge || d.Collapsed,
			})
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// RawFile reads a file of a project at a commit; ErrNotFound when it does
// not exist there.
func (c *Client) RawFile(ctx context.Context, projectID int64, path, ref string) ([]byte, error) {
	b, _, err := c.api.RepositoryFiles.GetRawFile(projectID, path, &gl.GetRawFileOptions{Ref: gl.Ptr(ref)}, ctxOpt(ctx))
	if err != nil {
		return nil, c.wrap(fmt.Sprintf("read %s at %s", path, short(ref)), err)
	}
	return b, nil
}

// RawBlob reads a blob of a project by its git object id (as Tree lists
// it). Unlike RawFile it is not under GitLab.com's repository-files rate
// limit (500 a minute), so a large history can be read at once.
func (c *Client) RawBlob(ctx context.Context, projectID int64, sha string) ([]byte, error) {
	b, _, err := c.api.Repositories.RawBlobContent(projectID, sha, ctxOpt(ctx))
	if err != nil {
		return nil, c.wrap(fmt.Sprintf("read blob %s", short(sha)), err)
	}
	return b, nil
}

// ListFiles lists the files (not subdirectories) directly in a directory
// of a project at a commit, as repository paths, in GitLab's order (by
// name); dir "" is the root. ErrNotFound when the commit or directory does
// not exist there.
func (c *Client) ListFiles(ctx context.Context, projectID int64, dir, ref string) ([]string, error) {
	blobs, err := c.Tree(ctx, projectID, dir, ref, false)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(blobs))
	for i, b := range blobs {
		out[i] = b.Path
	}
	return out, nil
}

// Blob is a file in a repository tree: its path and its git object id,
// which changes exactly when its content does.
type Blob struct {
	Path string
	SHA  string
}

// Tree lists the files of a directory of a project at a commit ("" the
// root), with those of every subdirectory when recursive; ErrNotFound
// when the commit or directory does not exist there.
func (c *Client) Tree(ctx context.Context, projectID int64, dir, ref string, recursive bool) ([]Blob, error) {
	opt := &gl.ListTreeOptions{ListOptions: gl.ListOptions{PerPage: 100}, Ref: gl.Ptr(ref), Recursive: gl.Ptr(recursive)}
	if dir != "" && dir != "." {
		opt.Path = gl.Ptr(dir)
	}
	var out []Blob
	for {
		nodes, resp, err := c.api.Repositories.ListTree(projectID, opt, ctxOpt(ctx))
		if err != nil {
			return nil, c.wrap(fmt.Sprintf("list %s at %s", dir, short(ref)), err)
		}
		for _, n := range nodes {
			if n.Type == "blob" {
				out = append(out, Blob{Path: n.Path, SHA: n.ID})
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func convNote(n *gl.Note) Note {
	out := Note{
		ID: n.ID, Body: n.Body, AuthorID: n.Author.ID, System: n.System,
		Resolvable: n.Resolvable, Resolved: n.Resolved, ResolvedBy: n.ResolvedBy.ID,
	}
	if p := n.Position; p != nil {
		out.Position = &Position{
			BaseSHA: p.BaseSHA, StartSHA: p.StartSHA, HeadSHA: p.HeadSHA,
			OldPath: p.OldPath, NewPath: p.NewPath, NewLine: int(p.NewLine), OldLine: int(p.OldLine),
		}
	}
	return out
}

// Notes lists the notes of a merge request, oldest first (all pages).
func (c *Client) Notes(ctx context.Context, mr MR) ([]Note, error) {
	var out []Note
	opt := &gl.ListMergeRequestNotesOptions{
		ListOptions: gl.ListOptions{PerPage: 100},
		OrderBy:     gl.Ptr("created_at"), Sort: gl.Ptr("asc"),
	}
	for {
		ns, resp, err := c.api.Notes.ListMergeRequestNotes(mr.ProjectID, mr.IID, opt, ctxOpt(ctx))
		if err != nil {
			return nil, c.wrap("list notes of "+mr.String(), err)
		}
		for _, n := range ns {
			out = append(out, convNote(n))
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// CreateNote posts a note once, without any retry (see CreateNoteOnce).
func (c *Client) CreateNote(ctx context.Context, mr MR, body string) (Note, error) {
	n, _, err := c.api.Notes.CreateMergeRequestNote(mr.ProjectID, mr.IID, &gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(body)}, ctxOpt(ctx))
	if err != nil {
		return Note{}, c.wrap("create note on "+mr.String(), err)
	}
	return convNote(n), nil
}

// UpdateNote replaces the body of a note.
func (c *Client) UpdateNote(ctx context.Context, mr MR, noteID int64, body string) error {
	_, _, err := c.api.Notes.UpdateMergeRequestNote(mr.ProjectID, mr.IID, noteID, &gl.UpdateMergeRequestNoteOptions{Body: gl.Ptr(body)}, ctxOpt(ctx))
	return c.wrap(fmt.Sprintf("update note %d on %s", noteID, mr), err)
}

// DeleteNote deletes a note.
func (c *Client) DeleteNote(ctx context.Context, mr MR, noteID int64) error {
	_, err := c.api.Notes.DeleteMergeRequestNote(mr.ProjectID, mr.IID, noteID, ctxOpt(ctx))
	return c.wrap(fmt.Sprintf("delete note %d on %s", noteID, mr), err)
}

func convDiscussion(d *gl.Discussion) Discussion {
	out := Discussion{ID: d.ID}
	for _, n := range d.Notes {
		out.Notes = append(out.Notes, convNote(n))
	}
	return out
}

// Discussions lists the threads of a merge request (all pages).
func (c *Client) Discussions(ctx context.Context, mr MR) ([]Discussion, error) {
	var out []Discussion
	opt := &gl.ListMergeRequestDiscussionsOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		ds, resp, err := c.api.Discussions.ListMergeRequestDiscussions(mr.ProjectID, mr.IID, opt, ctxOpt(ctx))
		if err != nil {
			return nil, c.wrap("list discussions of "+mr.String(), err)
		}
		for _, d := range ds {
			out = append(out, convDiscussion(d))
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// CreateDiscussion starts a thread, on a diff line when pos is set; no
// retry (see CreateDiscussionOnce).
func (c *Client) CreateDiscussion(ctx context.Context, mr MR, body string, pos *Position) (Discussion, error) {
	opt := &gl.CreateMergeRequestDiscussionOptions{Body: gl.Ptr(body)}
	if pos != nil {
		po := &gl.PositionOptions{
			PositionType: gl.Ptr("text"),
			BaseSHA:      gl.Ptr(pos.BaseSHA), StartSHA: gl.Ptr(pos.StartSHA), HeadSHA: gl.Ptr(pos.HeadSHA),
			OldPath: gl.Ptr(pos.OldPath), NewPath: gl.Ptr(pos.NewPath),
		}
		if pos.NewLine > 0 {
			po.NewLine = gl.Ptr(int64(pos.NewLine))
		}
		if pos.OldLine > 0 {
			po.OldLine = gl.Ptr(int64(pos.OldLine))
		}
		opt.Position = po
	}
	d, _, err := c.api.Discussions.CreateMergeRequestDiscussion(mr.ProjectID, mr.IID, opt, ctxOpt(ctx))
	if err != nil {
		return Discussion{}, c.wrap("create discussion on "+mr.String(), err)
	}
	return convDiscussion(d), nil
}

// Reply adds a note to a thread; no retry (see ReplyOnce).
func (c *Client) Reply(ctx context.Context, mr MR, discussionID, body string) (Note, error) {
	n, _, err := c.api.Discussions.AddMergeRequestDiscussionNote(mr.ProjectID, mr.IID, discussionID, &gl.AddMergeRequestDiscussionNoteOptions{Body: gl.Ptr(body)}, ctxOpt(ctx))
	if err != nil {
		return Note{}, c.wrap(fmt.Sprintf("reply to discussion %s on %s", discussionID, mr), err)
	}
	return convNote(n), nil
}

// Discussion reads one thread.
func (c *Client) Discussion(ctx context.Context, mr MR, discussionID string) (Discussion, error) {
	d, _, err := c.api.Discussions.GetMergeRequestDiscussion(mr.ProjectID, mr.IID, discussionID, ctxOpt(ctx))
	if err != nil {
		return Discussion{}, c.wrap(fmt.Sprintf("get discussion %s on %s", discussionID, mr), err)
	}
	return convDiscussion(d), nil
}

// ResolveDiscussion resolves (or reopens) a thread.
func (c *Client) ResolveDiscussion(ctx context.Context, mr MR, discussionID string, resolved bool) error {
	_, _, err := c.api.Discussions.ResolveMergeRequestDiscussion(mr.ProjectID, mr.IID, discussionID, &gl.ResolveMergeRequestDiscussionOptions{Resolved: gl.Ptr(resolved)}, ctxOpt(ctx))
	return c.wrap(fmt.Sprintf("resolve discussion %s on %s", discussionID, mr), err)
}

// AwardEmoji reacts to a note (name without colons, e.g. "eyes"). An
// emoji the bot already gave is not an error.
func (c *Client) AwardEmoji(ctx context.Context, mr MR, noteID int64, name string) error {
	_, _, err := c.api.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(mr.ProjectID, mr.IID, noteID, &gl.CreateAwardEmojiOptions{Name: name}, ctxOpt(ctx))
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(er.Message), "already") {
		return nil
	}
	return c.wrap(fmt.Sprintf("award %s on note %d of %s", name, noteID, mr), err)
}

// SetCommitStatus sets an external status on a commit. Re-sending the same
// state is harmless, so it is retried like an idempotent call.
func (c *Client) SetCommitStatus(ctx context.Context, projectID int64, st CommitStatus) error {
	opt := &gl.SetCommitStatusOptions{
		State: gl.BuildStateValue(st.State), Name: gl.Ptr(st.Name),
		TargetURL: gl.Ptr(st.TargetURL), Description: gl.Ptr(truncate(st.Description, 250)),
	}
	if st.Ref != "" {
		opt.Ref = gl.Ptr(st.Ref)
	}
	if st.TargetURL == "" {
		opt.TargetURL = nil
	}
	var err error
	wait := c.opts.CreateRetryWait
	for attempt := 0; ; attempt++ {
		_, _, err = c.api.Commits.SetCommitStatus(projectID, st.SHA, opt, ctxOpt(ctx))
		err = c.wrap(fmt.Sprintf("set status %s=%s on %s", st.Name, st.State, short(st.SHA)), err)
		var ae *APIError
		// 400 "Cannot transition status via :run from :running" means
		// the commit already has that state.
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "Cannot transition") {
			return nil
		}
		if err == nil || !Retryable(err) || attempt >= c.opts.CreateRetries {
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait *= 2
	}
}

// MemberAccess returns a user's effective access level in a project,
// inherited group membership included; NoAccess when not a member.
func (c *Client) MemberAccess(ctx context.Context, projectID, userID int64) (AccessLevel, error) {
	m, _, err := c.api.ProjectMembers.GetInheritedProjectMember(projectID, userID, ctxOpt(ctx))
	if err != nil {
		err = c.wrap(fmt.Sprintf("get member %d of project %d", userID, projectID), err)
		if errors.Is(err, ErrNotFound) {
			return NoAccess, nil
		}
		return NoAccess, err
	}
	return AccessLevel(m.AccessLevel), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
