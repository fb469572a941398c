package kb

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeEmbeddingsAPI serves POST /v1/embeddings like the OpenAI API: the
// request and response JSON follow the API reference, vectors come from a
// HashEmbedder, and the data array is returned in reverse order (clients
// must use each item's index). statuses are answered first, one per request.
type fakeEmbeddingsAPI struct {
	t        *testing.T
	mu       sync.Mutex
	statuses []int
	requests []embeddingsRequest
}

type embeddingsRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	Dimensions     int      `json:"dimensions"`
	EncodingFormat string   `json:"encoding_format"`
	Auth           string   `json:"-"`
}

func (f *fakeEmbeddingsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	var req embeddingsRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("fake API: bad request body %s: %v", body, err)
	}
	req.Auth = r.Header.Get("Authorization")
	f.mu.Lock()
	f.requests = append(f.requests, req)
	var status int
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch status {
	case 0:
	case http.StatusTooManyRequests:
		w.WriteHeader(status)
		io.WriteString(w, `{"error":{"message":"Rate limit reached for text-embedding-3-small in organization org-x on requests per min (RPM): Limit 3000, Used 3000, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
		return
	default:
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"status %d","type":"server_error","param":null,"code":null}}`, status)
		return
	}
	dims := req.Dimensions
	if dims == 0 {
		dims = 16
	}
	vecs, _ := HashEmbedder{Dims: dims}.Embed(r.Context(), req.Input)
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	resp := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Model: req.Model}
	for i := len(vecs) - 1; i >= 0; i-- {
		resp.Data = append(resp.Data, item{"embedding", i, vecs[i]})
	}
	resp.Usage.PromptTokens = len(req.Input) * 3
	resp.Usage.TotalTokens = resp.Usage.PromptTokens
	json.NewEncoder(w).Encode(resp)
}

func newFakeAPI(t *testing.T, statuses ...int) (*fakeEmbeddingsAPI, string) {
	f := &fakeEmbeddingsAPI{t: t, statuses: statuses}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/v1"
}

func TestOpenAIEmbedder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		statuses  []int
		wantErr   string
		wantCalls int
	}{
		{"ok", nil, "", 2},
		{"429 then success", []int{429}, "", 3},
		{"503 twice then success", []int{503, 503}, "", 4},
		{"400 is not retried", []int{400}, "status 400", 1},
		{"gives up after MaxRetries", []int{500, 500, 500, 500}, "status 500", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, url := newFakeAPI(t, tc.statuses...)
			e, err := NewOpenAIEmbedder(OpenAIOptions{APIKey: "sk-test", BaseURL: url, Dimensions: 8, BatchSize: 2, MaxRetries: 3, RetryBase: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			texts := []string{"lock timeout", "vacuum", "SET NOT NULL"}
			vecs, err := e.Embed(t.Context(), texts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				want, _ := HashEmbedder{Dims: 8}.Embed(t.Context(), texts)
				if diff := cmp.Diff(want, vecs); diff != "" {
					t.Errorf("vectors not in input order (-want +got):\n%s", diff)
				}
			}
			if len(f.requests) != tc.wantCalls {
				t.Errorf("%d requests, want %d", len(f.requests), tc.wantCalls)
			}
			r := f.requests[0]
			if diff := cmp.Diff(embeddingsRequest{Model: "text-embedding-3-small", Input: texts[:2], Dimensions: 8, EncodingFormat: "float", Auth: "Bearer sk-test"}, r); diff != "" {
				t.Errorf("first request (-want +got):\n%s", diff)
			}
		})
	}
	if e, _ := NewOpenAIEmbedder(OpenAIOptions{Dimensions: 512}); e.Model() != "text-embedding-3-small@512" {
		t.Errorf("model name %s", e.Model())
	}
	if _, err := NewOpenAIEmbedder(OpenAIOptions{Dimensions: 3072}); err == nil {
		t.Error("3072 dimensions: want an error (over the HNSW limit)")
	}
}

func TestStoreWithOpenAIEmbedder(t *testing.T) {
	t.Parallel()
	f, url := newFakeAPI(t, 429)
	e, err := NewOpenAIEmbedder(OpenAIOptions{APIKey: "sk-test", BaseURL: url, Dimensions: 32, RetryBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newTestStore(t, StoreOptions{Embedder: e})
	ingest(t, s, testDocs(t))
	st, err := s.Embed(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Embedded == 0 || st.Model != "text-embedding-3-small@32" {
		t.Errorf("embed stats %+v", st)
	}
	rs, err := s.Search(t.Context(), "SET NOT NULL", SearchOptions{Mode: ModeHybrid})
	if err != nil || len(rs) == 0 {
		t.Fatalf("hybrid search: %d results, %v", len(rs), err)
	}
	last := f.requests[len(f.requests)-1]
	if diff := cmp.Diff([]string{"SET NOT NULL"}, last.Input); diff != "" {
		t.Errorf("query embedding request (-want +got):\n%s", diff)
	}
}
