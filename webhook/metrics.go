package webhook

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Metrics collects the service's counters and writes them in the
// Prometheus text format (version 0.0.4), without a client library:
// webhook deliveries by event and outcome with acknowledgement latency,
// review durations by outcome, GitLab API errors by status, and the queue
// depth read at scrape time.
type Metrics struct {
	mu         sync.Mutex
	deliveries map[[2]string]uint64
	ack        *histogram
	reviews    map[string]*histogram
	apiErrors  map[string]uint64

	// QueueDepth, when set, is called at scrape time and returns the
	// number of jobs by state.
	QueueDepth func(ctx context.Context) (map[string]int64, error)
	// Logger receives scrape errors; nil discards.
	Logger *slog.Logger
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		deliveries: map[[2]string]uint64{},
		ack:        newHistogram([]float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1}),
		reviews:    map[string]*histogram{},
		apiErrors:  map[string]uint64{},
	}
}

// Delivery counts one webhook delivery and its acknowledgement latency.
func (m *Metrics) Delivery(event, outcome string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deliveries[[2]string{event, outcome}]++
	m.ack.observe(d.Seconds())
}

// Review records the duration of one review job (outcome: ok, error,
// stale, skipped).
func (m *Metrics) Review(outcome string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.reviews[outcome]
	if h == nil {
		h = newHistogram([]float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300})
		m.reviews[outcome] = h
	}
	h.observe(d.Seconds())
}

// GitLabError counts a failed GitLab API call by HTTP status (0 for
// network errors).
func (m *Metrics) GitLabError(_ string, status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	label := "network"
	if status > 0 {
		label = fmt.Sprint(status)
	}
	m.apiErrors[label]++
}

// ServeHTTP writes the metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var depth map[string]int64
	var depthErr error
	if m.QueueDepth != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		depth, depthErr = m.QueueDepth(ctx)
		cancel()
		if depthErr != nil && m.Logger != nil {
			m.Logger.WarnContext(r.Context(), "metrics: queue depth", "err", depthErr)
		}
	}
	_ = m.write(w, depth)
}

func (m *Metrics) write(w io.Writer, depth map[string]int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP pgai_webhook_deliveries_total Webhook deliveries by GitLab event and outcome.\n# TYPE pgai_webhook_deliveries_total counter\n")
	keys := make([][2]string, 0, len(m.deliveries))
	for k := range m.deliveries {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	for _, k := range keys {
		fmt.Fprintf(&b, "pgai_webhook_deliveries_total{event=%q,outcome=%q} %d\n", k[0], k[1], m.deliveries[k])
	}
	b.WriteString("# HELP pgai_webhook_ack_seconds Time from request to answer of webhook deliveries.\n# TYPE pgai_webhook_ack_seconds histogram\n")
	m.ack.write(&b, "pgai_webhook_ack_seconds", "")
	b.WriteString("# HELP pgai_review_duration_seconds Duration of review jobs by outcome.\n# TYPE pgai_review_duration_seconds histogram\n")
	outs := make([]string, 0, len(m.reviews))
	for k := range m.reviews {
		outs = append(outs, k)
	}
	sort.Strings(outs)
	for _, o := range outs {
		m.reviews[o].write(&b, "pgai_review_duration_seconds", fmt.Sprintf("outcome=%q", o))
	}
	b.WriteString("# HELP pgai_gitlab_api_errors_total Failed GitLab API calls by HTTP status.\n# TYPE pgai_gitlab_api_errors_total counter\n")
	sts := make([]string, 0, len(m.apiErrors))
	for k := range m.apiErrors {
		sts = append(sts, k)
	}
	sort.Strings(sts)
	for _, s := range sts {
		fmt.Fprintf(&b, "pgai_gitlab_api_errors_total{status=%q} %d\n", s, m.apiErrors[s])
	}
	if depth != nil {
		b.WriteString("# HELP pgai_queue_jobs Jobs in the queue by state.\n# TYPE pgai_queue_jobs gauge\n")
		states := make([]string, 0, len(depth))
		for k := range depth {
			states = append(states, k)
		}
		sort.Strings(states)
		for _, s := range states {
			fmt.Fprintf(&b, "pgai_queue_jobs{state=%q} %d\n", s, depth[s])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds))}
}

func (h *histogram) observe(v float64) {
	h.sum += v
	h.n++
	for i, b := range h.bounds {
		if v <= b {
			h.counts[i]++
			return
		}
	}
}

func (h *histogram) write(b *strings.Builder, name, labels string) {
	sep := ""
	if labels != "" {
		sep = ","
	}
	var cum uint64
	for i, bound := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(b, "%s_bucket{%s%sle=\"%g\"} %d\n", name, labels, sep, bound, cum)
	}
	fmt.Fprintf(b, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, h.n)
	if labels != "" {
		labels = "{" + labels + "}"
	}
	fmt.Fprintf(b, "%s_sum%s %g\n%s_count%s %d\n", name, labels, h.sum, name, labels, h.n)
}
