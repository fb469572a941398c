package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/pgtest"
	"gitlab.com/pgai/reviewer/internal/queue"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/webhook"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	token  = "glpat-bot"
	secret = "hook-secret"
	botID  = 99
	pid    = 42
	base   = "base000000000000000000000000000000000000"
	sha1   = "aaaa111111111111111111111111111111111111"
	sha2   = "bbbb222222222222222222222222222222222222"
)

const migBad = `SET lock_timeout = '2s';
CREATE INDEX idx_orders_user ON orders (user_id);
CREATE INDEX idx_items_order ON items (order_id);
`

const migHalfFixed = `SET lock_timeout = '2s';
CREATE INDEX CONCURRENTLY idx_orders_user ON orders (user_id);
CREATE INDEX idx_items_order ON items (order_id);
`

// fastRetry retries at once, so tests do not wait for River's backoff.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(50 * time.Millisecond) }

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

type bundle struct {
	pool    *pgxpool.Pool
	gl      *gitlabtest.Server
	api     *gitlab.Client
	rev     *mrreview.Reviewer
	log     *slog.Logger
	handler http.Handler
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 40 // two replicas' workers and River's own connections
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := queue.Migrate(t.Context(), pool, log); err != nil {
		t.Fatal(err)
	}
	if err := queue.Ready(t.Context(), pool); err != nil {
		t.Fatalf("ready after migrate: %v", err)
	}
	s := gitlabtest.New(t)
	s.AddUser(token, gitlabtest.User{ID: botID, Username: "pgai-bot"})
	s.SetFile(pid, base, "README.md", "hello\n")
	s.SetFile(pid, base, ".pgai.yml", onlyRule("index-create-nonconcurrent"))
	for iid := int64(1); iid <= 5; iid++ {
		s.AddMR(gitlabtest.MR{ProjectID: pid, IID: iid, Title: "indexes", BaseSHA: base, AuthorID: 5})
	}
	s.SetMember(pid, 5, 30)
	s.SetMember(pid, 6, 10)
	api, err := gitlab.New(gitlab.Options{BaseURL: s.URL, Token: token, CreateRetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{pool: pool, gl: s, api: api, log: log,
		rev: mrreview.New(mrreview.Options{GitLab: api, Logger: log})}
	ins, err := queue.New(pool, queue.Options{Logger: log}) // insert-only, like a receiver
	if err != nil {
		t.Fatal(err)
	}
	h, err := webhook.NewHandler(webhook.Options{Secret: secret, Enqueuer: ins, BotUserID: botID, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	b.handler = h
	return b
}

// startWorkers starts a worker replica; it is stopped when the test ends.
func (b *bundle) startWorkers(t *testing.T, n int) *queue.Queue {
	t.Helper()
	q, err := queue.New(b.pool, queue.Options{Workers: n, Handler: b.rev, Logger: b.log, RetryPolicy: fastRetry{},
		FetchPollInterval: 100 * time.Millisecond, SnoozeBusy: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.StopAndCancel(ctx)
	})
	return q
}

func hookBody(t *testing.T, file string, edit func(m map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile("../../webhook/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func mrHook(t *testing.T, iid int64, action, sha, oldrev string) string {
	return hookBody(t, "mr_open.json", func(m map[string]any) {
		a := m["object_attributes"].(map[string]any)
		a["iid"], a["target_project_id"], a["action"] = iid, pid, action
		a["last_commit"].(map[string]any)["id"] = sha
		if oldrev != "" {
			a["oldrev"] = oldrev
		}
	})
}

func noteHook(t *testing.T, iid, noteID, author int64, discussion, text string) string {
	return hookBody(t, "note_command.json", func(m map[string]any) {
		m["user"].(map[string]any)["id"] = author
		m["project_id"] = pid
		a := m["object_attributes"].(map[string]any)
		a["id"], a["note"], a["discussion_id"], a["author_id"] = noteID, text, discussion, author
		mr := m["merge_request"].(map[string]any)
		mr["iid"], mr["target_project_id"] = iid, pid
	})
}

func (b *bundle) deliver(t *testing.T, event, body, key string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhook/gitlab", strings.NewReader(body))
	r.Header.Set("X-Gitlab-Event", event)
	r.Header.Set("X-Gitlab-Token", secret)
	r.Header.Set("Idempotency-Key", key)
	w := httptest.NewRecorder()
	b.handler.ServeHTTP(w, r)
	return w.Code
}

// waitRuns waits until the review of a head has been recorded n times
// (the deadline only guards against a hang; nothing is timed).
func (b *bundle) waitRuns(t *testing.T, iid int64, sha string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := queue.ReviewRuns(t.Context(), b.pool, review.Job{ProjectID: pid, MRIID: iid, HeadSHA: sha})
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("review of !%d at %s: %d runs, want %d", iid, sha[:4], got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitIdle waits until no job is queued, running or due for a retry.
func (b *bundle) waitIdle(t *testing.T, q *queue.Queue) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := q.Depth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if d["available"]+d["running"]+d["retryable"]+d["scheduled"] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not idle: %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func summaries(s *gitlabtest.Server, iid int64) []gitlabtest.Note {
	var out []gitlabtest.Note
	for _, n := range s.Notes(pid, iid) {
		if strings.Contains(n.Body, mrreview.SummaryMarker) {
			out = append(out, n)
		}
	}
	return out
}

type thread struct {
	Line     int
	Resolved bool
	Notes    int
}

func threads(s *gitlabtest.Server, iid int64) []thread {
	var out []thread
	for _, d := range s.Discussions(pid, iid) {
		if p := d.Notes[0].Position; p != nil {
			out = append(out, thread{Line: p.NewLine, Resolved: d.Notes[0].Resolved, Notes: len(d.Notes)})
		}
	}
	return out
}

func TestWebhookToReview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.startWorkers(t, 2)
	const iid = 1
	b.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})

	// One push: the delivery, its manual re-delivery (same key) and the
	// second update event of the same head (new key).
	codes := []int{
		b.deliver(t, "Merge Request Hook", mrHook(t, iid, "open", sha1, ""), "delivery-1"),
		b.deliver(t, "Merge Request Hook", mrHook(t, iid, "open", sha1, ""), "delivery-1"),
		b.deliver(t, "Merge Request Hook", mrHook(t, iid, "update", sha1, base), "delivery-2"),
	}
	if diff := cmp.Diff([]int{202, 200, 200}, codes); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	b.waitRuns(t, iid, sha1, 1)
	b.waitIdle(t, q)
	if n, _ := queue.ReviewRuns(t.Context(), b.pool, review.Job{ProjectID: pid, MRIID: iid, HeadSHA: sha1}); n != 1 {
		t.Errorf("%d reviews of one head, want 1", n)
	}
	first := summaries(b.gl, iid)
	if len(first) != 1 {
		t.Fatalf("%d summary notes, want 1", len(first))
	}
	if diff := cmp.Diff([]thread{{Line: 2, Notes: 1}, {Line: 3, Notes: 1}}, threads(b.gl, iid)); diff != "" {
		t.Errorf("threads (-want +got):\n%s", diff)
	}

	// A new push fixing one finding: the same note edited, the fixed
	// finding's thread answered and resolved.
	b.gl.Push(pid, iid, sha2, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migHalfFixed})
	if code := b.deliver(t, "Merge Request Hook", mrHook(t, iid, "update", sha2, sha1), "delivery-3"); code != 202 {
		t.Errorf("push answered %d", code)
	}
	b.waitRuns(t, iid, sha2, 1)
	second := summaries(b.gl, iid)
	if len(second) != 1 || second[0].ID != first[0].ID || !strings.Contains(second[0].Body, "bbbb22222222") {
		t.Errorf("summary after the push: %d notes (first id %d), body:\n%s", len(second), first[0].ID, second[0].Body)
	}
	if diff := cmp.Diff([]thread{{Line: 2, Resolved: true, Notes: 2}, {Line: 3, Notes: 1}}, threads(b.gl, iid)); diff != "" {
		t.Errorf("threads after the push (-want +got):\n%s", diff)
	}
	var states []string
	for _, st := range b.gl.Statuses(pid) {
		states = append(states, st.SHA[:4]+" "+st.State)
	}
	if diff := cmp.Diff([]string{"aaaa pending", "aaaa failed", "bbbb pending", "bbbb failed"}, states); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestNoteOnceAfterGitLab500(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.startWorkers(t, 1)
	const iid = 2
	b.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
	b.gl.Fail(gitlabtest.Fault{Route: gitlabtest.RouteCreateNote, Status: 500, Apply: true})
	b.deliver(t, "Merge Request Hook", mrHook(t, iid, "open", sha1, ""), "d1")
	b.waitRuns(t, iid, sha1, 1)
	b.waitIdle(t, q)
	if n := len(summaries(b.gl, iid)); n != 1 {
		t.Errorf("%d summary notes, want exactly 1", n)
	}
	if n := b.gl.CountCalls(gitlabtest.RouteCreateNote); n != 1 {
		t.Errorf("%d note POSTs, want 1 (the failed one landed)", n)
	}
}

// The worker is stopped while the review is posting, and another worker
// (a restart) finishes it: the review completes and nothing is doubled.
func TestWorkerRestartMidReview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const iid = 3
	b.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	b.gl.SetHook(func(route string) {
		if route == gitlabtest.RouteCreateNote {
			once.Do(func() { close(entered); <-release })
		}
	})
	q1, err := queue.New(b.pool, queue.Options{Workers: 1, Handler: b.rev, Logger: b.log, RetryPolicy: fastRetry{}, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q1.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.deliver(t, "Merge Request Hook", mrHook(t, iid, "open", sha1, ""), "d1")
	<-entered // the first worker is inside the summary POST
	stopCtx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := q1.StopAndCancel(stopCtx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	close(release) // the abandoned POST lands after its client gave up
	if n, _ := queue.ReviewRuns(t.Context(), b.pool, review.Job{ProjectID: pid, MRIID: iid, HeadSHA: sha1}); n != 0 {
		t.Fatalf("review recorded before the restart")
	}
	q2 := b.startWorkers(t, 1)
	b.waitRuns(t, iid, sha1, 1)
	b.waitIdle(t, q2)
	if n := len(summaries(b.gl, iid)); n != 1 {
		t.Errorf("%d summary notes, want 1", n)
	}
	if n := len(threads(b.gl, iid)); n != 2 {
		t.Errorf("%d threads, want 2", n)
	}
}

// Two replicas share the work; every head is reviewed once.
func TestReplicasShareWork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.startWorkers(t, 2)
	b.startWorkers(t, 2)
	for iid := int64(1); iid <= 5; iid++ {
		b.gl.Push(pid, iid, fmt.Sprintf("%040d", iid), gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
	}
	for round := range 3 {
		for iid := int64(1); iid <= 5; iid++ {
			b.deliver(t, "Merge Request Hook", mrHook(t, iid, "update", fmt.Sprintf("%040d", iid), base), fmt.Sprintf("k%d-%d", round, iid))
		}
	}
	for iid := int64(1); iid <= 5; iid++ {
		b.waitRuns(t, iid, fmt.Sprintf("%040d", iid), 1)
	}
	b.waitIdle(t, q)
	for iid := int64(1); iid <= 5; iid++ {
		n, err := queue.ReviewRuns(t.Context(), b.pool, review.Job{ProjectID: pid, MRIID: iid, HeadSHA: fmt.Sprintf("%040d", iid)})
		if err != nil || n != 1 {
			t.Errorf("!%d reviewed %d times (%v), want once", iid, n, err)
		}
		if s := summaries(b.gl, iid); len(s) != 1 {
			t.Errorf("!%d has %d summaries", iid, len(s))
		}
	}
}

func TestGuestCommandRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.startWorkers(t, 1)
	const iid = 4
	b.gl.Push(pid, iid, sha1, gitlabtest.Change{Path: "db/migrations/002_indexes.sql", Content: migBad})
	noteID, did := b.gl.AddUserNote(pid, iid, 6, "/pgai review")
	if code := b.deliver(t, "Note Hook", noteHook(t, iid, noteID, 6, did, "/pgai review"), "n1"); code != 202 {
		t.Fatalf("note hook answered %d", code)
	}
	b.waitIdle(t, q)
	var replies []string
	for _, d := range b.gl.Discussions(pid, iid) {
		if d.ID == did {
			for _, n := range d.Notes[1:] {
				replies = append(replies, n.Body)
			}
		}
	}
	if len(replies) != 1 || !strings.Contains(replies[0], "need at least Developer access") {
		t.Errorf("replies = %q, want one polite refusal", replies)
	}
	if n := len(summaries(b.gl, iid)); n != 0 {
		t.Errorf("a Guest's command ran a review (%d summaries)", n)
	}
}

func TestMigrateTwiceAndDepth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := queue.Migrate(t.Context(), b.pool, nil); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	q, err := queue.New(b.pool, queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dup, err := q.Enqueue(t.Context(), webhook.Task{Review: &review.Job{ProjectID: 1, MRIID: 2, HeadSHA: "x"}})
	if err != nil || dup {
		t.Fatalf("enqueue: dup=%v err=%v", dup, err)
	}
	dup, err = q.Enqueue(t.Context(), webhook.Task{Review: &review.Job{ProjectID: 1, MRIID: 2, HeadSHA: "x"}})
	if err != nil || !dup {
		t.Fatalf("second enqueue: dup=%v err=%v, want a duplicate", dup, err)
	}
	d, err := q.Depth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d["available"] != 1 {
		t.Errorf("depth = %v, want 1 available", d)
	}
}

var _ river.ClientRetryPolicy = fastRetry{}

// onlyRule is a .pgai.yml that turns off every rule but id, so the tests
// do not change when rules are added.
func onlyRule(id string) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	for _, r := range checks.All() {
		if r.ID != id {
			fmt.Fprintf(&b, "  %s: off\n", r.ID)
		}
	}
	return b.String()
}
