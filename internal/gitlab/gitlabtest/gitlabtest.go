// Package gitlabtest is a fake GitLab for tests: an httptest server that
// serves the REST endpoints a reviewer uses, with GitLab's paths, JSON
// shapes, pagination headers and error bodies, keeps notes, discussions,
// award emoji and commit statuses in memory, records every call, and can
// inject faults (for example a 500 answer to a note POST whose note was
// stored anyway).
//
// Positions of inline discussions are validated the way GitLab does: the
// three SHAs must be one version's, and new_line must be a line that
// version added; otherwise the answer is GitLab's 400 "line_code" error.
package gitlabtest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Routes, as recorded in Call.Route and matched by Fault.Route.
const (
	RouteCurrentUser       = "GET /api/v4/user"
	RouteGetMR             = "GET /api/v4/projects/{id}/merge_requests/{iid}"
	RouteVersions          = "GET /api/v4/projects/{id}/merge_requests/{iid}/versions"
	RouteDiffs             = "GET /api/v4/projects/{id}/merge_requests/{iid}/diffs"
	RouteRawFile           = "GET /api/v4/projects/{id}/repository/files/{path}/raw"
	RouteTree              = "GET /api/v4/projects/{id}/repository/tree"
	RouteRawBlob           = "GET /api/v4/projects/{id}/repository/blobs/{sha}/raw"
	RouteListNotes         = "GET /api/v4/projects/{id}/merge_requests/{iid}/notes"
	RouteCreateNote        = "POST /api/v4/projects/{id}/merge_requests/{iid}/notes"
	RouteUpdateNote        = "PUT /api/v4/projects/{id}/merge_requests/{iid}/notes/{note}"
	RouteDeleteNote        = "DELETE /api/v4/projects/{id}/merge_requests/{iid}/notes/{note}"
	RouteListDiscussions   = "GET /api/v4/projects/{id}/merge_requests/{iid}/discussions"
	RouteCreateDiscussion  = "POST /api/v4/projects/{id}/merge_requests/{iid}/discussions"
	RouteGetDiscussion     = "GET /api/v4/projects/{id}/merge_requests/{iid}/discussions/{did}"
	RouteResolveDiscussion = "PUT /api/v4/projects/{id}/merge_requests/{iid}/discussions/{did}"
	RouteReply             = "POST /api/v4/projects/{id}/merge_requests/{iid}/discussions/{did}/notes"
	RouteAwardEmoji        = "POST /api/v4/projects/{id}/merge_requests/{iid}/notes/{note}/award_emoji"
	RouteListAwardEmoji    = "GET /api/v4/projects/{id}/merge_requests/{iid}/notes/{note}/award_emoji"
	RouteSetStatus         = "POST /api/v4/projects/{id}/statuses/{sha}"
	RouteListStatuses      = "GET /api/v4/projects/{id}/repository/commits/{sha}/statuses"
	RouteMember            = "GET /api/v4/projects/{id}/members/all/{user}"
)

// User is a GitLab user known to the fake.
type User struct {
	ID       int64
	Username string
}

// Call is one recorded request.
type Call struct {
	Route  string
	Path   string
	Status int
	Body   string
}

// Fault makes the fake answer Status to the next Times calls of Route.
// With Apply, the request is processed (a note is stored) before the error
// is returned — what a timeout or a proxy error after the write looks like.
type Fault struct {
	Route  string
	Status int
	Times  int
	Apply  bool
}

// Note is a stored note.
type Note struct {
	ID           int64
	DiscussionID string
	Body         string
	AuthorID     int64
	System       bool
	Type         string // "", "DiffNote", "DiscussionNote"
	Resolvable   bool
	Resolved     bool
	ResolvedBy   int64
	Position     *Position
	Awards       []string
}

// Position is a stored diff position.
type Position struct {
	BaseSHA  string `json:"base_sha"`
	StartSHA string `json:"start_sha"`
	HeadSHA  string `json:"head_sha"`
	OldPath  string `json:"old_path"`
	NewPath  string `json:"new_path"`
	NewLine  int    `json:"new_line,omitempty"`
	OldLine  int    `json:"old_line,omitempty"`
}

// Discussion is a stored thread.
type Discussion struct {
	ID             string
	IndividualNote bool
	Notes          []*Note
}

// Status is a stored commit status.
type Status struct {
	SHA, Ref, Name, State, TargetURL, Description string
}

// Change is a file changed by a push: Content is the new content; Deleted
// removes the file.
type Change struct {
	Path    string
	Content string
	Deleted bool
}

type version struct {
	ID                         int64
	HeadSHA, BaseSHA, StartSHA string
	diffs                      []diff
}

type diff struct {
	OldPath, NewPath string
	Diff             string
	NewFile, Deleted bool
	added            map[int]bool
	context          map[int]int // new line -> old line
	renamed          bool
	tooLarge         bool
	collapsed        bool
	aMode, bMode     string
}

// MR is a merge request of the fake.
type MR struct {
	ProjectID    int64
	IID          int64
	Title        string
	State        string
	Draft        bool
	AuthorID     int64
	SourceBranch string
	TargetBranch string
	// BaseSHA is the target branch commit the MR starts from; its files
	// are set with SetFile.
	BaseSHA string

	versions    []*version // newest first
	changes     map[string]*Change
	discussions []*Discussion
}

type project struct {
	id       int64
	files    map[string]map[string][]byte // sha -> path -> content
	blobs    map[string][]byte            // blob id -> content, of every commit
	members  map[int64]int
	mrs      map[int64]*MR
	statuses []Status
}

// Server is the fake GitLab.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	tokens   map[string]User
	projects map[int64]*project
	calls    []Call
	faults   []*Fault
	nextID   int64
	hook     func(route string)
	ciState  *ciState // pipelines, jobs and uploads (ci.go)
}

// New starts a fake GitLab, closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a fake GitLab outside a test (load scripts); the caller
// closes it.
func NewServer() *Server {
	s := &Server{tokens: map[string]User{}, projects: map[int64]*project{}, nextID: 1000}
	mux := http.NewServeMux()
	handle := func(route string, h func(w http.ResponseWriter, r *http.Request, u User) (int, any)) {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { s.serve(route, h, w, r) })
	}
	handle(RouteCurrentUser, s.currentUser)
	handle(RouteGetMR, s.getMR)
	handle(RouteVersions, s.versions)
	handle(RouteDiffs, s.diffs)
	handle(RouteRawFile, s.rawFile)
	handle(RouteRawBlob, s.rawBlob)
	handle(RouteTree, s.tree)
	handle(RouteListNotes, s.listNotes)
	handle(RouteCreateNote, s.createNote)
	handle(RouteUpdateNote, s.updateNote)
	handle(RouteDeleteNote, s.deleteNote)
	handle(RouteListDiscussions, s.listDiscussions)
	handle(RouteCreateDiscussion, s.createDiscussion)
	handle(RouteGetDiscussion, s.getDiscussion)
	handle(RouteResolveDiscussion, s.resolveDiscussion)
	handle(RouteReply, s.reply)
	handle(RouteAwardEmoji, s.awardEmoji)
	handle(RouteListAwardEmoji, s.listAwardEmoji)
	handle(RouteSetStatus, s.setStatus)
	handle(RouteListStatuses, s.listStatuses)
	handle(RouteMember, s.member)
	s.registerCI(handle)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls = append(s.calls, Call{Route: "unknown " + r.Method + " " + r.URL.EscapedPath(), Path: r.URL.EscapedPath(), Status: 404})
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// AddUser makes token authenticate as u.
func (s *Server) AddUser(token string, u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = u
}

func (s *Server) project(id int64) *project {
	p := s.projects[id]
	if p == nil {
		p = &project{id: id, files: map[string]map[string][]byte{}, blobs: map[string][]byte{}, members: map[int64]int{}, mrs: map[int64]*MR{}}
		s.projects[id] = p
	}
	return p
}

// SetMember gives a user an access level (10 Guest … 50 Owner) in a project.
func (s *Server) SetMember(projectID, userID int64, level int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.project(projectID).members[userID] = level
}

// SetFile stores a file of a project at a commit.
func (s *Server) SetFile(projectID int64, sha, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(projectID)
	if p.files[sha] == nil {
		p.files[sha] = map[string][]byte{}
	}
	p.files[sha][path] = []byte(content)
	p.blobs[BlobSHA([]byte(content))] = []byte(content)
}

// AddMR creates a merge request (no versions until the first Push).
func (s *Server) AddMR(mr MR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := mr
	if m.State == "" {
		m.State = "opened"
	}
	if m.TargetBranch == "" {
		m.TargetBranch = "main"
	}
	if m.SourceBranch == "" {
		m.SourceBranch = fmt.Sprintf("feature-%d", m.IID)
	}
	m.changes = map[string]*Change{}
	s.project(m.ProjectID).mrs[m.IID] = &m
}

// SetMRState changes an MR's state (opened, closed, merged) and draft flag.
func (s *Server) SetMRState(projectID, iid int64, state string, draft bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.project(projectID).mrs[iid]
	m.State, m.Draft = state, draft
}

// Push adds a commit sha to the MR's source branch with the given changes,
// creating a new MR version whose diffs compare the MR base with sha.
func (s *Server) Push(projectID, iid int64, sha string, changes ...Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(projectID)
	m := p.mrs[iid]
	for _, c := range changes {
		c := c
		m.changes[c.Path] = &c
	}
	base := p.files[m.BaseSHA]
	head := map[string][]byte{}
	for k, v := range base {
		head[k] = v
	}
	paths := make([]string, 0, len(m.changes))
	for path := range m.changes {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	v := &version{ID: s.id(), HeadSHA: sha, BaseSHA: m.BaseSHA, StartSHA: m.BaseSHA}
	for _, path := range paths {
		c := m.changes[path]
		old, existed := base[path]
		if c.Deleted {
			delete(head, path)
			if existed {
				v.diffs = append(v.diffs, makeDiff(path, string(old), "", false, true))
			}
			continue
		}
		head[path] = []byte(c.Content)
		p.blobs[BlobSHA(head[path])] = head[path]
		if existed && string(old) == c.Content {
			continue
		}
		v.diffs = append(v.diffs, makeDiff(path, string(old), c.Content, !existed, false))
	}
	p.files[sha] = head
	m.versions = append([]*version{v}, m.versions...)
}

// CollapseDiff makes GitLab report the latest version's diff of path as
// too large (empty diff text), as it does past its diff limits.
func (s *Server) CollapseDiff(projectID, iid int64, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.project(projectID).mrs[iid]
	for i := range m.versions[0].diffs {
		d := &m.versions[0].diffs[i]
		if d.NewPath == path {
			d.Diff, d.tooLarge, d.collapsed = "", true, true
		}
	}
}

// AddUserNote posts a note as a user (not through the API), returning the
// note and discussion ids.
func (s *Server) AddUserNote(projectID, iid, userID int64, body string) (noteID int64, discussionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.project(projectID).mrs[iid]
	d := s.newDiscussion(m, true)
	n := &Note{ID: s.id(), DiscussionID: d.ID, Body: body, AuthorID: userID}
	d.Notes = append(d.Notes, n)
	return n.ID, d.ID
}

// AddUserReply adds a user's reply to a discussion and returns its id.
func (s *Server) AddUserReply(projectID, iid int64, discussionID string, userID int64, body string) (noteID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.project(projectID).mrs[iid]
	for _, d := range m.discussions {
		if d.ID == discussionID {
			n := &Note{ID: s.id(), DiscussionID: d.ID, Body: body, AuthorID: userID}
			d.Notes = append(d.Notes, n)
			return n.ID
		}
	}
	return 0
}

// ResolveByUser resolves or reopens a discussion as a user would.
func (s *Server) ResolveByUser(projectID, iid int64, discussionID string, userID int64, resolved bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.project(projectID).mrs[iid]
	for _, d := range m.discussions {
		if d.ID == discussionID {
			setResolved(d, resolved, userID)
		}
	}
}

// Fail injects a fault.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// SetHook installs a function called with the route before each request
// is handled (outside the server's lock, so it may block).
func (s *Server) SetHook(h func(route string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// Calls returns the recorded calls.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CountCalls counts recorded calls of a route.
func (s *Server) CountCalls(route string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Route == route {
			n++
		}
	}
	return n
}

// Notes returns copies of all notes of an MR in creation order.
func (s *Server) Notes(projectID, iid int64) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	for _, n := range s.allNotes(s.project(projectID).mrs[iid]) {
		out = append(out, *n)
	}
	return out
}

// Discussions returns copies of the MR's threads.
func (s *Server) Discussions(projectID, iid int64) []Discussion {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Discussion
	for _, d := range s.project(projectID).mrs[iid].discussions {
		c := Discussion{ID: d.ID, IndividualNote: d.IndividualNote}
		for _, n := range d.Notes {
			nc := *n
			c.Notes = append(c.Notes, &nc)
		}
		out = append(out, c)
	}
	return out
}

// Statuses returns the commit statuses set on a project, in order.
func (s *Server) Statuses(projectID int64) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.project(projectID).statuses)
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

func (s *Server) newDiscussion(m *MR, individual bool) *Discussion {
	d := &Discussion{ID: fmt.Sprintf("%040x", s.id()), IndividualNote: individual}
	m.discussions = append(m.discussions, d)
	return d
}

func (s *Server) allNotes(m *MR) []*Note {
	var out []*Note
	for _, d := range m.discussions {
		out = append(out, d.Notes...)
	}
	slices.SortFunc(out, func(a, b *Note) int { return int(a.ID - b.ID) })
	return out
}

// serve authenticates, applies faults and hooks, runs h and records the call.
func (s *Server) serve(route string, h func(http.ResponseWriter, *http.Request, User) (int, any), w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(route)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Call{Route: route, Path: r.URL.EscapedPath(), Body: string(body)}
	u, ok := s.tokens[r.Header.Get("PRIVATE-TOKEN")]
	if !ok {
		rec.Status = http.StatusUnauthorized
		s.calls = append(s.calls, rec)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	var fault *Fault
	for i, f := range s.faults {
		if f.Route == route {
			fault = f
			f.Times--
			if f.Times <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			break
		}
	}
	if fault != nil && !fault.Apply {
		rec.Status = fault.Status
		s.calls = append(s.calls, rec)
		writeJSON(w, fault.Status, map[string]string{"message": fmt.Sprintf("%d injected fault", fault.Status)})
		return
	}
	status, v := h(w, r, u)
	if fault != nil {
		status, v = fault.Status, map[string]string{"message": fmt.Sprintf("%d injected fault (after applying)", fault.Status)}
	}
	rec.Status = status
	s.calls = append(s.calls, rec)
	if status == 0 { // the handler wrote the response itself
		return
	}
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound() (int, any) { return http.StatusNotFound, map[string]string{"message": "404 Not found"} }

func badRequest(msg string) (int, any) {
	return http.StatusBadRequest, map[string]string{"message": "400 Bad request - " + msg}
}

func (s *Server) mrOf(r *http.Request) *MR {
	pid, err1 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	iid, err2 := strconv.ParseInt(r.PathValue("iid"), 10, 64)
	if err1 != nil || err2 != nil {
		return nil
	}
	p := s.projects[pid]
	if p == nil {
		return nil
	}
	return p.mrs[iid]
}

// paginate writes one page of items with GitLab's pagination headers.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) (int, any) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if page < 1 {
		page = 1
	}
	if per < 1 {
		per = 20
	}
	if per > 100 {
		per = 100
	}
	total := len(items)
	pages := (total + per - 1) / per
	if pages == 0 {
		pages = 1
	}
	lo := min((page-1)*per, total)
	hi := min(lo+per, total)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
	} else {
		h.Set("X-Next-Page", "")
	}
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
	}
	out := items[lo:hi]
	if out == nil {
		out = []T{}
	}
	return http.StatusOK, out
}

func userJSON(u User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Username, "name": u.Username, "state": "active"}
}

func (s *Server) userByID(id int64) User {
	for _, u := range s.tokens {
		if u.ID == id {
			return u
		}
	}
	return User{ID: id, Username: fmt.Sprintf("user%d", id)}
}

func (s *Server) currentUser(_ http.ResponseWriter, _ *http.Request, u User) (int, any) {
	return http.StatusOK, userJSON(u)
}

func (s *Server) mrJSON(m *MR) map[string]any {
	sha := ""
	refs := map[string]any{"base_sha": m.BaseSHA, "start_sha": m.BaseSHA, "head_sha": nil}
	if len(m.versions) > 0 {
		sha = m.versions[0].HeadSHA
		refs["head_sha"] = sha
	}
	return map[string]any{
		"id": m.ProjectID*100000 + m.IID, "iid": m.IID, "project_id": m.ProjectID, "title": m.Title,
		"state": m.State, "draft": m.Draft, "work_in_progress": m.Draft, "sha": sha,
		"web_url":       fmt.Sprintf("%s/group/project-%d/-/merge_requests/%d", s.URL, m.ProjectID, m.IID),
		"source_branch": m.SourceBranch, "target_branch": m.TargetBranch,
		"source_project_id": m.ProjectID, "target_project_id": m.ProjectID,
		"author": userJSON(s.userByID(m.AuthorID)), "diff_refs": refs,
		"changes_count": strconv.Itoa(len(m.changes)),
	}
}

func (s *Server) getMR(_ http.ResponseWriter, r *http.Request, _ User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	return http.StatusOK, s.mrJSON(m)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	var out []map[string]any
	for _, v := range m.versions {
		out = append(out, map[string]any{
			"id": v.ID, "head_commit_sha": v.HeadSHA, "base_commit_sha": v.BaseSHA, "start_commit_sha": v.StartSHA,
			"created_at": time.Now().UTC().Format(time.RFC3339), "merge_request_id": m.ProjectID*100000 + m.IID,
			"state": "collected", "real_size": strconv.Itoa(len(v.diffs)),
		})
	}
	return paginate(w, r, out)
}

func (s *Server) diffs(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	var out []map[string]any
	if len(m.versions) > 0 {
		for _, d := range m.versions[0].diffs {
			out = append(out, map[string]any{
				"old_path": d.OldPath, "new_path": d.NewPath, "a_mode": d.aMode, "b_mode": d.bMode,
				"diff": d.Diff, "new_file": d.NewFile, "renamed_file": d.renamed, "deleted_file": d.Deleted,
				"generated_file": false, "collapsed": d.collapsed, "too_large": d.tooLarge,
			})
		}
	}
	return paginate(w, r, out)
}

func (s *Server) rawFile(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p := s.projects[pid]
	ref := r.URL.Query().Get("ref")
	if p == nil || ref == "" {
		return notFound()
	}
	b, ok := p.files[ref][r.PathValue("path")]
	if !ok {
		return http.StatusNotFound, map[string]string{"message": "404 File Not Found"}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return 0, nil
}

// rawBlob serves a blob of the project by its id (any commit's).
func (s *Server) rawBlob(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p := s.projects[pid]
	if p == nil {
		return notFound()
	}
	if b, ok := p.blobs[r.PathValue("sha")]; ok {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		return 0, nil
	}
	return http.StatusNotFound, map[string]string{"message": "404 Blob Not Found"}
}

// tree lists the entries in a directory (query path, "" the root) at a
// commit, sorted by name as GitLab does, folders first: files as blobs
// whose id is their git blob SHA-1, subdirectories as trees. With
// recursive=true it lists the whole subtree, each folder followed by its
// entries. An unknown commit or a directory without files is GitLab's 404
// "Tree Not Found".
func (s *Server) tree(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p := s.projects[pid]
	ref := r.URL.Query().Get("ref")
	if p == nil || ref == "" {
		return notFound()
	}
	files, ok := p.files[ref]
	if !ok {
		return http.StatusNotFound, map[string]string{"message": "404 Tree Not Found"}
	}
	dir := strings.Trim(r.URL.Query().Get("path"), "/")
	recursive := r.URL.Query().Get("recursive") == "true"
	out := treeEntries(files, dir, recursive)
	if len(out) == 0 {
		return http.StatusNotFound, map[string]string{"message": "404 Tree Not Found"}
	}
	return paginate(w, r, out)
}

func treeEntries(files map[string][]byte, dir string, recursive bool) []map[string]any {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	type entry struct {
		name string
		tree bool
	}
	seen := map[string]bool{}
	var entries []entry
	for path := range files {
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok || rest == "" {
			continue
		}
		name, _, sub := strings.Cut(rest, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		entries = append(entries, entry{name, sub})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if a.tree != b.tree {
			if a.tree {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		path := prefix + e.name
		if e.tree {
			out = append(out, map[string]any{"id": treeID(path), "name": e.name, "type": "tree", "path": path, "mode": "040000"})
			if recursive {
				out = append(out, treeEntries(files, path, true)...)
			}
			continue
		}
		out = append(out, map[string]any{"id": BlobSHA(files[path]), "name": e.name, "type": "blob", "path": path, "mode": "100644"})
	}
	return out
}

// BlobSHA is git's object id of a file's content (git hash-object).
func BlobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func treeID(path string) string {
	h := sha1.Sum([]byte("tree " + path))
	return hex.EncodeToString(h[:])
}

func (s *Server) noteJSON(m *MR, n *Note) map[string]any {
	out := map[string]any{
		"id": n.ID, "body": n.Body, "author": userJSON(s.userByID(n.AuthorID)), "system": n.System,
		"noteable_type": "MergeRequest", "noteable_id": m.ProjectID*100000 + m.IID, "noteable_iid": m.IID,
		"project_id": m.ProjectID, "resolvable": n.Resolvable, "resolved": n.Resolved,
		"created_at": time.Now().UTC().Format(time.RFC3339), "type": nil,
	}
	if n.Type != "" {
		out["type"] = n.Type
	}
	if n.Resolved {
		out["resolved_by"] = userJSON(s.userByID(n.ResolvedBy))
	}
	if n.Position != nil {
		out["position"] = map[string]any{
			"base_sha": n.Position.BaseSHA, "start_sha": n.Position.StartSHA, "head_sha": n.Position.HeadSHA,
			"old_path": n.Position.OldPath, "new_path": n.Position.NewPath, "position_type": "text",
			"new_line": nullInt(n.Position.NewLine), "old_line": nullInt(n.Position.OldLine),
		}
	}
	return out
}

func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func (s *Server) discussionJSON(m *MR, d *Discussion) map[string]any {
	notes := []map[string]any{}
	for _, n := range d.Notes {
		notes = append(notes, s.noteJSON(m, n))
	}
	return map[string]any{"id": d.ID, "individual_note": d.IndividualNote, "notes": notes}
}

func (s *Server) listNotes(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	notes := s.allNotes(m)
	if r.URL.Query().Get("sort") == "desc" {
		slices.Reverse(notes)
	}
	var out []map[string]any
	for _, n := range notes {
		out = append(out, s.noteJSON(m, n))
	}
	return paginate(w, r, out)
}

type bodyOpts struct {
	Body     *string   `json:"body"`
	Resolved *bool     `json:"resolved"`
	Name     string    `json:"name"`
	Position *Position `json:"position"`
	// statuses
	State       string `json:"state"`
	Ref         string `json:"ref"`
	StatusName  string `json:"-"`
	TargetURL   string `json:"target_url"`
	Description string `json:"description"`
}

func readOpts(r *http.Request) (bodyOpts, error) {
	var o bodyOpts
	b, _ := io.ReadAll(r.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &o); err != nil {
			return o, err
		}
		var raw map[string]any
		_ = json.Unmarshal(b, &raw)
		if n, ok := raw["name"].(string); ok {
			o.StatusName = n
		}
	}
	q := r.URL.Query()
	if o.Body == nil && q.Has("body") {
		v := q.Get("body")
		o.Body = &v
	}
	if o.Resolved == nil && q.Has("resolved") {
		v := q.Get("resolved") == "true"
		o.Resolved = &v
	}
	return o, nil
}

func (s *Server) createNote(_ http.ResponseWriter, r *http.Request, u User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	o, err := readOpts(r)
	if err != nil || o.Body == nil || *o.Body == "" {
		return badRequest("body is missing")
	}
	d := s.newDiscussion(m, true)
	n := &Note{ID: s.id(), DiscussionID: d.ID, Body: *o.Body, AuthorID: u.ID}
	d.Notes = append(d.Notes, n)
	return http.StatusCreated, s.noteJSON(m, n)
}

func (s *Server) findNote(m *MR, r *http.Request) *Note {
	id, _ := strconv.ParseInt(r.PathValue("note"), 10, 64)
	for _, n := range s.allNotes(m) {
		if n.ID == id {
			return n
		}
	}
	return nil
}

func (s *Server) updateNote(_ http.ResponseWriter, r *http.Request, u User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	n := s.findNote(m, r)
	if n == nil {
		return notFound()
	}
	if n.AuthorID != u.ID {
		return http.StatusForbidden, map[string]string{"message": "403 Forbidden"}
	}
	o, err := readOpts(r)
	if err != nil || o.Body == nil {
		return badRequest("body is missing")
	}
	n.Body = *o.Body
	return http.StatusOK, s.noteJSON(m, n)
}

func (s *Server) deleteNote(_ http.ResponseWriter, r *http.Request, u User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	n := s.findNote(m, r)
	if n == nil {
		return notFound()
	}
	if n.AuthorID != u.ID {
		return http.StatusForbidden, map[string]string{"message": "403 Forbidden"}
	}
	for _, d := range m.discussions {
		d.Notes = slices.DeleteFunc(d.Notes, func(x *Note) bool { return x == n })
	}
	m.discussions = slices.DeleteFunc(m.discussions, func(d *Discussion) bool { return len(d.Notes) == 0 })
	return http.StatusNoContent, nil
}

func (s *Server) listDiscussions(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	var out []map[string]any
	for _, d := range m.discussions {
		out = append(out, s.discussionJSON(m, d))
	}
	return paginate(w, r, out)
}

// checkPosition validates a position like GitLab: one version's SHAs and
// a line of that version's diff.
func checkPosition(m *MR, p *Position) string {
	const lineCode = `Note {:line_code=>["can't be blank", "must be a valid line code"]}`
	var v *version
	for _, x := range m.versions {
		if x.HeadSHA == p.HeadSHA && x.BaseSHA == p.BaseSHA && x.StartSHA == p.StartSHA {
			v = x
		}
	}
	if v == nil {
		return lineCode
	}
	for _, d := range v.diffs {
		if d.NewPath != p.NewPath || d.OldPath != p.OldPath {
			continue
		}
		switch {
		case p.NewLine > 0 && p.OldLine == 0:
			if d.added[p.NewLine] {
				return ""
			}
		case p.NewLine > 0 && p.OldLine > 0:
			if old, ok := d.context[p.NewLine]; ok && old == p.OldLine {
				return ""
			}
		}
		return lineCode
	}
	return lineCode
}

func (s *Server) createDiscussion(_ http.ResponseWriter, r *http.Request, u User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	o, err := readOpts(r)
	if err != nil || o.Body == nil || *o.Body == "" {
		return badRequest("body is missing")
	}
	n := &Note{ID: s.id(), Body: *o.Body, AuthorID: u.ID, Type: "DiscussionNote", Resolvable: true}
	if o.Position != nil {
		if msg := checkPosition(m, o.Position); msg != "" {
			return badRequest(msg)
		}
		p := *o.Position
		n.Position, n.Type = &p, "DiffNote"
	}
	d := s.newDiscussion(m, false)
	n.DiscussionID = d.ID
	d.Notes = append(d.Notes, n)
	return http.StatusCreated, s.discussionJSON(m, d)
}

func (s *Server) findDiscussion(m *MR, r *http.Request) *Discussion {
	for _, d := range m.discussions {
		if d.ID == r.PathValue("did") {
			return d
		}
	}
	return nil
}

func (s *Server) getDiscussion(_ http.ResponseWriter, r *http.Request, _ User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	d := s.findDiscussion(m, r)
	if d == nil {
		return notFound()
	}
	return http.StatusOK, s.discussionJSON(m, d)
}

func setResolved(d *Discussion, resolved bool, by int64) {
	for _, n := range d.Notes {
		if n.Resolvable {
			n.Resolved = resolved
			n.ResolvedBy = 0
			if resolved {
				n.ResolvedBy = by
			}
		}
	}
}

func (s *Server) resolveDiscussion(_ http.ResponseWriter, r *http.Request, u User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	d := s.findDiscussion(m, r)
	if d == nil {
		return notFound()
	}
	o, err := readOpts(r)
	if err != nil || o.Resolved == nil {
		return badRequest("resolved is missing")
	}
	if d.IndividualNote {
		return badRequest("discussion is not resolvable")
	}
	setResolved(d, *o.Resolved, u.ID)
	return http.StatusOK, s.discussionJSON(m, d)
}

func (s *Server) reply(_ http.ResponseWriter, r *http.Request, u User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	d := s.findDiscussion(m, r)
	if d == nil {
		return notFound()
	}
	o, err := readOpts(r)
	if err != nil || o.Body == nil || *o.Body == "" {
		return badRequest("body is missing")
	}
	n := &Note{ID: s.id(), DiscussionID: d.ID, Body: *o.Body, AuthorID: u.ID, Type: "DiscussionNote"}
	if d.IndividualNote {
		// Replying to a plain comment turns it into a thread.
		d.IndividualNote = false
	}
	if len(d.Notes) > 0 && d.Notes[0].Resolvable {
		n.Resolvable, n.Resolved = true, d.Notes[0].Resolved
	}
	d.Notes = append(d.Notes, n)
	return http.StatusCreated, s.noteJSON(m, n)
}

func (s *Server) awardEmoji(_ http.ResponseWriter, r *http.Request, u User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	n := s.findNote(m, r)
	if n == nil {
		return notFound()
	}
	o, err := readOpts(r)
	if err != nil || o.Name == "" {
		return badRequest("name is missing")
	}
	key := fmt.Sprintf("%s:%d", o.Name, u.ID)
	if slices.Contains(n.Awards, key) {
		return http.StatusBadRequest, map[string]any{"message": "Award Emoji Name has already been taken"}
	}
	n.Awards = append(n.Awards, key)
	return http.StatusCreated, map[string]any{
		"id": s.id(), "name": o.Name, "user": userJSON(u), "awardable_id": n.ID, "awardable_type": "Note",
		"created_at": time.Now().UTC().Format(time.RFC3339),
	}
}

func (s *Server) listAwardEmoji(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	m := s.mrOf(r)
	if m == nil {
		return notFound()
	}
	n := s.findNote(m, r)
	if n == nil {
		return notFound()
	}
	var out []map[string]any
	for i, a := range n.Awards {
		name, uid, _ := strings.Cut(a, ":")
		id, _ := strconv.ParseInt(uid, 10, 64)
		out = append(out, map[string]any{"id": i + 1, "name": name, "user": userJSON(s.userByID(id)), "awardable_id": n.ID, "awardable_type": "Note"})
	}
	return paginate(w, r, out)
}

var statusStates = map[string]bool{"pending": true, "running": true, "success": true, "failed": true, "canceled": true, "skipped": true}

func (s *Server) setStatus(_ http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p := s.projects[pid]
	if p == nil {
		return notFound()
	}
	o, err := readOpts(r)
	if err != nil || !statusStates[o.State] {
		return badRequest("state does not have a valid value")
	}
	name := o.StatusName
	if name == "" {
		name = "default"
	}
	sha := r.PathValue("sha")
	if _, ok := p.files[sha]; !ok {
		return http.StatusNotFound, map[string]string{"message": "404 References for commit Not Found"}
	}
	for i := len(p.statuses) - 1; i >= 0; i-- {
		st := p.statuses[i]
		if st.SHA == sha && st.Name == name {
			if st.State == o.State && o.State == "running" {
				return badRequest("Cannot transition status via :run from :running")
			}
			break
		}
	}
	st := Status{SHA: sha, Ref: o.Ref, Name: name, State: o.State, TargetURL: o.TargetURL, Description: o.Description}
	p.statuses = append(p.statuses, st)
	return http.StatusCreated, map[string]any{
		"id": s.id(), "sha": sha, "ref": st.Ref, "status": st.State, "name": st.Name,
		"target_url": st.TargetURL, "description": st.Description, "allow_failure": false,
	}
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p := s.projects[pid]
	if p == nil {
		return notFound()
	}
	var out []map[string]any
	for _, st := range p.statuses {
		if st.SHA == r.PathValue("sha") {
			out = append(out, map[string]any{"sha": st.SHA, "ref": st.Ref, "status": st.State, "name": st.Name, "target_url": st.TargetURL, "description": st.Description})
		}
	}
	return paginate(w, r, out)
}

func (s *Server) member(_ http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	uid, _ := strconv.ParseInt(r.PathValue("user"), 10, 64)
	p := s.projects[pid]
	if p == nil {
		return notFound()
	}
	lvl, ok := p.members[uid]
	if !ok {
		return notFound()
	}
	u := s.userByID(uid)
	return http.StatusOK, map[string]any{"id": u.ID, "username": u.Username, "name": u.Username, "state": "active", "access_level": lvl}
}
