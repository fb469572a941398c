// Package dblabtest helps test clone providers and experiments: a fake
// DBLab Engine that behaves as the real API does (asynchronous
// CREATING → OK, FATAL, DELETING then 404, 401 without the token), and
// Exercise, the conformance suite every Provider must pass.
package dblabtest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Backend gives the fake's clones a real database, so that a clone from
// the fake accepts connections.
type Backend interface {
	// Create makes a database the user can log in to with the password.
	Create(ctx context.Context, id, user, password string) (host, port, dbname string, err error)
	// Destroy removes it.
	Destroy(ctx context.Context, id string) error
}

// FakeOptions configure a FakeDLE.
type FakeOptions struct {
	// Token is the verification token; empty disables auth, as in DBLab.
	Token string
	// Version is what /healthz reports ("v4.0.0" when empty).
	Version string
	// CreateDelay, ResetDelay and DeleteDelay are how long clones stay
	// CREATING, RESETTING and DELETING.
	CreateDelay, ResetDelay, DeleteDelay time.Duration
	// Fatal makes every clone end FATAL with this message.
	Fatal string
	// Hang keeps every clone CREATING (timeout tests).
	Hang bool
	// Backend provides real databases; without it clones have a fake port.
	Backend Backend
}

// FakeDLE is an in-memory DBLab Engine API on an httptest server.
type FakeDLE struct {
	URL  string
	opts FakeOptions
	srv  *httptest.Server

	mu       sync.Mutex
	clones   map[string]*fakeClone
	bodies   []map[string]any // POST /clone bodies, in order
	nextPort int
	wg       sync.WaitGroup
}

type fakeClone struct {
	ID        string    `json:"id"`
	Branch    string    `json:"branch,omitempty"`
	Protected bool      `json:"protected"`
	CreatedAt string    `json:"createdAt"`
	Status    fakeState `json:"status"`
	Snapshot  struct {
		ID          string `json:"id"`
		DataStateAt string `json:"dataStateAt"`
	} `json:"snapshot"`
	DB struct {
		ConnStr  string `json:"connStr"`
		Host     string `json:"host"`
		Port     string `json:"port"`
		Username string `json:"username"`
		Password string `json:"password"`
		DBName   string `json:"dbName"`
	} `json:"db"`
	Metadata struct {
		CloningTime    float64 `json:"cloningTime"`
		MaxIdleMinutes uint    `json:"maxIdleMinutes"`
	} `json:"metadata"`

	password string
	backend  bool // a backend database exists
}

type fakeState struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var idPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// NewFakeDLE starts a fake engine, stopped when the test ends.
func NewFakeDLE(t testing.TB, opts FakeOptions) *FakeDLE {
	t.Helper()
	if opts.Version == "" {
		opts.Version = "v4.0.0-20250630"
	}
	f := &FakeDLE{opts: opts, clones: map[string]*fakeClone{}, nextPort: 6000}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": opts.Version, "edition": "community", "instanceID": "fake"})
	})
	mux.HandleFunc("GET /status", f.auth(f.status))
	mux.HandleFunc("GET /clones", f.auth(f.list))
	mux.HandleFunc("POST /clone", f.auth(f.create))
	mux.HandleFunc("GET /clone/{id}", f.auth(f.get))
	mux.HandleFunc("DELETE /clone/{id}", f.auth(f.delete))
	mux.HandleFunc("PATCH /clone/{id}", f.auth(f.patch))
	mux.HandleFunc("POST /clone/{id}/reset", f.auth(f.reset))
	mux.HandleFunc("/", f.auth(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Requested object does not exist. Specify your request.")
	}))
	f.srv = httptest.NewServer(mux)
	f.URL = f.srv.URL
	t.Cleanup(func() {
		f.srv.Close()
		f.wg.Wait()
		f.mu.Lock()
		ids := make([]string, 0, len(f.clones))
		for id, c := range f.clones {
			if c.backend {
				ids = append(ids, id)
			}
		}
		f.mu.Unlock()
		for _, id := range ids {
			_ = f.opts.Backend.Destroy(context.Background(), id)
		}
	})
	return f
}

// CloneIDs lists the clones the engine knows, sorted.
func (f *FakeDLE) CloneIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.clones {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// CreateBodies returns the JSON bodies of POST /clone, in order.
func (f *FakeDLE) CreateBodies() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.bodies...)
}

// SetCreatedAt backdates a clone (janitor tests).
func (f *FakeDLE) SetCreatedAt(id string, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clones[id]; ok {
		c.CreatedAt = t.UTC().Format(time.RFC3339)
	}
}

func (f *FakeDLE) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.opts.Token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Verification-Token")), []byte(f.opts.Token)) != 1 {
			apiError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Check your verification token.")
			return
		}
		h(w, r)
	}
}

func (f *FakeDLE) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	clones := f.snapshotLocked()
	writeJSON(w, http.StatusOK, map[string]any{
		"status":  fakeState{Code: "OK", Message: "Instance is ready"},
		"engine":  map[string]any{"version": f.opts.Version, "edition": "community"},
		"cloning": map[string]any{"numClones": len(clones), "clones": clones},
	})
}

func (f *FakeDLE) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSON(w, http.StatusOK, f.snapshotLocked())
}

func (f *FakeDLE) snapshotLocked() []fakeClone {
	out := make([]fakeClone, 0, len(f.clones))
	for _, c := range f.clones {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (f *FakeDLE) create(w http.ResponseWriter, r *http.Request) {
	var raw map[string]any
	var req struct {
		ID string `json:"id"`
		DB struct {
			Username string `json:"username"`
			Password string `json:"password"`
			DBName   string `json:"db_name"`
		} `json:"db"`
		Branch string `json:"branch"`
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "bad JSON: "+err.Error())
		return
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &req)
	switch {
	case req.DB.Username == "" || req.DB.Password == "":
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "missing DB username or password")
		return
	case len(req.DB.Password) < 12:
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "password validation: insecure password, try including more special characters, using uppercase letters, using numbers or using a longer password")
		return
	case req.ID != "" && !idPattern.MatchString(req.ID):
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "clone ID must match "+idPattern.String())
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, raw)
	if req.ID == "" {
		req.ID = "c" + strconv.Itoa(len(f.bodies))
	}
	if _, dup := f.clones[req.ID]; dup {
		f.mu.Unlock()
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("clone with ID %q already exists", req.ID))
		return
	}
	c := &fakeClone{ID: req.ID, Branch: req.Branch, CreatedAt: time.Now().UTC().Format(time.RFC3339), password: req.DB.Password}
	if c.Branch == "" {
		c.Branch = "main"
	}
	c.Status = fakeState{Code: "CREATING", Message: "Clone is being created."}
	c.Snapshot.ID = "dblab_pool/dataset_1@snapshot_20260101000000"
	c.Snapshot.DataStateAt = "2026-01-01T00:00:00Z"
	c.DB.Username, c.DB.DBName = req.DB.Username, req.DB.DBName
	c.Metadata.MaxIdleMinutes = 120
	f.clones[c.ID] = c
	resp := *c
	f.mu.Unlock()
	f.wg.Add(1)
	go f.provision(c.ID, req.DB.Username, req.DB.Password)
	writeJSON(w, http.StatusCreated, resp)
}

// provision finishes a creation after the delay, as the engine's goroutine
// does.
func (f *FakeDLE) provision(id, user, password string) {
	defer f.wg.Done()
	start := time.Now()
	time.Sleep(f.opts.CreateDelay)
	if f.opts.Hang {
		return
	}
	var host, port, db string
	var err error
	if f.opts.Fatal == "" && f.opts.Backend != nil {
		host, port, db, err = f.opts.Backend.Create(context.Background(), id, user, password)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clones[id]
	if !ok || c.Status.Code == "DELETING" {
		// Deleted while CREATING: the engine removes what it provisioned.
		if err == nil && f.opts.Backend != nil && f.opts.Fatal == "" {
			_ = f.opts.Backend.Destroy(context.Background(), id)
		}
		return
	}
	switch {
	case f.opts.Fatal != "":
		c.Status = fakeState{Code: "FATAL", Message: f.opts.Fatal}
	case err != nil:
		c.Status = fakeState{Code: "FATAL", Message: err.Error()}
	default:
		if f.opts.Backend == nil {
			host, port, db = "localhost", strconv.Itoa(f.nextPort), "postgres"
			f.nextPort++
		}
		c.backend = f.opts.Backend != nil
		if c.DB.DBName == "" {
			c.DB.DBName = db
		}
		c.DB.Host, c.DB.Port = host, port
		c.DB.ConnStr = fmt.Sprintf("host=%s port=%s user=%s dbname=%s", host, port, user, c.DB.DBName)
		c.Metadata.CloningTime = time.Since(start).Seconds()
		c.Status = fakeState{Code: "OK", Message: "Clone is ready to accept Postgres connections."}
	}
}

func (f *FakeDLE) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clones[r.PathValue("id")]
	if !ok {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Requested object does not exist. Specify your request.")
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (f *FakeDLE) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	c, ok := f.clones[id]
	switch {
	case !ok:
		f.mu.Unlock()
		apiError(w, http.StatusNotFound, "NOT_FOUND", "clone not found")
		return
	case c.Protected && c.Status.Code != "FATAL":
		f.mu.Unlock()
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "clone is protected")
		return
	}
	c.Status = fakeState{Code: "DELETING", Message: "Clone is being deleted."}
	hasBackend := c.backend
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		time.Sleep(f.opts.DeleteDelay)
		if hasBackend {
			_ = f.opts.Backend.Destroy(context.Background(), id)
		}
		f.mu.Lock()
		delete(f.clones, id)
		f.mu.Unlock()
	}()
	w.WriteHeader(http.StatusOK)
}

func (f *FakeDLE) patch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Protected bool `json:"protected"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "bad JSON: "+err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clones[r.PathValue("id")]
	if !ok {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Requested object does not exist. Specify your request.")
		return
	}
	c.Protected = req.Protected
	writeJSON(w, http.StatusOK, c)
}

func (f *FakeDLE) reset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SnapshotID string `json:"snapshotID"`
		Latest     bool   `json:"latest"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			apiError(w, http.StatusBadRequest, "BAD_REQUEST", "bad JSON: "+err.Error())
			return
		}
	}
	if req.Latest && req.SnapshotID != "" {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "cannot use both latest and snapshotID")
		return
	}
	id := r.PathValue("id")
	f.mu.Lock()
	c, ok := f.clones[id]
	if !ok || c.Status.Code == "CREATING" {
		f.mu.Unlock()
		apiError(w, http.StatusNotFound, "NOT_FOUND", "clone is not started yet")
		return
	}
	c.Status = fakeState{Code: "RESETTING", Message: "Clone is being reset."}
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		time.Sleep(f.opts.ResetDelay)
		f.mu.Lock()
		defer f.mu.Unlock()
		if c, ok := f.clones[id]; ok && c.Status.Code == "RESETTING" {
			c.Status = fakeState{Code: "OK", Message: "Clone is ready to accept Postgres connections."}
		}
	}()
	w.WriteHeader(http.StatusOK)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}
