// Package ui serves the read-only web pages under /ui/: the reviews the
// reviewer posted (findings with why, fix and evidence, the migrations
// with line anchors, measurements and the posted note), the experiments
// on clones (SQL, durations, an SVG lock timeline, rewrites, plans),
// benchmark runs (table, plots, artifacts) and conversations with the
// agent (messages, tool calls, citations).
//
// Pages are server-rendered html/template with one small stylesheet and
// no script. Everything that comes from a merge request or a model is
// escaped by the templates. The UI changes nothing: it answers GET and
// HEAD only. Projects are public unless configured private; private
// items are neither shown nor linked.
package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gitlab.com/pgai/reviewer/internal/archive"
)

//go:embed templates/*.html static/style.css
var files embed.FS

// Prefix is where the UI is mounted.
const Prefix = "/ui/"

// Options configure the UI. A nil source shows its pages as "not stored
// on this reviewer".
type Options struct {
	Reviews       Reviews
	Experiments   Experiments
	Benchmarks    Benchmarks
	Conversations Conversations
	// Hide lists the private projects.
	Hide   archive.Visibility
	Logger *slog.Logger
	// Now is the clock for "3 hours ago" (time.Now when nil).
	Now func() time.Time
}

// Handler serves the UI; mount it at Prefix.
type Handler struct {
	o     Options
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
	css   []byte
}

// New builds the UI handler.
func New(o Options) (*Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o, log: o.Logger, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	css, err := files.ReadFile("static/style.css")
	if err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	h.css = css
	base, err := template.New("layout.html").Funcs(h.funcs()).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	for _, p := range []string{"reviews", "review", "experiments", "experiment", "benchmarks", "benchmark", "conversations", "conversation"} {
		t, err := template.Must(base.Clone()).ParseFS(files, "templates/"+p+".html", "templates/parts.html")
		if err != nil {
			return nil, fmt.Errorf("ui: page %s: %w", p, err)
		}
		h.pages[p] = t
	}
	m := h.mux
	m.HandleFunc("GET /ui/{$}", h.reviews)
	m.HandleFunc("GET /ui/style.css", h.style)
	m.HandleFunc("GET /ui/reviews/{project}/{iid}/{sha}", h.review)
	m.HandleFunc("GET /ui/experiments/{$}", h.experiments)
	m.HandleFunc("GET /ui/experiments/{id}", h.experiment)
	m.HandleFunc("GET /ui/benchmarks/{$}", h.benchmarks)
	m.HandleFunc("GET /ui/benchmarks/{id}", h.benchmark)
	m.HandleFunc("GET /ui/benchmarks/{id}/artifacts/{name...}", h.artifact)
	m.HandleFunc("GET /ui/conversations/{$}", h.conversations)
	m.HandleFunc("GET /ui/conversations/{id}", h.conversation)
	return h, nil
}

// ServeHTTP refuses every method but GET and HEAD (the UI changes
// nothing) and sets the headers every page carries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed: the UI is read-only", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	// No script anywhere; styles from our own stylesheet only; images
	// from our own artifacts.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if r.URL.Path == "/ui" {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) style(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(h.css)
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string
	// State is set for a page whose source is not configured.
	NotStored string
	Data      any
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	var b strings.Builder
	if err := h.pages[name].ExecuteTemplate(&b, "layout.html", p); err != nil {
		h.log.ErrorContext(r.Context(), "render ui page", "page", name, "err", err)
		http.Error(w, "500 the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.WriteString(w, b.String())
}

// fail answers a source's error: 404 for what is not stored (or not
// public), 500 otherwise, with the details only in the log.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, ErrNotFound) {
		h.notFound(w, r, what)
		return
	}
	h.log.ErrorContext(r.Context(), "ui", "page", r.URL.Path, "err", err)
	http.Error(w, "500 "+what+" could not be read", http.StatusInternalServerError)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, what string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, "404 no such %s on this reviewer\n", what)
}

func (h *Handler) public(projectID int64, path string) bool { return h.o.Hide.Public(projectID, path) }

// ProjectPaths is an optional ability of a Reviews source: the paths of
// projects it knows by ID. Items that carry only a project ID (benchmark
// runs, conversations) are then hidden when their project's path is
// private.
type ProjectPaths interface {
	ProjectPaths(ctx context.Context, ids []int64) (map[int64]string, error)
}

// publicByID returns a visibility check for items that may lack their
// project's path: the path is looked up once for all of ids. When the
// lookup fails, items of projects with private paths configured are
// hidden (fail closed).
func (h *Handler) publicByID(ctx context.Context, ids []int64) func(id int64, path string) bool {
	var paths map[int64]string
	failed := false
	if pp, ok := h.o.Reviews.(ProjectPaths); ok && len(h.o.Hide.PrivatePaths) > 0 && len(ids) > 0 {
		var err error
		if paths, err = pp.ProjectPaths(ctx, ids); err != nil {
			h.log.WarnContext(ctx, "ui: project paths", "err", err)
			failed = true
		}
	}
	return func(id int64, path string) bool {
		if path == "" && id != 0 {
			if failed {
				return false
			}
			path = paths[id]
		}
		return h.public(id, path)
	}
}

// ---- reviews

type reviewsData struct {
	Reviews  []archive.ReviewSummary
	Projects []string
	Verdicts []string
	Project  string
	Verdict  string
	Query    string
	Page     int
	Prev     string
	Next     string
}

const perPage = 50

func (h *Handler) reviews(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := reviewsData{Project: q.Get("project"), Verdict: q.Get("verdict"), Query: strings.TrimSpace(q.Get("q")), Verdicts: archive.Verdicts}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)
	if h.o.Reviews == nil {
		h.render(w, r, "reviews", page{Title: "Reviews", Nav: "reviews", NotStored: "reviews", Data: d})
		return
	}
	if !h.public(0, d.Project) {
		d.Project = "" // a private project's name does not filter (nor reveal) anything
	}
	var err error
	d.Reviews, err = h.o.Reviews.Reviews(r.Context(), archive.ReviewFilter{Project: d.Project, Verdict: d.Verdict, Query: d.Query,
		Hide: h.o.Hide, Limit: perPage + 1, Offset: (d.Page - 1) * perPage})
	if err != nil {
		h.fail(w, r, "reviews", err)
		return
	}
	// The store filters private projects; filter again so that a source
	// that does not cannot leak them.
	d.Reviews = keep(d.Reviews, func(s archive.ReviewSummary) bool { return h.public(s.ProjectID, s.ProjectPath) })
	if len(d.Reviews) > perPage {
		d.Reviews = d.Reviews[:perPage]
		d.Next = pageURL(q, d.Page+1)
	}
	if d.Page > 1 {
		d.Prev = pageURL(q, d.Page-1)
	}
	if d.Projects, err = h.o.Reviews.Projects(r.Context(), h.o.Hide); err != nil {
		h.fail(w, r, "projects", err)
		return
	}
	d.Projects = keep(d.Projects, func(p string) bool { return h.public(0, p) })
	h.render(w, r, "reviews", page{Title: "Reviews", Nav: "reviews", Data: d})
}

func pageURL(q url.Values, n int) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = v
	}
	c.Set("page", strconv.Itoa(n))
	return "?" + c.Encode()
}

func keep[T any](s []T, ok func(T) bool) []T {
	out := s[:0]
	for _, v := range s {
		if ok(v) {
			out = append(out, v)
		}
	}
	return out
}

func (h *Handler) review(w http.ResponseWriter, r *http.Request) {
	if h.o.Reviews == nil {
		h.notFound(w, r, "review")
		return
	}
	project, err1 := strconv.ParseInt(r.PathValue("project"), 10, 64)
	iid, err2 := strconv.ParseInt(r.PathValue("iid"), 10, 64)
	if err1 != nil || err2 != nil {
		h.notFound(w, r, "review")
		return
	}
	rv, err := h.o.Reviews.Review(r.Context(), archive.Key{ProjectID: project, MRIID: iid, HeadSHA: r.PathValue("sha")})
	if err == nil && !h.public(rv.ProjectID, rv.ProjectPath) {
		err = ErrNotFound
	}
	if err != nil {
		h.fail(w, r, "review", err)
		return
	}
	d := newReviewView(rv)
	h.render(w, r, "review", page{Title: fmt.Sprintf("%s !%d — %s", rv.ProjectPath, rv.MRIID, clip(rv.MRTitle, 60)), Nav: "reviews", Data: d})
}

// ---- experiments

func (h *Handler) experiments(w http.ResponseWriter, r *http.Request) {
	var list []archive.ExperimentSummary
	if h.o.Experiments == nil {
		h.render(w, r, "experiments", page{Title: "Experiments", Nav: "experiments", NotStored: "experiments", Data: list})
		return
	}
	list, err := h.o.Experiments.Experiments(r.Context(), h.o.Hide, 200, 0)
	if err != nil {
		h.fail(w, r, "experiments", err)
		return
	}
	list = keep(list, func(e archive.ExperimentSummary) bool { return h.public(e.ProjectID, e.ProjectPath) })
	h.render(w, r, "experiments", page{Title: "Experiments", Nav: "experiments", Data: list})
}

func (h *Handler) experiment(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || h.o.Experiments == nil {
		h.notFound(w, r, "experiment")
		return
	}
	e, err := h.o.Experiments.Experiment(r.Context(), id)
	if err == nil && !h.public(e.ProjectID, e.ProjectPath) {
		err = ErrNotFound
	}
	if err != nil {
		h.fail(w, r, "experiment", err)
		return
	}
	title := e.Title
	if title == "" {
		title = fmt.Sprintf("Experiment %d", e.ID)
	}
	h.render(w, r, "experiment", page{Title: title, Nav: "experiments", Data: newExperimentView(e)})
}

// ---- benchmarks

func (h *Handler) benchmarks(w http.ResponseWriter, r *http.Request) {
	var list []BenchmarkSummary
	if h.o.Benchmarks == nil {
		h.render(w, r, "benchmarks", page{Title: "Benchmarks", Nav: "benchmarks", NotStored: "benchmark runs", Data: list})
		return
	}
	list, err := h.o.Benchmarks.BenchmarkRuns(r.Context(), 200)
	if err != nil {
		h.fail(w, r, "benchmark runs", err)
		return
	}
	ids := make([]int64, len(list))
	for i, b := range list {
		ids[i] = b.ProjectID
	}
	public := h.publicByID(r.Context(), ids)
	list = keep(list, func(b BenchmarkSummary) bool { return public(b.ProjectID, b.ProjectPath) })
	h.render(w, r, "benchmarks", page{Title: "Benchmarks", Nav: "benchmarks", Data: list})
}

func (h *Handler) benchmarkRun(ctx context.Context, id string) (*BenchmarkRun, error) {
	if h.o.Benchmarks == nil {
		return nil, ErrNotFound
	}
	b, err := h.o.Benchmarks.BenchmarkRun(ctx, id)
	if err == nil && !h.publicByID(ctx, []int64{b.ProjectID})(b.ProjectID, b.ProjectPath) {
		err = ErrNotFound
	}
	return b, err
}

func (h *Handler) benchmark(w http.ResponseWriter, r *http.Request) {
	b, err := h.benchmarkRun(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, "benchmark run", err)
		return
	}
	title := b.Title
	if title == "" {
		title = "Benchmark " + b.ID
	}
	h.render(w, r, "benchmark", page{Title: title, Nav: "benchmarks", Data: newBenchmarkView(b)})
}

// inlineTypes are the artifact types shown in the browser; everything
// else is downloaded.
var inlineTypes = map[string]bool{"text/plain": true, "text/csv": true, "image/png": true, "image/jpeg": true, "image/svg+xml": true, "application/json": true}

func (h *Handler) artifact(w http.ResponseWriter, r *http.Request) {
	b, err := h.benchmarkRun(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, "benchmark run", err)
		return
	}
	name := r.PathValue("name")
	listed := false
	for _, a := range b.Artifacts {
		listed = listed || a.Name == name
	}
	if !listed {
		h.notFound(w, r, "artifact")
		return
	}
	rc, a, err := h.o.Benchmarks.Artifact(r.Context(), b.ID, name)
	if err != nil {
		h.fail(w, r, "artifact", err)
		return
	}
	defer rc.Close()
	ct, _, _ := mime.ParseMediaType(a.ContentType)
	if ct == "" {
		ct = "application/octet-stream"
	}
	hd := w.Header()
	// An artifact is untrusted content: never run anything it holds.
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
	disp := "attachment"
	if inlineTypes[ct] && r.URL.Query().Get("download") == "" {
		disp = "inline"
	}
	if strings.HasPrefix(ct, "text/") || ct == "application/json" {
		hd.Set("Content-Type", ct+"; charset=utf-8")
	} else {
		hd.Set("Content-Type", ct)
	}
	hd.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": a.Name}))
	if a.Size > 0 {
		hd.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	}
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		h.log.WarnContext(r.Context(), "send artifact", "run", b.ID, "artifact", name, "err", err)
	}
}

// ---- conversations

func (h *Handler) conversations(w http.ResponseWriter, r *http.Request) {
	var list []ConversationSummary
	if h.o.Conversations == nil {
		h.render(w, r, "conversations", page{Title: "Conversations", Nav: "conversations", NotStored: "conversations", Data: list})
		return
	}
	list, err := h.o.Conversations.Conversations(r.Context(), 200)
	if err != nil {
		h.fail(w, r, "conversations", err)
		return
	}
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.ProjectID
	}
	public := h.publicByID(r.Context(), ids)
	list = keep(list, func(c ConversationSummary) bool { return public(c.ProjectID, c.ProjectPath) })
	h.render(w, r, "conversations", page{Title: "Conversations", Nav: "conversations", Data: list})
}

func (h *Handler) conversation(w http.ResponseWriter, r *http.Request) {
	if h.o.Conversations == nil {
		h.notFound(w, r, "conversation")
		return
	}
	c, err := h.o.Conversations.Conversation(r.Context(), r.PathValue("id"))
	if err == nil && !h.publicByID(r.Context(), []int64{c.ProjectID})(c.ProjectID, c.ProjectPath) {
		err = ErrNotFound
	}
	if err != nil {
		h.fail(w, r, "conversation", err)
		return
	}
	title := c.Title
	if title == "" {
		title = "Conversation " + c.ID
	}
	h.render(w, r, "conversation", page{Title: clip(redact(title), 80), Nav: "conversations", Data: conversationView(c)})
}
