// Package webhook receives GitLab webhooks: it checks the secret token in
// constant time, decodes merge-request and note events, keeps the ones that
// ask for a review or carry a /pgai command, drops duplicates, hands them to
// an Enqueuer and answers at once. It does no review work.
//
// Answers: 401 for a wrong token (nothing queued); 202 when a task was
// queued; 200 for duplicates and for events that are deliberately ignored
// (GitLab disables hooks that keep failing, so ignoring is not an error);
// 400 for a body that is not a GitLab event; 503 when the queue is down.
package webhook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"gitlab.com/pgai/reviewer/internal/review"
)

// Command is a /pgai note to answer.
type Command struct {
	ProjectID      int64  `json:"project_id"`
	MRIID          int64  `json:"mr_iid"`
	NoteID         int64  `json:"note_id"`
	DiscussionID   string `json:"discussion_id"`
	AuthorID       int64  `json:"author_id"`
	AuthorUsername string `json:"author_username"`
	// Text is the note from its /pgai line on.
	Text string `json:"text"`
	// HeadSHA is the MR head when the note was written.
	HeadSHA string `json:"head_sha"`
	// Path and Line locate a comment made on a diff line (0 otherwise).
	Path string `json:"path,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Task is one unit of work for the queue: a review or a command.
type Task struct {
	// DeliveryKey is GitLab's Idempotency-Key (empty on old GitLab).
	DeliveryKey string
	Review      *review.Job
	Command     *Command
}

// Enqueuer stores a task durably. duplicate is true when an equal task
// (same MR and head SHA, or same note) was already queued or done.
type Enqueuer interface {
	Enqueue(ctx context.Context, t Task) (duplicate bool, err error)
}

// Options configure the handler.
type Options struct {
	// Secret is the webhook's secret token; required.
	Secret string
	// Enqueuer receives the tasks; required.
	Enqueuer Enqueuer
	// BotUserID is the reviewer's own GitLab user: its notes are ignored.
	BotUserID int64
	// BotUsername is used when an event lacks ids (optional).
	BotUsername string
	// SkipDrafts ignores draft MRs until they are marked ready.
	SkipDrafts bool
	// MaxBody caps the request body (default 4 MiB).
	MaxBody int64
	// Logger receives one line per handled delivery; nil discards.
	Logger *slog.Logger
	// Metrics, when set, counts deliveries; also served on /metrics.
	Metrics *Metrics
	// Ready reports whether the service can work (database reachable,
	// schema applied), for /readyz.
	Ready func(ctx context.Context) error
	// EnqueueTimeout bounds the enqueue of one delivery (default 5s).
	EnqueueTimeout time.Duration
}

// Prefix starts a command note.
const Prefix = "/pgai"

// Handler serves POST /webhook/gitlab, /healthz, /readyz and /metrics.
type Handler struct {
	o      Options
	mux    *http.ServeMux
	secret []byte
	seen   *keyCache
}

// NewHandler checks the options and returns the handler.
func NewHandler(o Options) (*Handler, error) {
	if o.Secret == "" {
		return nil, errors.New("webhook: no secret token configured")
	}
	if o.Enqueuer == nil {
		return nil, errors.New("webhook: no enqueuer")
	}
	if o.MaxBody == 0 {
		o.MaxBody = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.EnqueueTimeout == 0 {
		o.EnqueueTimeout = 5 * time.Second
	}
	h := &Handler{o: o, mux: http.NewServeMux(), secret: []byte(o.Secret), seen: newKeyCache(50000)}
	h.mux.HandleFunc("POST /webhook/gitlab", h.serveWebhook)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	h.mux.HandleFunc("GET /readyz", h.serveReady)
	h.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if o.Metrics == nil {
			http.NotFound(w, r)
			return
		}
		o.Metrics.ServeHTTP(w, r)
	})
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) serveReady(w http.ResponseWriter, r *http.Request) {
	if h.o.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := h.o.Ready(ctx); err != nil {
			h.o.Logger.WarnContext(ctx, "not ready", "err", err)
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ready\n")
}

// outcome is what happened to a delivery, for the answer, logs and metrics.
type outcome struct {
	status int
	label  string // queued, duplicate, ignored, unauthorized, bad_request, error
	reason string
}

func (h *Handler) serveWebhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	event := r.Header.Get("X-Gitlab-Event")
	out := h.handle(r, event)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(out.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": out.label, "reason": out.reason})
	if h.o.Metrics != nil {
		h.o.Metrics.Delivery(metricEvent(event), out.label, time.Since(start))
	}
	level := slog.LevelDebug
	if out.label != "ignored" && out.label != "duplicate" {
		level = slog.LevelInfo
	}
	if out.status >= 400 {
		level = slog.LevelWarn
	}
	h.o.Logger.Log(r.Context(), level, "webhook", "event", event, "outcome", out.label, "reason", out.reason,
		"delivery", r.Header.Get("Idempotency-Key"), "duration_ms", time.Since(start).Milliseconds())
}

func metricEvent(e string) string {
	switch e {
	case "Merge Request Hook", "Note Hook", "Confidential Note Hook", "Push Hook", "Pipeline Hook", "Emoji Hook", "System Hook":
		return e
	}
	return "other"
}

func (h *Handler) handle(r *http.Request, event string) outcome {
	token := r.Header.Get("X-Gitlab-Token")
	if subtle.ConstantTimeCompare([]byte(token), h.secret) != 1 {
		return outcome{status: http.StatusUnauthorized, label: "unauthorized", reason: "bad X-Gitlab-Token"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, h.o.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return outcome{status: http.StatusRequestEntityTooLarge, label: "bad_request", reason: fmt.Sprintf("body over %d bytes", h.o.MaxBody)}
		}
		return outcome{status: http.StatusBadRequest, label: "bad_request", reason: "read body"}
	}
	var task *Task
	var why string
	switch event {
	case "Merge Request Hook":
		task, why, err = h.mergeRequestTask(body)
	case "Note Hook", "Confidential Note Hook":
		task, why, err = h.noteTask(body)
	default:
		return outcome{status: http.StatusOK, label: "ignored", reason: "event not used"}
	}
	if err != nil {
		return outcome{status: http.StatusBadRequest, label: "bad_request", reason: err.Error()}
	}
	if task == nil {
		return outcome{status: http.StatusOK, label: "ignored", reason: why}
	}
	key := r.Header.Get("Idempotency-Key")
	task.DeliveryKey = key
	if key != "" && h.seen.has(key) {
		return outcome{status: http.StatusOK, label: "duplicate", reason: "Idempotency-Key seen"}
	}
	// The second update event of a push carries a new key but the same
	// head: known heads are answered from memory too.
	var headKey string
	if task.Review != nil {
		headKey = fmt.Sprintf("head %d %d %s", task.Review.ProjectID, task.Review.MRIID, task.Review.HeadSHA)
		if h.seen.has(headKey) {
			if key != "" {
				h.seen.add(key)
			}
			return outcome{status: http.StatusOK, label: "duplicate", reason: "head already queued"}
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.EnqueueTimeout)
	defer cancel()
	dup, err := h.o.Enqueuer.Enqueue(ctx, *task)
	if err != nil {
		h.o.Logger.ErrorContext(ctx, "enqueue", "err", err)
		return outcome{status: http.StatusServiceUnavailable, label: "error", reason: "queue unavailable"}
	}
	if key != "" {
		h.seen.add(key)
	}
	if headKey != "" {
		h.seen.add(headKey)
	}
	if dup {
		return outcome{status: http.StatusOK, label: "duplicate", reason: "already queued"}
	}
	return outcome{status: http.StatusAccepted, label: "queued", reason: why}
}

type hookUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

type lastCommit struct {
	ID string `json:"id"`
}

type mrEvent struct {
	ObjectKind string   `json:"object_kind"`
	User       hookUser `json:"user"`
	Project    struct {
		ID int64 `json:"id"`
	} `json:"project"`
	Attrs struct {
		IID             int64      `json:"iid"`
		Action          string     `json:"action"`
		OldRev          string     `json:"oldrev"`
		State           string     `json:"state"`
		Draft           *bool      `json:"draft"`
		WorkInProgress  bool       `json:"work_in_progress"`
		LastCommit      lastCommit `json:"last_commit"`
		TargetProjectID int64      `json:"target_project_id"`
	} `json:"object_attributes"`
	Changes struct {
		Draft *struct {
			Previous bool `json:"previous"`
			Current  bool `json:"current"`
		} `json:"draft"`
	} `json:"changes"`
}

// mergeRequestTask decides whether an MR event asks for a review: open,
// reopen, a push (update with oldrev) or draft→ready.
func (h *Handler) mergeRequestTask(body []byte) (*Task, string, error) {
	var ev mrEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, "", fmt.Errorf("merge request event: %w", err)
	}
	if ev.ObjectKind != "merge_request" {
		return nil, "", fmt.Errorf("merge request event: object_kind %q", ev.ObjectKind)
	}
	a := ev.Attrs
	draft := a.WorkInProgress
	if a.Draft != nil {
		draft = *a.Draft
	}
	var why string
	switch {
	case a.Action == "open":
		why = "opened"
	case a.Action == "reopen":
		why = "reopened"
	case a.Action == "update" && a.OldRev != "":
		why = "new commits"
	case a.Action == "update" && ev.Changes.Draft != nil && ev.Changes.Draft.Previous && !ev.Changes.Draft.Current:
		why = "marked ready"
	case a.Action == "update":
		return nil, "update without new commits", nil
	default:
		return nil, "action " + a.Action, nil
	}
	if a.State != "" && a.State != "opened" {
		return nil, "merge request is " + a.State, nil
	}
	if draft && h.o.SkipDrafts {
		return nil, "draft", nil
	}
	pid := a.TargetProjectID
	if pid == 0 {
		pid = ev.Project.ID
	}
	if pid == 0 || a.IID == 0 || a.LastCommit.ID == "" {
		// Answered 200 like any ignored event: failures would get the
		// hook disabled for everyone.
		return nil, "merge request event without project, iid or last commit", nil
	}
	return &Task{Review: &review.Job{ProjectID: pid, MRIID: a.IID, HeadSHA: a.LastCommit.ID}}, why, nil
}

type noteEvent struct {
	ObjectKind string   `json:"object_kind"`
	User       hookUser `json:"user"`
	ProjectID  int64    `json:"project_id"`
	Project    struct {
		ID int64 `json:"id"`
	} `json:"project"`
	Attrs struct {
		ID           int64  `json:"id"`
		Note         string `json:"note"`
		NoteableType string `json:"noteable_type"`
		AuthorID     int64  `json:"author_id"`
		Action       string `json:"action"`
		DiscussionID string `json:"discussion_id"`
		System       bool   `json:"system"`
		Position     *struct {
			NewPath string `json:"new_path"`
			NewLine int    `json:"new_line"`
		} `json:"position"`
	} `json:"object_attributes"`
	MergeRequest *struct {
		IID             int64      `json:"iid"`
		TargetProjectID int64      `json:"target_project_id"`
		LastCommit      lastCommit `json:"last_commit"`
	} `json:"merge_request"`
}

// CommandText returns the note from its first line starting with /pgai,
// or "" when no line does. GitLab runs only quick actions at the start of
// a line, and so do we.
func CommandText(note string) string {
	lines := strings.Split(strings.ReplaceAll(note, "\r\n", "\n"), "\n")
	for i, l := range lines {
		t := strings.TrimLeft(l, " \t")
		if t == Prefix || strings.HasPrefix(t, Prefix+" ") || strings.HasPrefix(t, Prefix+"\t") {
			lines[i] = t
			return strings.TrimSpace(strings.Join(lines[i:], "\n"))
		}
	}
	return ""
}

func (h *Handler) noteTask(body []byte) (*Task, string, error) {
	var ev noteEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, "", fmt.Errorf("note event: %w", err)
	}
	if ev.ObjectKind != "note" {
		return nil, "", fmt.Errorf("note event: object_kind %q", ev.ObjectKind)
	}
	a := ev.Attrs
	switch {
	case a.NoteableType != "MergeRequest" || ev.MergeRequest == nil:
		return nil, "not a merge request note", nil
	case a.System:
		return nil, "system note", nil
	case a.Action != "" && a.Action != "create":
		return nil, "note " + a.Action, nil
	}
	author := ev.User.ID
	if author == 0 {
		author = a.AuthorID
	}
	if (h.o.BotUserID != 0 && author == h.o.BotUserID) || (h.o.BotUsername != "" && ev.User.Username == h.o.BotUsername) {
		return nil, "own note", nil
	}
	text := CommandText(a.Note)
	if text == "" {
		return nil, "no command", nil
	}
	pid := ev.MergeRequest.TargetProjectID
	if pid == 0 {
		pid = ev.ProjectID
	}
	if pid == 0 {
		pid = ev.Project.ID
	}
	if pid == 0 || ev.MergeRequest.IID == 0 || a.ID == 0 {
		return nil, "note event without project, merge request or note id", nil
	}
	cmd := &Command{
		ProjectID: pid, MRIID: ev.MergeRequest.IID, NoteID: a.ID, DiscussionID: a.DiscussionID,
		AuthorID: author, AuthorUsername: ev.User.Username, Text: text, HeadSHA: ev.MergeRequest.LastCommit.ID,
	}
	if a.Position != nil {
		cmd.Path, cmd.Line = a.Position.NewPath, a.Position.NewLine
	}
	return &Task{Command: cmd}, "command", nil
}

// keyCache remembers recent delivery keys and MR heads (bounded, oldest
// forgotten first). It saves a database round trip for GitLab's
// re-deliveries and double events; the queue's unique keys are what make
// duplicates harmless across replicas and restarts.
type keyCache struct {
	mu   sync.Mutex
	max  int
	set  map[string]struct{}
	ring []string
	next int
}

func newKeyCache(n int) *keyCache {
	return &keyCache{max: n, set: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (c *keyCache) has(k string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.set[k]
	return ok
}

func (c *keyCache) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.set[k]; ok {
		return
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.set, old)
	}
	c.ring[c.next] = k
	c.set[k] = struct{}{}
	c.next = (c.next + 1) % c.max
}
