// Command fakegitlab serves the project's fake GitLab (gitlabtest) with
// one project (42), one merge request (!7) and a developer (user 5), so
// that `reviewer serve` can be driven end to end without a GitLab:
//
//	go run ./agent/agenttest/fakegitlab -addr 127.0.0.1:8929 -webhook http://127.0.0.1:8080/webhook/gitlab -secret S &
//	PGAI_GITLAB_URL=http://127.0.0.1:8929 PGAI_GITLAB_TOKEN=glpat-demo-bot PGAI_WEBHOOK_SECRET=S … reviewer serve --clone local
//	curl -s 'http://127.0.0.1:8929/demo/note' --data-urlencode 'text=/pgai ask …'   # the developer comments; the Note Hook is sent
//	curl -s 'http://127.0.0.1:8929/demo/thread?id=DISCUSSION'                       # the thread as text
//
// The GitLab API routes are the fake's (real paths and JSON); /demo/ is
// this command's own.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
)

const (
	pid   = 42
	iid   = 7
	dev   = 5
	base  = "base000000000000000000000000000000000000"
	head  = "aaaa111111111111111111111111111111111111"
	token = "glpat-demo-bot"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8929", "address to listen on")
	hook := flag.String("webhook", "http://127.0.0.1:8080/webhook/gitlab", "the reviewer's webhook URL")
	secret := flag.String("secret", "demo-webhook-secret", "the webhook secret token")
	flag.Parse()
	s := gitlabtest.NewServer()
	s.Close() // its handler is served on -addr below
	s.AddUser(token, gitlabtest.User{ID: 99, Username: "pgai-bot"})
	s.SetFile(pid, base, "db/migrations/001_init.sql", "CREATE TABLE t (id bigint PRIMARY KEY, v text);\n")
	s.AddMR(gitlabtest.MR{ProjectID: pid, IID: iid, Title: "add a column to t", BaseSHA: base, AuthorID: dev})
	s.Push(pid, iid, head, gitlabtest.Change{Path: "db/migrations/002_add_column.sql", Content: "ALTER TABLE t ADD COLUMN created_at timestamptz DEFAULT now();\n"})
	s.SetMember(pid, dev, 30)
	mux := http.NewServeMux()
	mux.Handle("/", s.Config.Handler)
	mux.HandleFunc("POST /demo/note", func(w http.ResponseWriter, r *http.Request) {
		text := r.FormValue("text")
		did := r.FormValue("discussion")
		var noteID int64
		if did == "" {
			noteID, did = s.AddUserNote(pid, iid, dev, text)
		} else {
			noteID = s.AddUserReply(pid, iid, did, dev, text)
		}
		ev := map[string]any{
			"object_kind": "note", "event_type": "note",
			"user":       map[string]any{"id": dev, "name": "Dev", "username": "dev"},
			"project_id": pid, "project": map[string]any{"id": pid, "path_with_namespace": "demo/app", "web_url": "http://" + *addr + "/demo/app"},
			"object_attributes": map[string]any{"id": noteID, "note": text, "noteable_type": "MergeRequest", "author_id": dev, "project_id": pid,
				"discussion_id": did, "action": "create", "system": false, "type": "DiscussionNote"},
			"merge_request": map[string]any{"iid": iid, "state": "opened", "source_project_id": pid, "target_project_id": pid,
				"title": "add a column to t", "last_commit": map[string]any{"id": head}},
		}
		b, _ := json.Marshal(ev)
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, *hook, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Gitlab-Event", "Note Hook")
		req.Header.Set("X-Gitlab-Token", *secret)
		req.Header.Set("Idempotency-Key", fmt.Sprintf("demo-%d", noteID))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, "webhook: "+err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		fmt.Fprintf(w, "note %d in discussion %s; webhook answered %d\n", noteID, did, resp.StatusCode)
	})
	mux.HandleFunc("GET /demo/thread", func(w http.ResponseWriter, r *http.Request) {
		for _, d := range s.Discussions(pid, iid) {
			if d.ID != r.FormValue("id") {
				continue
			}
			for _, n := range d.Notes {
				fmt.Fprintf(w, "----- note %d by user %d (awards %v)\n%s\n", n.ID, n.AuthorID, n.Awards, n.Body)
			}
			return
		}
		http.NotFound(w, r)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakegitlab:", err)
		os.Exit(2)
	}
	fmt.Printf("fake GitLab at http://%s (bot token %s, project %d, MR !%d)\n", ln.Addr(), token, pid, iid)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
	_ = srv.Close()
}
