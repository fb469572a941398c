package mrreview

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"gitlab.com/pgai/reviewer/checks"
	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/internal/review"
	"gitlab.com/pgai/reviewer/webhook"
)

// Invocation is what a command handler gets.
type Invocation struct {
	Cmd webhook.Command
	// Args is the text after the command name (may span lines).
	Args string
	MR   gitlab.MergeRequest
	// Reviewer runs reviews (for commands that need one).
	Reviewer *Reviewer
}

// Command is a /pgai subcommand.
type Command struct {
	Name string
	// Usage is the syntax, e.g. "explain RULE-ID".
	Usage string
	// Summary is one line for help.
	Summary string
	// Run answers the command; the reply is posted in the note's thread.
	// Nil means the command exists but is not configured here.
	Run func(ctx context.Context, in *Invocation) (reply string, err error)
	// NotConfigured says what to set up when Run is nil.
	NotConfigured string
}

// Register adds or replaces a command (ask, experiment and bench plug in
// here once their engines are configured).
func (r *Reviewer) Register(c *Command) { r.commands[c.Name] = c }

func (r *Reviewer) registerBuiltins() {
	r.Register(&Command{Name: "help", Usage: "help", Summary: "list the commands", Run: r.help})
	r.Register(&Command{Name: "review", Usage: "review", Summary: "review the migrations of this merge request again, now", Run: r.reReview})
	r.Register(&Command{Name: "explain", Usage: "explain RULE-ID", Summary: "what a rule flags, why it matters and the safe way", Run: explain})
	r.Register(&Command{Name: "ask", Usage: "ask QUESTION", Summary: "ask about PostgreSQL or this merge request's migrations (answers cite sources)",
		NotConfigured: "it needs an LLM endpoint and the knowledge base (the reviewer's administrator sets them up)"})
	r.Register(&Command{Name: "experiment", Usage: "experiment SQL", Summary: "run SQL on a thin clone of the database and report locks, timings and plans",
		NotConfigured: "it needs a clone provider (DBLab Engine or a local PostgreSQL the administrator names)"})
	r.Register(&Command{Name: "bench", Usage: "bench [pgbench options]", Summary: "run pgbench on a clone, before and after this merge request's migrations",
		NotConfigured: "it needs a clone provider and pgbench on the reviewer's host"})
}

// replyMarker identifies the bot's answer to one command note.
func replyMarker(noteID int64) string {
	return Marker{Kind: KindReply, Value: fmt.Sprint(noteID)}.Format()
}

// Command answers a /pgai note: 👀 at once, an access check, then the
// answer in the same thread.
func (r *Reviewer) Command(ctx context.Context, cmd webhook.Command) error {
	var gl CommandAPI = r.o.GitLab
	mr := gitlab.MR{ProjectID: cmd.ProjectID, IID: cmd.MRIID}
	log := r.log.With("project_id", cmd.ProjectID, "mr_iid", cmd.MRIID, "note_id", cmd.NoteID)
	marker := replyMarker(cmd.NoteID)
	if done, err := r.answered(ctx, mr, cmd, marker); err != nil || done {
		// A retried job whose answer already landed does nothing.
		return classify(err)
	}
	if err := gl.AwardEmoji(ctx, mr, cmd.NoteID, "eyes"); err != nil {
		if gitlab.Retryable(err) {
			return err
		}
		log.WarnContext(ctx, "award emoji", "err", err)
	}
	name, args := parseCommand(cmd.Text)
	var reply string
	level, err := gl.MemberAccess(ctx, cmd.ProjectID, cmd.AuthorID)
	if err != nil {
		return classify(err)
	}
	switch c := r.commands[name]; {
	case level < r.o.MinAccess:
		who := "you"
		if cmd.AuthorUsername != "" {
			who = "@" + cmd.AuthorUsername + ", you"
		}
		reply = fmt.Sprintf("Sorry %s need at least %s access to this project to run pgai commands (you have %s). Ask a project maintainer to run it, or to grant you access.",
			who, r.o.MinAccess, level)
	case name == "":
		reply, err = r.help(ctx, nil)
	case c == nil:
		h, _ := r.help(ctx, nil)
		reply = fmt.Sprintf("I don't know the command `%s`.\n\n%s", sanitizeInline(name), h)
	case c.Run == nil:
		reply = fmt.Sprintf("`%s` is not configured on this reviewer: %s.", c.Name, c.NotConfigured)
	default:
		m, merr := gl.MergeRequest(ctx, mr)
		if merr != nil {
			return classify(merr)
		}
		reply, err = c.Run(ctx, &Invocation{Cmd: cmd, Args: args, MR: m, Reviewer: r})
	}
	if err != nil {
		if gitlab.Retryable(err) {
			return err
		}
		log.ErrorContext(ctx, "command failed", "command", name, "err", err)
		reply = fmt.Sprintf("The command `%s` failed: %s", sanitizeInline(name), sanitizeInline(err.Error()))
	}
	body := report.NoQuickActions(marker + "\n" + reply)
	if cmd.DiscussionID != "" {
		_, err = gl.ReplyOnce(ctx, mr, cmd.DiscussionID, body, marker)
	} else {
		_, err = gl.CreateNoteOnce(ctx, mr, body, marker)
	}
	return classify(err)
}

// answered reports whether the bot already answered this command note.
func (r *Reviewer) answered(ctx context.Context, mr gitlab.MR, cmd webhook.Command, marker string) (bool, error) {
	bot, err := r.o.GitLab.CurrentUser(ctx)
	if err != nil {
		return false, err
	}
	var notes []gitlab.Note
	if cmd.DiscussionID != "" {
		d, err := r.o.GitLab.Discussion(ctx, mr, cmd.DiscussionID)
		if err != nil {
			return false, err
		}
		notes = d.Notes
	} else if notes, err = r.o.GitLab.Notes(ctx, mr); err != nil {
		return false, err
	}
	for _, n := range notes {
		if n.AuthorID == bot.ID && strings.Contains(n.Body, marker) {
			return true, nil
		}
	}
	return false, nil
}

// parseCommand splits "/pgai name args..." (name lower-cased).
func parseCommand(text string) (name, args string) {
	rest := strings.TrimPrefix(strings.TrimSpace(text), webhook.Prefix)
	rest = strings.TrimLeft(rest, " \t")
	first, tail, _ := strings.Cut(rest, "\n")
	fields := strings.Fields(first)
	if len(fields) == 0 {
		return "", strings.TrimSpace(tail)
	}
	name = strings.ToLower(fields[0])
	args = strings.TrimSpace(strings.TrimPrefix(strings.TrimLeft(first, " \t"), fields[0]))
	if tail != "" {
		args = strings.TrimSpace(args + "\n" + tail)
	}
	return name, args
}

// sanitizeInline makes user text safe inside an inline code span.
func sanitizeInline(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func (r *Reviewer) help(_ context.Context, _ *Invocation) (string, error) {
	names := make([]string, 0, len(r.commands))
	for n := range r.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("pgai reviewer commands (write them at the start of a comment line):\n\n| command | what it does |\n|---|---|\n")
	for _, n := range names {
		c := r.commands[n]
		s := c.Summary
		if c.Run == nil {
			s += " *(not configured here)*"
		}
		fmt.Fprintf(&b, "| `%s %s` | %s |\n", webhook.Prefix, c.Usage, s)
	}
	fmt.Fprintf(&b, "\nCommands need at least %s access to the project.", r.o.MinAccess)
	return b.String(), nil
}

func (r *Reviewer) reReview(ctx context.Context, in *Invocation) (string, error) {
	mr := gitlab.MR{ProjectID: in.Cmd.ProjectID, IID: in.Cmd.MRIID}
	if in.MR.State != "opened" {
		return fmt.Sprintf("This merge request is %s; there is nothing to review.", in.MR.State), nil
	}
	vs, err := r.o.GitLab.Versions(ctx, mr)
	if err != nil {
		return "", err
	}
	if len(vs) == 0 {
		return "GitLab has not computed this merge request's diff yet; try again in a minute.", nil
	}
	job := review.Job{ProjectID: mr.ProjectID, MRIID: mr.IID, HeadSHA: vs[0].HeadSHA}
	res, err := r.Run(ctx, job, r.gitlabTree(job))
	if err != nil {
		return "", err
	}
	switch res.Outcome {
	case OutcomeNoMigrations:
		return "This merge request changes no migration files, so there is nothing to review.", nil
	case OutcomeStale:
		return "A newer commit arrived while reviewing; its review will follow.", nil
	}
	s := fmt.Sprintf("Reviewed commit `%s` again: see the [summary](%s)", short(job.HeadSHA), res.NoteURL)
	if res.Report != nil {
		s += fmt.Sprintf(" (%d blocking, %d errors, %d warnings)", res.Report.Summary.Blocking, res.Report.Summary.Errors, res.Report.Summary.Warnings)
	}
	return s + ".", nil
}

func explain(_ context.Context, in *Invocation) (string, error) {
	id := strings.ToLower(strings.TrimSpace(in.Args))
	if f := strings.Fields(id); len(f) > 0 {
		id = f[0]
	}
	if id == "" {
		return "Which rule? Write the rule id after `explain`, e.g. `explain index-create-nonconcurrent` (the id is in each finding).", nil
	}
	r := checks.Lookup(id)
	if r == nil {
		var close []string
		for _, x := range checks.All() {
			if strings.Contains(x.ID, id) || strings.Contains(id, x.ID) {
				close = append(close, "`"+x.ID+"`")
			}
		}
		msg := fmt.Sprintf("There is no rule `%s`.", sanitizeInline(id))
		if len(close) > 0 {
			msg += " Did you mean " + strings.Join(close, ", ") + "?"
		}
		return msg, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**`%s`** (%s, %s): %s\n\n", r.ID, r.Severity, r.Group, r.Summary)
	if r.Why != "" {
		fmt.Fprintf(&b, "**Why:** %s\n\n", r.Why)
	}
	if r.Fix != "" {
		fmt.Fprintf(&b, "**Fix:** %s\n\n", report.FencedSQL(r.Fix))
	}
	if r.DocsURL != "" {
		fmt.Fprintf(&b, "📖 %s\n\n", r.DocsURL)
	}
	if r.Off {
		b.WriteString("This rule is off by default; turn it on with `rules: {" + r.ID + ": on}` in `.pgai.yml`.\n")
	}
	fmt.Fprintf(&b, "Silence one occurrence with `-- pgai:ignore %s reason` above the statement.", r.ID)
	return b.String(), nil
}
