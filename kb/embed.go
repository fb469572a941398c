package kb

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
	"unicode"

	openai "github.com/sashabaranov/go-openai"
)

// Embedder turns texts into vectors. Model names the model (and so the set
// of stored embeddings the vectors are comparable with); every vector it
// returns has the same dimension.
type Embedder interface {
	Model() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// OpenAIOptions configures an OpenAI-compatible embeddings client.
type OpenAIOptions struct {
	APIKey string
	// BaseURL of the API, default https://api.openai.com/v1 (Ollama:
	// http://localhost:11434/v1, vLLM: http://host:8000/v1).
	BaseURL string
	// Model, default text-embedding-3-small.
	Model string
	// Dimensions asks the API for shortened vectors (text-embedding-3
	// models); 0 sends no dimensions and takes the model's own.
	Dimensions int
	// BatchSize is the number of inputs per request, default 96.
	BatchSize int
	// MaxRetries on 429 and 5xx answers, default 6.
	MaxRetries int
	// RetryBase is the first backoff delay, doubled each retry, default 1s.
	RetryBase time.Duration
	// HTTPClient, default http.DefaultClient.
	HTTPClient *http.Client
}

// DefaultEmbeddingModel is used when no model is configured.
const DefaultEmbeddingModel = string(openai.SmallEmbedding3)

// maxInputChars keeps each input under the 8,191-token limit of OpenAI's
// embedding models.
const maxInputChars = 24_000

// OpenAIEmbedder calls POST {BaseURL}/embeddings.
type OpenAIEmbedder struct {
	client *openai.Client
	opts   OpenAIOptions
}

var _ Embedder = (*OpenAIEmbedder)(nil)

// NewOpenAIEmbedder returns an embedder for an OpenAI-compatible API.
func NewOpenAIEmbedder(opts OpenAIOptions) (*OpenAIEmbedder, error) {
	if opts.Model == "" {
		opts.Model = DefaultEmbeddingModel
	}
	if opts.Dimensions < 0 || opts.Dimensions > 2000 {
		return nil, fmt.Errorf("embedding dimensions %d: want 1..2000 (the limit of an HNSW index on vector)", opts.Dimensions)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 96
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 6
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	cfg := openai.DefaultConfig(opts.APIKey)
	if opts.BaseURL != "" {
		cfg.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	}
	return &OpenAIEmbedder{client: openai.NewClientWithConfig(cfg), opts: opts}, nil
}

// Model returns the model name, with the dimension when one was asked for
// (text-embedding-3-small@512), since shortened vectors are not comparable
// with full ones.
func (e *OpenAIEmbedder) Model() string {
	if e.opts.Dimensions > 0 {
		return fmt.Sprintf("%s@%d", e.opts.Model, e.opts.Dimensions)
	}
	return e.opts.Model
}

// Embed embeds texts in batches, retrying on rate limits and server errors.
func (e *OpenAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += e.opts.BatchSize {
		batch := texts[start:min(start+e.opts.BatchSize, len(texts))]
		vecs, err := e.embedBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (e *OpenAIEmbedder) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	input := make([]string, len(texts))
	for i, t := range texts {
		if len(t) > maxInputChars {
			t = t[:maxInputChars]
		}
		if strings.TrimSpace(t) == "" {
			t = "(empty)"
		}
		input[i] = t
	}
	req := openai.EmbeddingRequestStrings{
		Input:          input,
		Model:          openai.EmbeddingModel(e.opts.Model),
		Dimensions:     e.opts.Dimensions,
		EncodingFormat: openai.EmbeddingEncodingFormatFloat,
	}
	for attempt := 0; ; attempt++ {
		resp, err := e.client.CreateEmbeddings(ctx, req)
		if err == nil {
			return orderEmbeddings(resp, len(texts))
		}
		if !retryable(err) || attempt >= e.opts.MaxRetries {
			return nil, fmt.Errorf("embed %d texts with %s: %w", len(texts), e.opts.Model, err)
		}
		// Exponential backoff with jitter, capped at a minute.
		d := min(e.opts.RetryBase<<attempt, time.Minute)
		d += time.Duration(rand.Int64N(int64(d)/4 + 1))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("embed %d texts with %s: %w (after %v)", len(texts), e.opts.Model, ctx.Err(), err)
		case <-time.After(d):
		}
	}
}

func orderEmbeddings(resp openai.EmbeddingResponse, n int) ([][]float32, error) {
	if len(resp.Data) != n {
		return nil, fmt.Errorf("embeddings API returned %d vectors for %d inputs", len(resp.Data), n)
	}
	out := make([][]float32, n)
	dim := -1
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= n || out[d.Index] != nil {
			return nil, fmt.Errorf("embeddings API returned a bad or repeated index %d", d.Index)
		}
		if dim == -1 {
			dim = len(d.Embedding)
		}
		if len(d.Embedding) == 0 || len(d.Embedding) != dim {
			return nil, fmt.Errorf("embeddings API returned vectors of %d and %d dimensions", dim, len(d.Embedding))
		}
		out[d.Index] = d.Embedding
	}
	return out, nil
}

// retryable is true for rate limits (429) and server errors (5xx).
func retryable(err error) bool {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode == http.StatusTooManyRequests || apiErr.HTTPStatusCode >= 500
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode == http.StatusTooManyRequests || reqErr.HTTPStatusCode >= 500
	}
	return false
}

// HashEmbedder is a deterministic local embedder for tests and benchmarks:
// it hashes words and character trigrams into a fixed number of dimensions
// (feature hashing) and normalizes the result. It knows nothing of meaning
// (synonyms are unrelated vectors); it is not a language model, and its
// model name says so, so its vectors are never mixed with a real model's.
type HashEmbedder struct {
	Dims int
}

var _ Embedder = HashEmbedder{}

// Model returns "local-hash-ngram-<dims>".
func (h HashEmbedder) Model() string { return fmt.Sprintf("local-hash-ngram-%d", h.dims()) }

func (h HashEmbedder) dims() int {
	if h.Dims <= 0 {
		return 256
	}
	return h.Dims
}

// Embed never fails except on cancellation.
func (h HashEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = h.vector(t)
	}
	return out, nil
}

func (h HashEmbedder) vector(text string) []float32 {
	n := h.dims()
	v := make([]float32, n)
	add := func(feature string, w float32) {
		f := fnv.New64a()
		f.Write([]byte(feature))
		x := f.Sum64()
		idx := int(x % uint64(n))
		if x>>63 == 1 {
			w = -w
		}
		v[idx] += w
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	})
	for _, w := range words {
		add("w:"+w, 1)
		padded := "^" + w + "$"
		for i := 0; i+3 <= len(padded); i++ {
			add("g:"+padded[i:i+3], 0.3)
		}
	}
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		v[0] = 1
		return v
	}
	s := float32(1 / math.Sqrt(norm))
	for i := range v {
		v[i] *= s
	}
	return v
}
