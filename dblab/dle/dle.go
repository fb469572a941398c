// Package dle makes thin clones with the DBLab Engine HTTP API (3.x and
// 4.x): create a clone with a generated password, wait until it is ready,
// reset it, destroy it and wait until the engine no longer knows it.
//
// It is our own small client: DBLab's Go client lives in a module that
// pulls in the Docker and AWS SDKs.
package dle

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"gitlab.com/pgai/reviewer/dblab"
)

// Clone status codes of the DBLab API.
const (
	StatusOK        = "OK"
	StatusCreating  = "CREATING"
	StatusResetting = "RESETTING"
	StatusDeleting  = "DELETING"
	StatusFatal     = "FATAL"
)

// Options configure a Provider.
type Options struct {
	// URL is the API base (http://host:2345, or https://host/api behind
	// the UI port).
	URL string
	// Token is sent as Verification-Token.
	Token string
	// Host overrides the host clients connect to (the engine reports its
	// accessHost, often localhost); empty uses the clone's host, or the
	// URL's host when that is a loopback name.
	Host string
	// SSLMode of the clone DSN ("prefer" when empty).
	SSLMode string
	// Username is the clone's database user ("pgai_reviewer" when empty);
	// DBName the database to connect to (the engine's default when empty).
	Username, DBName string
	// Branch (DBLab 4.x) and SnapshotID choose the data; empty means the
	// default branch's newest snapshot.
	Branch, SnapshotID string
	// PollInterval (1 s) and the create (60 s), reset (60 s) and destroy
	// (60 s) timeouts of the asynchronous operations.
	PollInterval                                time.Duration
	CreateTimeout, ResetTimeout, DestroyTimeout time.Duration
	// MaxAge is how old a pgai- clone may get before Sweep deletes it
	// (dblab.DefaultTTL when zero).
	MaxAge     time.Duration
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Provider makes clones on a DBLab Engine.
type Provider struct {
	opts    Options
	base    *url.URL
	verOnce sync.Once
	major   int
	verErr  error
}

var (
	_ dblab.Provider = (*Provider)(nil)
	_ dblab.Sweeper  = (*Provider)(nil)
)

// New checks the options and returns a Provider. It does not connect.
func New(opts Options) (*Provider, error) {
	if opts.URL == "" {
		return nil, errors.New("dblab: no engine URL (--dblab-url or PGAI_DBLAB_URL)")
	}
	u, err := url.Parse(strings.TrimRight(opts.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("dblab: bad engine URL %q (want http(s)://host:port[/api])", opts.URL)
	}
	if opts.Username == "" {
		opts.Username = "pgai_reviewer"
	}
	if opts.SSLMode == "" {
		opts.SSLMode = "prefer"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.PollInterval, time.Second)
	def(&opts.CreateTimeout, 60*time.Second)
	def(&opts.ResetTimeout, 60*time.Second)
	def(&opts.DestroyTimeout, 60*time.Second)
	def(&opts.MaxAge, dblab.DefaultTTL)
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{opts: opts, base: u}, nil
}

// APIError is an error answer of the engine: {"code", "message"}.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("dblab: HTTP %d %s: %s", e.Status, e.Code, e.Message)
	if e.Status == http.StatusUnauthorized {
		msg += " (check --dblab-token / PGAI_DBLAB_TOKEN)"
	}
	return msg
}

// IsNotFound reports whether err is the engine's 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// Time is the engine's timestamp: RFC 3339, the legacy
// "2006-01-02 15:04:05 UTC", "" or null (zero).
type Time struct{ time.Time }

// UnmarshalJSON reads any of the engine's timestamp forms.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("dblab time: %w", err)
	}
	if s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("dblab time: cannot parse %q", s)
}

// CloneInfo is the engine's Clone object (the fields we use).
type CloneInfo struct {
	ID       string `json:"id"`
	Branch   string `json:"branch,omitempty"`
	Revision int    `json:"revision,omitempty"`
	Snapshot struct {
		ID          string `json:"id"`
		DataStateAt Time   `json:"dataStateAt"`
	} `json:"snapshot"`
	Protected bool `json:"protected"`
	CreatedAt Time `json:"createdAt"`
	Status    struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	DB struct {
		ConnStr  string `json:"connStr"`
		Host     string `json:"host"`
		Port     string `json:"port"`
		Username string `json:"username"`
		DBName   string `json:"dbName"`
	} `json:"db"`
	Metadata struct {
		CloneDiffSize  uint64  `json:"cloneDiffSize"`
		LogicalSize    uint64  `json:"logicalSize"`
		CloningTime    float64 `json:"cloningTime"`
		MaxIdleMinutes uint    `json:"maxIdleMinutes"`
	} `json:"metadata"`
}

// createRequest is POST /clone's body: snake_case inside db, as the engine
// expects.
type createRequest struct {
	ID        string `json:"id"`
	Protected bool   `json:"protected"`
	DB        struct {
		Username   string `json:"username"`
		Password   string `json:"password"`
		Restricted bool   `json:"restricted"`
		DBName     string `json:"db_name,omitempty"`
	} `json:"db"`
	Snapshot *struct {
		ID string `json:"id"`
	} `json:"snapshot,omitempty"`
	Branch string `json:"branch,omitempty"`
}

// Version returns the engine's major version from GET /healthz (3 when
// the version cannot be read: the safe assumption, no branch fields).
func (p *Provider) Version(ctx context.Context) (int, error) {
	p.verOnce.Do(func() {
		var h struct {
			Version string `json:"version"`
		}
		if err := p.do(ctx, http.MethodGet, "/healthz", nil, &h); err != nil {
			p.verErr = fmt.Errorf("dblab health: %w", err)
			return
		}
		p.major = 3
		v := strings.TrimPrefix(h.Version, "v")
		if maj, _, _ := strings.Cut(v, "."); maj != "" {
			if n, err := strconv.Atoi(maj); err == nil {
				p.major = n
			}
		}
	})
	return p.major, p.verErr
}

// Clone creates a clone and waits until it is ready.
func (p *Provider) Clone(ctx context.Context, req dblab.CloneRequest) (*dblab.Clone, error) {
	major, err := p.Version(ctx)
	if err != nil {
		return nil, err
	}
	id := dblab.NewCloneID(req)
	password, err := Password()
	if err != nil {
		return nil, err
	}
	var body createRequest
	body.ID = id
	body.DB.Username = p.opts.Username
	body.DB.Password = password
	body.DB.DBName = p.opts.DBName
	if p.opts.SnapshotID != "" {
		body.Snapshot = &struct {
			ID string `json:"id"`
		}{ID: p.opts.SnapshotID}
	}
	if major >= 4 {
		body.Branch = p.opts.Branch
	} else if p.opts.Branch != "" {
		return nil, fmt.Errorf("dblab: branch %q asked but the engine is version %d (branches need 4.0)", p.opts.Branch, major)
	}
	var info CloneInfo
	if err := p.do(ctx, http.MethodPost, "/clone", body, &info); err != nil {
		if ctx.Err() != nil {
			// Interrupted while the request was in flight: the engine may
			// have made the clone. DELETE works on a CREATING clone; a
			// clone that was never made answers 404, which Destroy accepts.
			derr := p.Destroy(context.WithoutCancel(ctx), id)
			return nil, errors.Join(fmt.Errorf("create clone %s: %w", id, err), derr)
		}
		return nil, fmt.Errorf("create clone %s: %w", id, err)
	}
	p.opts.Logger.InfoContext(ctx, "dblab clone requested", slog.String("clone_id", id))
	cctx, cancel := context.WithTimeout(ctx, p.opts.CreateTimeout)
	defer cancel()
	final, err := p.wait(cctx, id, &info, StatusCreating)
	if err == nil && final.Status.Code != StatusOK {
		err = fmt.Errorf("clone %s is %s: %s", id, final.Status.Code, final.Status.Message)
	}
	if err != nil {
		// FATAL or timed out: the engine keeps it unless we delete it.
		derr := p.Destroy(context.WithoutCancel(ctx), id)
		return nil, errors.Join(fmt.Errorf("create clone %s: %w", id, err), derr)
	}
	c := dblab.NewClone(id, p.dsn(final, password), func(ctx context.Context) error { return p.Destroy(ctx, id) })
	if !final.CreatedAt.IsZero() {
		c.CreatedAt = final.CreatedAt.Time
	}
	c.ExpiresAt = c.CreatedAt.Add(req.TTLOrDefault())
	c.DataStateAt = final.Snapshot.DataStateAt.Time
	return c, nil
}

// wait polls GET /clone/{id} while its status is transient.
func (p *Provider) wait(ctx context.Context, id string, info *CloneInfo, transient string) (*CloneInfo, error) {
	t := time.NewTicker(p.opts.PollInterval)
	defer t.Stop()
	for info.Status.Code == transient {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for clone %s (still %s): %w", id, transient, ctx.Err())
		case <-t.C:
		}
		var next CloneInfo
		if err := p.do(ctx, http.MethodGet, "/clone/"+url.PathEscape(id), nil, &next); err != nil {
			return nil, fmt.Errorf("get clone %s: %w", id, err)
		}
		*info = next
	}
	return info, nil
}

// Reset brings a clone back to its snapshot (or snapshotID, or the newest
// one when latest) and waits until it is ready again.
func (p *Provider) Reset(ctx context.Context, id, snapshotID string, latest bool) error {
	body := struct {
		SnapshotID string `json:"snapshotID,omitempty"`
		Latest     bool   `json:"latest"`
	}{snapshotID, latest}
	if err := p.do(ctx, http.MethodPost, "/clone/"+url.PathEscape(id)+"/reset", body, nil); err != nil {
		return fmt.Errorf("reset clone %s: %w", id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.ResetTimeout)
	defer cancel()
	info := &CloneInfo{}
	info.Status.Code = StatusResetting
	final, err := p.wait(ctx, id, info, StatusResetting)
	if err != nil {
		return fmt.Errorf("reset clone %s: %w", id, err)
	}
	if final.Status.Code != StatusOK {
		return fmt.Errorf("reset clone %s: %s: %s", id, final.Status.Code, final.Status.Message)
	}
	return nil
}

// Destroy deletes a clone and waits until GET answers 404. A clone that is
// already gone is not an error.
func (p *Provider) Destroy(ctx context.Context, id string) error {
	if err := p.do(ctx, http.MethodDelete, "/clone/"+url.PathEscape(id), nil, nil); err != nil {
		if IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("destroy clone %s: %w", id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.DestroyTimeout)
	defer cancel()
	t := time.NewTicker(p.opts.PollInterval)
	defer t.Stop()
	for {
		err := p.do(ctx, http.MethodGet, "/clone/"+url.PathEscape(id), nil, &CloneInfo{})
		if IsNotFound(err) {
			p.opts.Logger.InfoContext(ctx, "dblab clone destroyed", slog.String("clone_id", id))
			return nil
		}
		if err != nil {
			return fmt.Errorf("destroy clone %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("destroy clone %s: still present: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// Clones lists the engine's clones from GET /status (works on 3.x and 4.x).
func (p *Provider) Clones(ctx context.Context) ([]CloneInfo, error) {
	var st struct {
		Cloning struct {
			Clones []CloneInfo `json:"clones"`
		} `json:"cloning"`
	}
	if err := p.do(ctx, http.MethodGet, "/status", nil, &st); err != nil {
		return nil, fmt.Errorf("list clones: %w", err)
	}
	return st.Cloning.Clones, nil
}

// Sweep deletes the reviewer's clones (id pgai-…) that are older than
// MaxAge, FATAL, or still CREATING twice the creation timeout after they
// were asked for, and are not protected.
func (p *Provider) Sweep(ctx context.Context) ([]string, error) {
	clones, err := p.Clones(ctx)
	if err != nil {
		return nil, fmt.Errorf("sweep clones: %w", err)
	}
	now := p.opts.Now()
	var gone []string
	var errs []error
	for _, c := range clones {
		if !strings.HasPrefix(c.ID, "pgai-") || c.Protected {
			continue
		}
		age := now.Sub(c.CreatedAt.Time)
		old := !c.CreatedAt.IsZero() && age > p.opts.MaxAge
		// A clone still CREATING long after any creation should have
		// finished belongs to a run that died while waiting for it.
		stuck := c.Status.Code == StatusCreating && !c.CreatedAt.IsZero() && age > 2*p.opts.CreateTimeout
		if !old && !stuck && c.Status.Code != StatusFatal {
			continue
		}
		if err := p.Destroy(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		gone = append(gone, c.ID)
	}
	return gone, errors.Join(errs...)
}

// dsn builds the clone's connection string with the password we chose
// (the engine never echoes it).
func (p *Provider) dsn(c *CloneInfo, password string) string {
	host := p.opts.Host
	if host == "" {
		host = c.DB.Host
		if host == "" || host == "localhost" || host == "127.0.0.1" {
			// accessHost is the engine's own view; the API host is ours.
			host = p.base.Hostname()
		}
	}
	user := c.DB.Username
	if user == "" {
		user = p.opts.Username
	}
	db := c.DB.DBName
	if db == "" {
		db = p.opts.DBName
	}
	if db == "" {
		db = "postgres"
	}
	kv := []string{"host=" + quote(host), "port=" + quote(c.DB.Port), "user=" + quote(user),
		"password=" + quote(password), "dbname=" + quote(db), "sslmode=" + quote(p.opts.SSLMode)}
	return strings.Join(kv, " ")
}

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Password returns a random 24-character alphanumeric password (about 142
// bits; the engine wants at least 60).
func Password() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 24)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}

// do sends one API request; a non-2xx answer becomes an *APIError.
func (p *Provider) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := *p.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Verification-Token", p.opts.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		ae := &APIError{Status: resp.StatusCode}
		var eb struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &eb) == nil && (eb.Code != "" || eb.Message != "") {
			ae.Code, ae.Message = eb.Code, eb.Message
		} else {
			ae.Message = strings.TrimSpace(string(data))
			if len(ae.Message) > 200 {
				ae.Message = ae.Message[:200]
			}
		}
		return ae
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}
