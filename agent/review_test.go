package agent

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gitlab.com/pgai/reviewer/agent/agenttest"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/gitlab/gitlabtest"
	"gitlab.com/pgai/reviewer/internal/mrreview"
	"gitlab.com/pgai/reviewer/internal/review"
)

// A review with the explainer hooked in: the blocking finding's thread
// carries the explanation with its kb citation; when the model fails the
// review is still posted and says there is no explanation.
func TestReviewExplanations(t *testing.T) {
	t.Parallel()
	const base, sha = "base0000000000000000000000000000000000000", "aaaa111111111111111111111111111111111111"
	for _, fail := range []bool{false, true} {
		s := gitlabtest.New(t)
		s.AddUser(glToken, gitlabtest.User{ID: botID, Username: "pgai-bot"})
		s.SetFile(pid, base, "db/migrations/001_init.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n")
		s.AddMR(gitlabtest.MR{ProjectID: pid, IID: iid, Title: "index", BaseSHA: base, AuthorID: dev})
		s.Push(pid, iid, sha, gitlabtest.Change{Path: "db/migrations/002_index.sql", Content: "SET lock_timeout = '2s';\nCREATE INDEX idx_orders_user ON orders (user_id);\n"})
		c, err := gitlab.New(gitlab.Options{BaseURL: s.URL, Token: glToken, CreateRetryWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		kbs, _ := testKB(t)
		f := agenttest.New(t)
		if fail {
			f.Script(agenttest.Reply{Status: http.StatusBadRequest})
		} else {
			f.Script(agenttest.Reply{Content: "A plain CREATE INDEX holds a lock that blocks every write to orders until the build ends [1]."})
		}
		x := &Explainer{Model: testModel(t, f), KB: kbs}
		rev := mrreview.New(mrreview.Options{GitLab: c, Logger: testLogger(t), ExplainAll: x.ExplainFindings})
		res, err := rev.Run(t.Context(), review.Job{ProjectID: pid, MRIID: iid, HeadSHA: sha}, mrreview.GitLabTree{API: c, ProjectID: pid, SHA: sha})
		if err != nil {
			t.Fatal(err)
		}
		if res.Report.Summary.Blocking == 0 {
			t.Fatal("no blocking finding")
		}
		var all strings.Builder
		for _, n := range s.Notes(pid, iid) {
			all.WriteString(n.Body + "\n")
		}
		got := all.String()
		want := "A plain CREATE INDEX holds a lock that blocks every write to orders until the build ends [1].\n\nSources: [1] ["
		if fail {
			want = "*No explanation: the LLM failed ("
		}
		if !strings.Contains(got, "<details><summary>Explanation</summary>") || !strings.Contains(got, want) {
			t.Errorf("fail=%v: notes lack the explanation %q:\n%s", fail, want, got)
		}
	}
}
