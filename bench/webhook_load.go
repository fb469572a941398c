//go:build ignore

// webhook_load drives `reviewer serve` on loopback with GitLab webhook
// deliveries at a fixed rate and reports what a GitLab instance would see
// and what the MR authors would get:
//
//   - acknowledgement latency (p50, p99, max), measured from the intended
//     send time (open loop, so a stalled server cannot hide its backlog);
//   - deliveries lost: answers other than 2xx, transport errors, and pushed
//     heads that never got a review job to the end;
//   - reviews done and duplicate reviews (a head reviewed twice), from the
//     reviewer's pgai_review_run table, and duplicate summary notes from the
//     fake GitLab;
//   - before the load, the time from the webhook of an MR with 10 migrations
//     to its summary note (static checks).
//
// The fake GitLab (internal/gitlab/gitlabtest) runs in this process; the
// reviewer is built from ./cmd/reviewer and run as a child process; the
// database is PGAI_BENCH_DATABASE_URL (a role that may CREATE DATABASE) or a
// throwaway PostgreSQL cluster started here and stopped at the end.
//
//	go run bench/webhook_load.go -rate 500 -duration 60s
//
// The delivery mix is what a busy project sends: mostly events the reviewer
// ignores (merge-status updates without oldrev, plain comments, pipeline
// events), plus pushes (update with oldrev and a new head), manual
// re-deliveries of a push (same Idempotency-Key) and the second update event
// of a push (new key, same head).
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
)

const (
	token     = "glpat-load-bot"
	secret    = "load-webhook-secret"
	projectID = 77
	base      = "base000000000000000000000000000000000000"
)

var (
	rate       = flag.Int("rate", 500, "deliveries per second")
	duration   = flag.Duration("duration", 60*time.Second, "how long to send")
	mrs        = flag.Int("mrs", 100, "merge requests receiving pushes")
	pushShare  = flag.Float64("push-share", 0.05, "share of deliveries that are pushes (each also re-delivered and doubled)")
	workers    = flag.Int("workers", 4, "reviewer workers")
	conns      = flag.Int("conns", 64, "concurrent HTTP connections of the sender")
	drain      = flag.Duration("drain", 5*time.Minute, "how long to wait for queued reviews after sending")
	keep       = flag.Bool("v", false, "show the reviewer's log")
	split      = flag.Bool("split", false, "run the receiver (serve -workers 0) and the workers (reviewer worker) as two processes")
	workerNice = flag.Int("worker-nice", 0, "with -split, run the worker process under nice -n N (reviews are batch work)")
)

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "webhook_load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	admin, stopPG, err := database(ctx)
	if err != nil {
		return err
	}
	defer stopPG()
	dbName := "pgai_load_" + randHex(4)
	if err := execSQL(ctx, admin, "CREATE DATABASE "+dbName); err != nil {
		return err
	}
	defer execSQL(context.Background(), admin, "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)")
	dbURL := withDB(admin, dbName)

	gl := gitlabtest.NewServer()
	defer gl.Close()
	gl.AddUser(token, gitlabtest.User{ID: 1, Username: "pgai-bot"})
	gl.SetFile(projectID, base, "db/migrations/0001_init.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n")
	for i := 1; i <= *mrs+1; i++ {
		gl.AddMR(gitlabtest.MR{ProjectID: projectID, IID: int64(i), Title: "load", BaseSHA: base, AuthorID: 2})
	}

	bin := filepath.Join(os.TempDir(), "pgai-reviewer-load")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/reviewer").CombinedOutput(); err != nil {
		return fmt.Errorf("build reviewer: %v: %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	env := append(os.Environ(), "PGAI_GITLAB_URL="+gl.URL, "PGAI_GITLAB_TOKEN="+token, "PGAI_WEBHOOK_SECRET="+secret,
		"PGAI_DATABASE_URL="+dbURL, "PGAI_LISTEN_ADDR="+addr)
	// The children log to a file, as in production (a pipe read by this
	// busy process would stall their log writes).
	logFile, err := os.CreateTemp("", "pgai-load-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(logFile.Name())
	defer logFile.Close()
	logTail := func() string {
		b, _ := os.ReadFile(logFile.Name())
		return tail(string(b))
	}
	startProc := func(name string, args ...string) (func(), error) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = io.Discard, logFile
		if *keep {
			cmd.Stderr = os.Stderr
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s %s: %w", name, strings.Join(args, " "), err)
		}
		return func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(40 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		}, nil
	}
	serveWorkers := *workers
	if *split {
		serveWorkers = 0
	}
	stopServe, err := startProc(bin, "serve", "-workers", strconv.Itoa(serveWorkers))
	if err != nil {
		return err
	}
	defer stopServe()
	if *split {
		// The receiver answers; a separate, lower-priority process reviews.
		name, args := bin, []string{"worker", "-workers", strconv.Itoa(*workers)}
		if *workerNice > 0 {
			name, args = "nice", append([]string{"-n", strconv.Itoa(*workerNice), bin}, args...)
		}
		stopWorker, err := startProc(name, args...)
		if err != nil {
			return err
		}
		defer stopWorker()
	}
	url := "http://" + addr
	if err := waitReady(ctx, url); err != nil {
		return fmt.Errorf("%w\n%s", err, logTail())
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}, Timeout: 15 * time.Second}
	tpl, err := loadTemplates()
	if err != nil {
		return err
	}

	// 1. Ten migrations, one webhook, time to the summary note.
	tenIID := int64(*mrs + 1)
	var changes []gitlabtest.Change
	for i := range 10 {
		changes = append(changes, gitlabtest.Change{Path: fmt.Sprintf("db/migrations/%04d_step.sql", i+2), Content: tenMigration(i)})
	}
	tenSHA := sha(0, 999999)
	gl.Push(projectID, tenIID, tenSHA, changes...)
	start := time.Now()
	if code, err := post(client, url, "Merge Request Hook", tpl.push(tenIID, tenSHA, base), "ten-1"); err != nil || code/100 != 2 {
		return fmt.Errorf("ten-migration webhook: %d %v", code, err)
	}
	var tenLatency time.Duration
	for {
		if n := summaryNotes(gl, tenIID); n > 0 {
			tenLatency = time.Since(start)
			break
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("no summary for the 10-migration MR after a minute\n%s", logTail())
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Printf("10-migration MR: summary note %d ms after the webhook (inline discussions: %d)\n",
		tenLatency.Milliseconds(), len(gl.Discussions(projectID, tenIID)))

	// 2. The load.
	type result struct {
		lat  time.Duration
		code int
		err  error
	}
	total := int(float64(*rate) * duration.Seconds())
	results := make([]result, total)
	var pushes sync.Map // head sha -> iid
	var nPush atomic.Int64
	var wg sync.WaitGroup
	plan := make([]func() (event, body, key string), total)
	// Build the plan up front so sending is cheap: pushes are registered
	// in the fake GitLab just before their first delivery.
	var lastPush []struct {
		iid  int64
		sha  string
		body string
	}
	pushEvery := int(1 / *pushShare)
	// Bodies of ignored events are rendered once per MR.
	msBodies, noteBodies := make([]string, *mrs+1), make([]string, *mrs+1)
	for iid := 1; iid <= *mrs; iid++ {
		msBodies[iid] = tpl.mergeStatus(int64(iid))
		noteBodies[iid] = tpl.note(int64(iid), int64(100000+iid))
	}
	for i := range total {
		switch {
		case i%pushEvery == 0:
			p := int(nPush.Add(1))
			iid := int64(p%*mrs + 1)
			s := sha(iid, p)
			key := fmt.Sprintf("push-%d", p)
			body := tpl.push(iid, s, base)
			lastPush = append(lastPush, struct {
				iid  int64
				sha  string
				body string
			}{iid, s, body})
			plan[i] = func() (string, string, string) {
				gl.Push(projectID, iid, s, gitlabtest.Change{Path: "db/migrations/0002_change.sql", Content: loadMigration(p)})
				pushes.Store(s, iid)
				return "Merge Request Hook", body, key
			}
		case i%pushEvery == 1 && len(lastPush) > 0: // manual re-delivery
			lp := lastPush[len(lastPush)-1]
			key := fmt.Sprintf("push-%d", nPush.Load())
			plan[i] = func() (string, string, string) { return "Merge Request Hook", lp.body, key }
		case i%pushEvery == 2 && len(lastPush) > 0: // the second update event of the push
			lp := lastPush[len(lastPush)-1]
			key := fmt.Sprintf("push-%d-second", nPush.Load())
			plan[i] = func() (string, string, string) { return "Merge Request Hook", lp.body, key }
		case i%5 == 0:
			key := fmt.Sprintf("pipe-%d", i)
			plan[i] = func() (string, string, string) { return "Pipeline Hook", tpl.pipeline, key }
		case i%5 == 1:
			iid := i%*mrs + 1
			key := fmt.Sprintf("note-%d", i)
			plan[i] = func() (string, string, string) { return "Note Hook", noteBodies[iid], key }
		default:
			iid := i%*mrs + 1
			key := fmt.Sprintf("ms-%d", i)
			plan[i] = func() (string, string, string) { return "Merge Request Hook", msBodies[iid], key }
		}
	}
	// The plan must run in order for the pushes (a push before its
	// re-deliveries): one goroutine prepares, the senders send.
	type delivery struct {
		i                int
		due              time.Time
		event, body, key string
	}
	queue := make(chan delivery, 4096)
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range queue {
				code, err := post(client, url, d.event, d.body, d.key)
				results[d.i] = result{lat: time.Since(d.due), code: code, err: err}
			}
		}()
	}
	t0 := time.Now()
	interval := time.Second / time.Duration(*rate)
	for i := range total {
		due := t0.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			break
		}
		ev, body, key := plan[i]()
		queue <- delivery{i: i, due: due, event: ev, body: body, key: key}
	}
	close(queue)
	wg.Wait()
	sendTime := time.Since(t0)

	var lats []time.Duration
	var non2xx, transport int
	codes := map[int]int{}
	for _, r := range results {
		if r.err != nil {
			transport++
			continue
		}
		codes[r.code]++
		if r.code/100 != 2 {
			non2xx++
		}
		lats = append(lats, r.lat)
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(p float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(len(lats)-1, int(p*float64(len(lats))))]
	}

	// The receiver's own view (from request read to answer written).
	if resp, err := http.Get(url + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		buckets := map[string]float64{}
		var count float64
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, `pgai_webhook_ack_seconds_bucket{le="`); ok {
				le, v, _ := strings.Cut(rest, `"} `)
				buckets[le], _ = strconv.ParseFloat(v, 64)
			}
			if v, ok := strings.CutPrefix(l, "pgai_webhook_ack_seconds_count "); ok {
				count, _ = strconv.ParseFloat(v, 64)
			}
		}
		if count > 0 {
			fmt.Printf("server-side handling time: %.2f%% within 2 ms, %.2f%% within 5 ms, %.2f%% within 20 ms (of %.0f)\n",
				100*buckets["0.002"]/count, 100*buckets["0.005"]/count, 100*buckets["0.02"]/count, count)
		}
	}

	// 3. Drain: every pushed head must get exactly one review run.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	heads := 0
	pushes.Range(func(_, _ any) bool { heads++; return true })
	drainStart := time.Now()
	var runs, distinct int
	for {
		if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT (project_id, mr_iid, head_sha)) FROM pgai_review_run WHERE mr_iid <= $1`, *mrs).Scan(&runs, &distinct); err != nil {
			return err
		}
		var pending int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state IN ('available','running','retryable','scheduled')`).Scan(&pending); err != nil {
			return err
		}
		if (distinct >= heads && pending == 0) || time.Since(drainStart) > *drain || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	outcomes := map[string]int{}
	rows, err := conn.Query(ctx, `SELECT outcome, count(*) FROM pgai_review_run WHERE mr_iid <= $1 GROUP BY 1`, *mrs)
	if err != nil {
		return err
	}
	for rows.Next() {
		var o string
		var n int
		_ = rows.Scan(&o, &n)
		outcomes[o] = n
	}
	rows.Close()
	var discarded int
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state IN ('discarded','cancelled')`).Scan(&discarded)
	dupNotes := 0
	for iid := 1; iid <= *mrs; iid++ {
		if n := summaryNotes(gl, int64(iid)); n > 1 {
			dupNotes += n - 1
		}
	}

	fmt.Printf("sent %d deliveries in %.1f s (%.0f/s target %d/s) over %d connections\n", total, sendTime.Seconds(), float64(total)/sendTime.Seconds(), *rate, *conns)
	fmt.Printf("ack latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", ms(pct(0.50)), ms(pct(0.99)), ms(lats[len(lats)-1]))
	fmt.Printf("answers: %v; transport errors %d\n", codes, transport)
	var queued []time.Duration
	for _, r := range results {
		if r.err == nil && r.code == http.StatusAccepted {
			queued = append(queued, r.lat)
		}
	}
	sort.Slice(queued, func(i, j int) bool { return queued[i] < queued[j] })
	if len(queued) > 0 {
		fmt.Printf("ack latency of the %d deliveries that queued a review (database insert): p50 %.2f ms, p99 %.2f ms\n",
			len(queued), ms(queued[len(queued)/2]), ms(queued[min(len(queued)-1, len(queued)*99/100)]))
	}
	fmt.Printf("pushed heads %d; reviewed %d (runs %d: %v) in %.1f s after the last delivery; jobs discarded/cancelled %d\n",
		heads, distinct, runs, outcomes, time.Since(drainStart).Seconds(), discarded)
	lost := non2xx + transport + (heads - distinct)
	fmt.Printf("deliveries lost: %d; duplicate reviews: %d; duplicate summary notes: %d\n", lost, runs-distinct, dupNotes)
	if lost > 0 || runs != distinct || dupNotes > 0 {
		return errors.New("FAILED: lost deliveries or duplicate reviews")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func summaryNotes(gl *gitlabtest.Server, iid int64) int {
	n := 0
	for _, note := range gl.Notes(projectID, iid) {
		if strings.Contains(note.Body, "<!-- pgai-reviewer:summary -->") {
			n++
		}
	}
	return n
}

func sha(iid int64, p int) string { return fmt.Sprintf("%08x%032x", iid, p) }

func tenMigration(i int) string {
	return fmt.Sprintf(`SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN c%d bigint;
CREATE INDEX idx_orders_c%d ON orders (c%d);
UPDATE orders SET c%d = id;
ALTER TABLE orders ALTER COLUMN c%d SET NOT NULL;
`, i, i, i, i, i)
}

func loadMigration(p int) string {
	return fmt.Sprintf("SET lock_timeout = '2s';\nCREATE INDEX idx_orders_%d ON orders (user_id);\n", p)
}

type templates struct {
	mr, note0 map[string]any
	pipeline  string
}

func loadTemplates() (*templates, error) {
	read := func(name string) (map[string]any, error) {
		b, err := os.ReadFile(filepath.Join("webhook", "testdata", name))
		if err != nil {
			return nil, fmt.Errorf("%w (run from the repository root)", err)
		}
		var m map[string]any
		return m, json.Unmarshal(b, &m)
	}
	t := &templates{pipeline: `{"object_kind":"pipeline","object_attributes":{"id":1,"status":"success"},"project":{"id":77}}`}
	var err error
	if t.mr, err = read("mr_update_push.json"); err != nil {
		return nil, err
	}
	if t.note0, err = read("note_plain.json"); err != nil {
		return nil, err
	}
	return t, nil
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func (t *templates) push(iid int64, head, old string) string {
	m := clone(t.mr)
	a := m["object_attributes"].(map[string]any)
	a["iid"], a["target_project_id"], a["oldrev"] = iid, projectID, old
	a["last_commit"].(map[string]any)["id"] = head
	b, _ := json.Marshal(m)
	return string(b)
}

func (t *templates) mergeStatus(iid int64) string {
	m := clone(t.mr)
	a := m["object_attributes"].(map[string]any)
	a["iid"], a["target_project_id"] = iid, projectID
	delete(a, "oldrev")
	m["changes"] = map[string]any{"merge_status": map[string]any{"previous": "unchecked", "current": "can_be_merged"}}
	b, _ := json.Marshal(m)
	return string(b)
}

func (t *templates) note(iid, id int64) string {
	m := clone(t.note0)
	m["project_id"] = projectID
	m["object_attributes"].(map[string]any)["id"] = id
	m["merge_request"].(map[string]any)["iid"] = iid
	b, _ := json.Marshal(m)
	return string(b)
}

func post(c *http.Client, url, event, body, key string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/webhook/gitlab", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitlab-Event", event)
	req.Header.Set("X-Gitlab-Token", secret)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("reviewer serve did not become ready")
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func execSQL(ctx context.Context, url, sql string) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func withDB(url, db string) string {
	i := strings.LastIndex(url, "/")
	q := ""
	if j := strings.Index(url[i:], "?"); j >= 0 {
		q = url[i+j:]
	}
	return url[:i+1] + db + q
}

// database returns an admin URL: PGAI_BENCH_DATABASE_URL, or a throwaway
// cluster (initdb + pg_ctl, as the postgres user when run as root) that the
// returned func stops and removes.
func database(ctx context.Context) (string, func(), error) {
	if u := os.Getenv("PGAI_BENCH_DATABASE_URL"); u != "" {
		return u, func() {}, nil
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return "", nil, errors.New("no PostgreSQL: set PGAI_BENCH_DATABASE_URL or install postgresql")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "pgai-load-")
	if err != nil {
		return "", nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		_ = os.Chown(dir, uid, gid)
	}
	runPG := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.Dir = os.TempDir()
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := runPG("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"); err != nil {
		return "", nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", nil, err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "\nlisten_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nmax_connections = 200\nfsync = off\nsynchronous_commit = off\n", port, dir)
	_ = w.Flush()
	f.Close()
	if err := runPG("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "start"); err != nil {
		return "", nil, err
	}
	stopFn := func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
		cmd.Dir = os.TempDir()
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		_ = cmd.Run()
		_ = os.RemoveAll(dir)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", port), stopFn, nil
}
