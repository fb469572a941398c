package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/pgai/reviewer/internal/review"
)

type fakeQueue struct {
	mu    sync.Mutex
	tasks []Task
	keys  map[string]bool
	err   error
}

func (q *fakeQueue) Enqueue(_ context.Context, t Task) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return false, q.err
	}
	if q.keys == nil {
		q.keys = map[string]bool{}
	}
	var k string
	if t.Review != nil {
		k = "review " + t.Review.HeadSHA
	} else {
		k = "cmd " + t.Command.Text
	}
	if q.keys[k] {
		return true, nil
	}
	q.keys[k] = true
	q.tasks = append(q.tasks, t)
	return false, nil
}

const secret = "s3cret-token"

func post(t *testing.T, h http.Handler, event, file, token, key string) *httptest.ResponseRecorder {
	t.Helper()
	body, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/webhook/gitlab", strings.NewReader(string(body)))
	r.Header.Set("X-Gitlab-Event", event)
	r.Header.Set("X-Gitlab-Token", token)
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	const sha = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	const pushSHA = "0b4bc9a49b562e85de7cc9e834518ea6828729b9"
	tests := []struct {
		name, event, file, token string
		skipDrafts               bool
		wantStatus               int
		want                     []Task
	}{
		{name: "open", event: "Merge Request Hook", file: "mr_open.json", wantStatus: 202,
			want: []Task{{Review: &review.Job{ProjectID: 14, MRIID: 1, HeadSHA: sha}}}},
		{name: "reopen", event: "Merge Request Hook", file: "mr_reopen.json", wantStatus: 202,
			want: []Task{{Review: &review.Job{ProjectID: 14, MRIID: 1, HeadSHA: sha}}}},
		{name: "push", event: "Merge Request Hook", file: "mr_update_push.json", wantStatus: 202,
			want: []Task{{Review: &review.Job{ProjectID: 14, MRIID: 1, HeadSHA: pushSHA}}}},
		{name: "merge status recomputed", event: "Merge Request Hook", file: "mr_update_mergestatus.json", wantStatus: 200},
		{name: "labels", event: "Merge Request Hook", file: "mr_update_labels.json", wantStatus: 200},
		{name: "draft to ready", event: "Merge Request Hook", file: "mr_update_ready.json", wantStatus: 202,
			want: []Task{{Review: &review.Job{ProjectID: 14, MRIID: 1, HeadSHA: sha}}}},
		{name: "merged", event: "Merge Request Hook", file: "mr_merge.json", wantStatus: 200},
		{name: "draft reviewed by default", event: "Merge Request Hook", file: "mr_open_draft.json", wantStatus: 202,
			want: []Task{{Review: &review.Job{ProjectID: 14, MRIID: 1, HeadSHA: sha}}}},
		{name: "draft skipped", event: "Merge Request Hook", file: "mr_open_draft.json", skipDrafts: true, wantStatus: 200},
		{name: "bad token", event: "Merge Request Hook", file: "mr_open.json", token: "wrong", wantStatus: 401},
		{name: "empty token", event: "Merge Request Hook", file: "mr_open.json", token: "-", wantStatus: 401},
		{name: "push event ignored", event: "Push Hook", file: "push.json", wantStatus: 200},
		{name: "command", event: "Note Hook", file: "note_command.json", wantStatus: 202,
			want: []Task{{Command: &Command{ProjectID: 5, MRIID: 1, NoteID: 1244, DiscussionID: "e1c5835f5f99414806f6fe45b28s48cfebb89ee1",
				AuthorID: 1, AuthorUsername: "root", Text: "/pgai explain index-create-nonconcurrent", HeadSHA: "562e173be03b8ff2efb05345d12df18815438a4b"}}}},
		{name: "command on second line", event: "Note Hook", file: "note_command_second_line.json", wantStatus: 202,
			want: []Task{{Command: &Command{ProjectID: 5, MRIID: 1, NoteID: 1244, DiscussionID: "e1c5835f5f99414806f6fe45b28s48cfebb89ee1",
				AuthorID: 1, AuthorUsername: "root", Text: "/pgai review\nthanks", HeadSHA: "562e173be03b8ff2efb05345d12df18815438a4b"}}}},
		{name: "plain note", event: "Note Hook", file: "note_plain.json", wantStatus: 200},
		{name: "edited note", event: "Note Hook", file: "note_command_edited.json", wantStatus: 200},
		{name: "own note", event: "Note Hook", file: "note_command_by_bot.json", wantStatus: 200},
		{name: "system note", event: "Note Hook", file: "note_system.json", wantStatus: 200},
		{name: "not json", event: "Note Hook", file: "../webhook.go", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := &fakeQueue{}
			h, err := NewHandler(Options{Secret: secret, Enqueuer: q, BotUserID: 99, SkipDrafts: tt.skipDrafts, Metrics: NewMetrics()})
			if err != nil {
				t.Fatal(err)
			}
			token := secret
			if tt.token == "-" {
				token = ""
			} else if tt.token != "" {
				token = tt.token
			}
			w := post(t, h, tt.event, tt.file, token, "")
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.wantStatus, w.Body)
			}
			if diff := cmp.Diff(tt.want, q.tasks); diff != "" {
				t.Errorf("tasks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebhookDuplicates(t *testing.T) {
	t.Parallel()
	q := &fakeQueue{}
	m := NewMetrics()
	h, err := NewHandler(Options{Secret: secret, Enqueuer: q, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	// Re-delivery with the same Idempotency-Key, then the second update
	// event of one push (different key, same head): one task.
	codes := []int{
		post(t, h, "Merge Request Hook", "mr_update_push.json", secret, "key-1").Code,
		post(t, h, "Merge Request Hook", "mr_update_push.json", secret, "key-1").Code,
		post(t, h, "Merge Request Hook", "mr_update_push.json", secret, "key-2").Code,
	}
	if diff := cmp.Diff([]int{202, 200, 200}, codes); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	if len(q.tasks) != 1 {
		t.Errorf("%d tasks queued, want 1", len(q.tasks))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`pgai_webhook_deliveries_total{event="Merge Request Hook",outcome="duplicate"} 2`,
		`pgai_webhook_deliveries_total{event="Merge Request Hook",outcome="queued"} 1`,
		`pgai_webhook_ack_seconds_count 3`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, w.Body)
		}
	}
}

func TestWebhookQueueDown(t *testing.T) {
	t.Parallel()
	h, err := NewHandler(Options{Secret: secret, Enqueuer: &fakeQueue{err: errors.New("connection refused")}})
	if err != nil {
		t.Fatal(err)
	}
	w := post(t, h, "Merge Request Hook", "mr_open.json", secret, "k")
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", w.Code)
	}
	if strings.Contains(w.Body.String(), "connection refused") {
		t.Errorf("internal error leaked to the client: %s", w.Body)
	}
}

func TestWebhookBodyCap(t *testing.T) {
	t.Parallel()
	q := &fakeQueue{}
	h, err := NewHandler(Options{Secret: secret, Enqueuer: q, MaxBody: 100})
	if err != nil {
		t.Fatal(err)
	}
	w := post(t, h, "Merge Request Hook", "mr_open.json", secret, "")
	if w.Code != http.StatusRequestEntityTooLarge || len(q.tasks) != 0 {
		t.Errorf("status = %d, tasks = %d; want 413 and none", w.Code, len(q.tasks))
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		ready error
		want  int
	}{{"ready", nil, 200}, {"not ready", errors.New("schema not applied"), 503}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := NewHandler(Options{Secret: secret, Enqueuer: &fakeQueue{}, Ready: func(context.Context) error { return tt.ready }})
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range map[string]int{"/healthz": 200, "/readyz": tt.want} {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				if w.Code != want {
					t.Errorf("%s = %d, want %d", path, w.Code, want)
				}
			}
		})
	}
}

func TestCommandText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/pgai help":                  "/pgai help",
		"  /pgai review":              "/pgai review",
		"hi\n/pgai ask why?\nmore":    "/pgai ask why?\nmore",
		"/pgaix help":                 "",
		"please run /pgai review":     "",
		"/pgai":                       "/pgai",
		"`/pgai help` in code":        "",
		"/PGAI help":                  "",
		"line\r\n/pgai explain x\r\n": "/pgai explain x",
	} {
		if got := CommandText(in); got != want {
			t.Errorf("CommandText(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkHandleIgnored is the receiver's own cost for the most common
// delivery (an MR update without new commits), without the network.
func BenchmarkHandleIgnored(b *testing.B) {
	body, err := os.ReadFile("testdata/mr_update_mergestatus.json")
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHandler(Options{Secret: secret, Enqueuer: &fakeQueue{}, Metrics: NewMetrics()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/webhook/gitlab", strings.NewReader(string(body)))
		r.Header.Set("X-Gitlab-Event", "Merge Request Hook")
		r.Header.Set("X-Gitlab-Token", secret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
