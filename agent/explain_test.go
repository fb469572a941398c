package agent

import (
	openai "github.com/sashabaranov/go-openai"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"gitlab.com/pgai/reviewer/agent/agenttest"
	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/kb"
)

func TestExplainFindings(t *testing.T) {
	t.Parallel()
	s, db := testKB(t)
	f := agenttest.New(t)
	x := &Explainer{Model: testModel(t, f), KB: s, Store: NewStore(db.Pool(t))}
	fs := []checks.Finding{
		{Rule: "alter-column-type", Message: "ALTER COLUMN TYPE rewrites the table under an ACCESS EXCLUSIVE lock", Statement: "ALTER TABLE t ALTER COLUMN v TYPE bigint",
			Fingerprint: "fp1", Blocking: true, Measured: "rewrote t (1000 rows) holding AccessExclusiveLock for 41 ms"},
		{Rule: "alter-column-type", Message: "same", Statement: "ALTER TABLE t ALTER COLUMN v TYPE bigint", Fingerprint: "fp1", Blocking: true},
		{Rule: "lock-timeout-missing", Message: "no lock_timeout", Fingerprint: "fp2", Blocking: false},
	}
	long := strings.Repeat("word ", 120)
	f.SetPolicy(func(req *openai.ChatCompletionRequest) agenttest.Reply {
		// Cite the source numbered for ALTER TABLE in the prompt.
		n := regexp.MustCompile(`\[(\d)\] ALTER TABLE`).FindStringSubmatch(agenttest.LastUser(req))
		if n == nil {
			return agenttest.Reply{Content: "no source"}
		}
		c := "[" + n[1] + "]"
		return agenttest.Reply{Content: "Changing the type rewrites the whole table and its indexes " + c + " while an ACCESS EXCLUSIVE lock blocks reads and writes " + c + " [7]; on the clone it held the lock for 41 ms. See https://invented.example/x " + long}
	})
	got := x.ExplainFindings(t.Context(), "", fs)
	if len(got) != 1 {
		t.Fatalf("explanations %v", got)
	}
	e := got["fp1"]
	body, _, _ := strings.Cut(e, "\n\nSources: ")
	if n := len(strings.Fields(body)); n > 81 || strings.Contains(e, "invented.example") {
		t.Errorf("%d words or invented link:\n%s", n, e)
	}
	if !strings.Contains(e, "[1] [ALTER TABLE — Notes]("+urlAlterTable+")") || strings.Contains(body, "[2]") || strings.Contains(body, "[7]") {
		t.Errorf("citation not renumbered to the kb result:\n%s", e)
	}
	prompt := f.Requests()[0].Messages[1].Content
	if !strings.Contains(prompt, "held") && !strings.Contains(prompt, "AccessExclusiveLock for 41 ms") {
		t.Errorf("measurement not in the prompt:\n%s", prompt)
	}
	// A re-review does not ask again.
	if again := x.ExplainFindings(t.Context(), "", fs); again["fp1"] != e || len(f.Requests()) != 1 {
		t.Errorf("not cached: %d model calls", len(f.Requests()))
	}
	// The model fails: the review gets a note instead, and no second call.
	f2 := agenttest.New(t)
	f2.Script(agenttest.Reply{Status: http.StatusBadRequest})
	x2 := &Explainer{Model: testModel(t, f2), KB: s}
	fs2 := []checks.Finding{{Rule: "r1", Message: "m", Fingerprint: "a", Blocking: true}, {Rule: "r2", Message: "m", Fingerprint: "b", Blocking: true}}
	got = x2.ExplainFindings(t.Context(), "", fs2)
	for _, fp := range []string{"a", "b"} {
		if !strings.HasPrefix(got[fp], "*No explanation: the LLM failed") {
			t.Errorf("%s: %q", fp, got[fp])
		}
	}
	if len(f2.Requests()) != 1 {
		t.Errorf("%d calls after a failure", len(f2.Requests()))
	}
	// The per-review budget.
	x3 := &Explainer{Model: testModel(t, f2), KB: s, ReviewTokens: 100}
	if got := x3.ExplainFindings(t.Context(), "", fs2); !strings.Contains(got["a"], "budget is spent") {
		t.Errorf("budget: %q", got["a"])
	}
}

// The page the finding's "read more" link names is the first source, in
// the version the knowledge base holds, even when its words rank another
// page first.
func TestExplainCitesTheFindingsLink(t *testing.T) {
	t.Parallel()
	s, _ := testKB(t)
	f := agenttest.New(t)
	x := &Explainer{Model: testModel(t, f), KB: s}
	f.SetPolicy(func(req *openai.ChatCompletionRequest) agenttest.Reply {
		return agenttest.Reply{Content: "A lock wait queues every later query behind it [1]."}
	})
	fs := []checks.Finding{{Rule: "missing-lock-timeout", Message: "ALTER TABLE rewrites the table under an ACCESS EXCLUSIVE lock with no timeout",
		DocsURL: "https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT", Fingerprint: "fp", Blocking: true}}
	e := x.ExplainFindings(t.Context(), "", fs)["fp"]
	if !strings.Contains(e, "[1] [19.11. Client Connection Defaults — lock_timeout (integer)]("+urlLockTimeout+")") {
		t.Errorf("first source is not the finding's link:\n%s", e)
	}
	prompt := f.Requests()[0].Messages[1].Content
	if !strings.Contains(prompt, "[1] 19.11. Client Connection Defaults — lock_timeout (integer) ("+urlLockTimeout+")") {
		t.Errorf("prompt's first source:\n%s", prompt)
	}
}

// The sources of an explanation come from the version the project
// targets when the knowledge base holds it, else from the newest.
func TestExplainCitesTheProjectsVersion(t *testing.T) {
	t.Parallel()
	s, _ := testKB(t)
	url17 := strings.Replace(urlLockTimeout, "/docs/15/", "/docs/17/", 1)
	d := kb.Document{Key: "docs/17/runtime-config-client.html", Kind: kb.KindDocs, Title: "19.11. Client Connection Defaults", Author: "The PostgreSQL Global Development Group",
		URL: strings.Split(url17, "#")[0], Trust: kb.TrustHigh, PGVersion: "17",
		Chunks: []kb.Chunk{{Heading: []string{"19.11. Client Connection Defaults", "lock_timeout (integer)"}, URL: url17,
			Text: "lock_timeout (integer): Abort any statement that waits longer than the specified amount of time while attempting to acquire a lock."}}}
	if _, err := s.Ingest(t.Context(), "docs:17", []kb.Document{d}, nil); err != nil {
		t.Fatal(err)
	}
	f := agenttest.New(t)
	f.SetPolicy(func(*openai.ChatCompletionRequest) agenttest.Reply {
		return agenttest.Reply{Content: "A lock wait queues every later query behind it [1]."}
	})
	x := &Explainer{Model: testModel(t, f), KB: s}
	finding := checks.Finding{Rule: "missing-lock-timeout", Message: "no lock_timeout before this ALTER TABLE",
		DocsURL: "https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT", Fingerprint: "fp", Blocking: true}
	for _, tc := range []struct{ version, want string }{{"15.4", urlLockTimeout}, {"", url17}, {"16", url17}} {
		e := x.ExplainFindings(t.Context(), tc.version, []checks.Finding{finding})["fp"]
		if !strings.Contains(e, "[1] [19.11. Client Connection Defaults — lock_timeout (integer)]("+tc.want+")") {
			t.Errorf("pg_version %q: first source is not %s:\n%s", tc.version, tc.want, e)
		}
	}
}
