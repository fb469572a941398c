package gitlab

import (
	"context"
	"fmt"
	"strings"
)

// The *Once helpers create something at most once even when GitLab fails
// after storing it: the body carries a hidden marker, and a failed create is
// retried only after listing the bot's notes and finding none with it.

// retryCreate runs create; on a retryable failure it asks find whether the
// object landed anyway, and retries only when it did not.
func retryCreate[T any](ctx context.Context, c *Client, create func() (T, error), find func() (T, bool, error)) (T, error) {
	wait := c.opts.CreateRetryWait
	for attempt := 0; ; attempt++ {
		v, err := create()
		if err == nil {
			return v, nil
		}
		if !Retryable(err) || ctx.Err() != nil {
			return v, err
		}
		got, ok, ferr := find()
		if ferr == nil && ok {
			c.log.InfoContext(ctx, "create failed but the object landed; not re-posting", "err", err)
			return got, nil
		}
		if attempt >= c.opts.CreateRetries {
			return v, err
		}
		c.log.WarnContext(ctx, "create failed and did not land; retrying", "err", err, "attempt", attempt+1)
		if err := sleep(ctx, wait); err != nil {
			return v, err
		}
		wait *= 2
	}
}

// FindNote returns the oldest non-system note by the bot containing marker.
func (c *Client) FindNote(ctx context.Context, mr MR, marker string) (Note, bool, error) {
	bot, err := c.CurrentUser(ctx)
	if err != nil {
		return Note{}, false, err
	}
	notes, err := c.Notes(ctx, mr)
	if err != nil {
		return Note{}, false, err
	}
	for _, n := range notes {
		if n.AuthorID == bot.ID && !n.System && strings.Contains(n.Body, marker) {
			return n, true, nil
		}
	}
	return Note{}, false, nil
}

// CreateNoteOnce posts a note whose body contains marker, at most once.
func (c *Client) CreateNoteOnce(ctx context.Context, mr MR, body, marker string) (Note, error) {
	if !strings.Contains(body, marker) {
		return Note{}, fmt.Errorf("create note on %s: body lacks its marker", mr)
	}
	return retryCreate(ctx, c,
		func() (Note, error) { return c.CreateNote(ctx, mr, body) },
		func() (Note, bool, error) { return c.FindNote(ctx, mr, marker) })
}

// CreateDiscussionOnce starts a thread whose first note contains marker,
// at most once.
func (c *Client) CreateDiscussionOnce(ctx context.Context, mr MR, body string, pos *Position, marker string) (Discussion, error) {
	if !strings.Contains(body, marker) {
		return Discussion{}, fmt.Errorf("create discussion on %s: body lacks its marker", mr)
	}
	return retryCreate(ctx, c,
		func() (Discussion, error) { return c.CreateDiscussion(ctx, mr, body, pos) },
		func() (Discussion, bool, error) {
			bot, err := c.CurrentUser(ctx)
			if err != nil {
				return Discussion{}, false, err
			}
			ds, err := c.Discussions(ctx, mr)
			if err != nil {
				return Discussion{}, false, err
			}
			for _, d := range ds {
				if len(d.Notes) > 0 && d.Notes[0].AuthorID == bot.ID && strings.Contains(d.Notes[0].Body, marker) {
					return d, true, nil
				}
			}
			return Discussion{}, false, nil
		})
}

// ReplyOnce adds a note containing marker to a thread, at most once.
func (c *Client) ReplyOnce(ctx context.Context, mr MR, discussionID, body, marker string) (Note, error) {
	if !strings.Contains(body, marker) {
		return Note{}, fmt.Errorf("reply on %s: body lacks its marker", mr)
	}
	find := func() (Note, bool, error) {
		bot, err := c.CurrentUser(ctx)
		if err != nil {
			return Note{}, false, err
		}
		d, err := c.Discussion(ctx, mr, discussionID)
		if err != nil {
			return Note{}, false, err
		}
		for _, n := range d.Notes {
			if n.AuthorID == bot.ID && strings.Contains(n.Body, marker) {
				return n, true, nil
			}
		}
		return Note{}, false, nil
	}
	return retryCreate(ctx, c, func() (Note, error) { return c.Reply(ctx, mr, discussionID, body) }, find)
}
