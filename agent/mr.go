package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/mrreview"
)

// Uploader uploads files to a project; *gitlab.Client has it.
type Uploader interface {
	UploadFile(ctx context.Context, projectID int64, name string, data []byte) (gitlab.Upload, error)
}

// MROptions configure the /pgai ask and /pgai experiment commands.
type MROptions struct {
	// Agent answers /pgai ask; nil or without a model: ask says the LLM
	// is off.
	Agent *Agent
	// Store keeps the threads' conversations and the quota (nil: neither).
	Store *Store
	// Experimenter runs /pgai experiment on a fresh clone (nil: not
	// configured here). It needs no model.
	Experimenter Experimenter
	// Uploader uploads plots to the project.
	Uploader Uploader
	// Quota is the monthly number of requests per GitLab user (0: none).
	Quota  int
	Now    func() time.Time
	Logger *slog.Logger
}

// Commands returns the ask and experiment commands to register with
// mrreview.Reviewer.Register.
func Commands(o MROptions) []*mrreview.Command {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ask := &mrreview.Command{Name: "ask", Usage: "ask QUESTION",
		Summary: "ask about PostgreSQL or this merge request's migrations (answers cite sources)"}
	if o.Agent.Enabled() {
		ask.Summary += "; model " + o.Agent.ModelName() + ", tools: " + strings.Join(o.Agent.Tools().Names(EntryMR), ", ")
		ask.Run = o.ask
	} else {
		ask.NotConfigured = "the LLM is off: no model is configured (the administrator sets PGAI_OPENAI_MODEL and PGAI_OPENAI_BASE_URL or PGAI_OPENAI_API_KEY)"
	}
	exp := &mrreview.Command{Name: "experiment", Usage: "experiment SQL",
		Summary: "run SQL on a fresh thin clone of the database and report the locks it took (held how long, blocking what), timings, rewrites and plans; needs no LLM"}
	if o.Experimenter != nil {
		exp.Run = o.experiment
	} else {
		exp.NotConfigured = "it needs a clone provider (the administrator starts the reviewer with --clone local or --clone dblab)"
	}
	return []*mrreview.Command{ask, exp}
}

func (o MROptions) thread(in *mrreview.Invocation) Thread {
	d := in.Cmd.DiscussionID
	if d == "" {
		d = fmt.Sprintf("note-%d", in.Cmd.NoteID)
	}
	return Thread{Kind: "mr", ProjectID: in.Cmd.ProjectID, MRIID: in.Cmd.MRIID, DiscussionID: d}
}

// quota counts the request; a refusal text when over the limit.
func (o MROptions) quota(ctx context.Context, in *mrreview.Invocation) (string, error) {
	if o.Store == nil || o.Quota <= 0 {
		return "", nil
	}
	q, err := o.Store.TakeQuota(ctx, in.Cmd.AuthorID, o.Quota, o.Now())
	if err != nil {
		return "", err
	}
	if q.OK {
		return "", nil
	}
	return fmt.Sprintf("Sorry, you have used all %d pgai requests of this month (the limit per GitLab user on this reviewer). The quota resets on %s.",
		q.Limit, q.ResetAt.Format("2006-01-02 15:04 MST")), nil
}

func (o MROptions) open(ctx context.Context, in *mrreview.Invocation) (*Conversation, error) {
	th := o.thread(in)
	if o.Store == nil {
		c := NewConversation(th.Kind, th.Key())
		c.ProjectID, c.MRIID, c.DiscussionID = th.ProjectID, th.MRIID, th.DiscussionID
		return c, nil
	}
	return o.Store.Open(ctx, th)
}

type projectAttacher struct {
	up  Uploader
	pid int64
}

func (p projectAttacher) Attach(ctx context.Context, name string, data []byte) (string, error) {
	u, err := p.up.UploadFile(ctx, p.pid, name, data)
	if err != nil {
		return "", err
	}
	return u.Markdown, nil
}

func (o MROptions) ask(ctx context.Context, in *mrreview.Invocation) (string, error) {
	q := strings.TrimSpace(in.Args)
	if q == "" {
		return "What is the question? Write it after `ask`, e.g. `ask why does this ALTER TABLE need a lock_timeout?`", nil
	}
	if refusal, err := o.quota(ctx, in); err != nil || refusal != "" {
		return refusal, err
	}
	conv, err := o.open(ctx, in)
	if err != nil {
		return "", err
	}
	untrusted := []Untrusted{{Label: "merge request title", Text: in.MR.Title}}
	if in.Cmd.Path != "" {
		untrusted = append(untrusted, Untrusted{Label: "the comment is on a diff line", Text: fmt.Sprintf("%s line %d", in.Cmd.Path, in.Cmd.Line)})
	}
	question := Question{Text: q, Entry: EntryMR, Untrusted: untrusted}
	if o.Uploader != nil {
		question.Attach = projectAttacher{up: o.Uploader, pid: in.Cmd.ProjectID}
	}
	ans, err := o.Agent.Ask(ctx, conv, question)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return "", err
		}
		o.Logger.ErrorContext(ctx, "ask", "err", err)
		return "I could not answer: " + o.Agent.redact(err.Error()) + ". Nothing else was changed; try again later.", nil
	}
	var b strings.Builder
	b.WriteString(ans.Text())
	fmt.Fprintf(&b, "\n\n<sub>Answered by the LLM %s with %d tool call(s), %d tokens. Facts come from the tools' results cited above; check them before relying on them.</sub>",
		ans.Model, len(ans.Tools), ans.Usage.Total())
	return b.String(), nil
}

var fenceRe = regexp.MustCompile("(?s)^```[a-zA-Z]*\\s*\n(.*?)\n?```\\s*$")

// experimentSQL takes the SQL from the command, with or without a fence.
func experimentSQL(args string) string {
	s := strings.TrimSpace(args)
	if m := fenceRe.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	return strings.TrimSpace(s)
}

func (o MROptions) experiment(ctx context.Context, in *mrreview.Invocation) (string, error) {
	sql := experimentSQL(in.Args)
	if sql == "" {
		return "Which SQL? Write it after `experiment`, e.g. `experiment LOCK TABLE t IN ACCESS EXCLUSIVE MODE` (several statements, or a ```sql block, are fine).", nil
	}
	if refusal, err := o.quota(ctx, in); err != nil || refusal != "" {
		return refusal, err
	}
	s, err := RunExperiment(ctx, o.Experimenter, sql, false)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return "", err
		}
		return "The experiment did not run: " + mdCell(o.Agent.redact(err.Error())), nil
	}
	reply := s.Markdown()
	if o.Store != nil {
		// Keep it in the thread, so a following /pgai ask can use it.
		conv, err := o.open(ctx, in)
		if err == nil {
			err = o.Store.SaveTurn(ctx, conv, []Message{
				{Role: openai.ChatMessageRoleUser, Content: "/pgai experiment\n" + sql},
				{Role: openai.ChatMessageRoleAssistant, Content: reply},
			}, nil)
		}
		if err != nil {
			o.Logger.WarnContext(ctx, "store experiment", "err", err)
		}
	}
	return reply, nil
}
