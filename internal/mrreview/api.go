package mrreview

import (
	"context"

	"gitlab.com/pgai/reviewer/internal/gitlab"
)

// ReviewAPI is what a review needs from GitLab: the merge request, its
// diff, and the bot's notes, threads and commit status on it.
type ReviewAPI interface {
	CurrentUser(ctx context.Context) (gitlab.User, error)
	MergeRequest(ctx context.Context, mr gitlab.MR) (gitlab.MergeRequest, error)
	Versions(ctx context.Context, mr gitlab.MR) ([]gitlab.Version, error)
	Diffs(ctx context.Context, mr gitlab.MR) ([]gitlab.Diff, error)
	Notes(ctx context.Context, mr gitlab.MR) ([]gitlab.Note, error)
	CreateNoteOnce(ctx context.Context, mr gitlab.MR, body, marker string) (gitlab.Note, error)
	UpdateNote(ctx context.Context, mr gitlab.MR, noteID int64, body string) error
	DeleteNote(ctx context.Context, mr gitlab.MR, noteID int64) error
	Discussions(ctx context.Context, mr gitlab.MR) ([]gitlab.Discussion, error)
	CreateDiscussionOnce(ctx context.Context, mr gitlab.MR, body string, pos *gitlab.Position, marker string) (gitlab.Discussion, error)
	ReplyOnce(ctx context.Context, mr gitlab.MR, discussionID, body, marker string) (gitlab.Note, error)
	ResolveDiscussion(ctx context.Context, mr gitlab.MR, discussionID string, resolved bool) error
	SetCommitStatus(ctx context.Context, projectID int64, st gitlab.CommitStatus) error
}

// RepositoryAPI reads a project's files at a commit.
type RepositoryAPI interface {
	Tree(ctx context.Context, projectID int64, dir, ref string, recursive bool) ([]gitlab.Blob, error)
	RawFile(ctx context.Context, projectID int64, path, ref string) ([]byte, error)
	RawBlob(ctx context.Context, projectID int64, sha string) ([]byte, error)
}

// CommandAPI is what answering /pgai commands needs beyond a review.
type CommandAPI interface {
	CurrentUser(ctx context.Context) (gitlab.User, error)
	MergeRequest(ctx context.Context, mr gitlab.MR) (gitlab.MergeRequest, error)
	Versions(ctx context.Context, mr gitlab.MR) ([]gitlab.Version, error)
	Notes(ctx context.Context, mr gitlab.MR) ([]gitlab.Note, error)
	Discussion(ctx context.Context, mr gitlab.MR, discussionID string) (gitlab.Discussion, error)
	CreateNoteOnce(ctx context.Context, mr gitlab.MR, body, marker string) (gitlab.Note, error)
	ReplyOnce(ctx context.Context, mr gitlab.MR, discussionID, body, marker string) (gitlab.Note, error)
	AwardEmoji(ctx context.Context, mr gitlab.MR, noteID int64, name string) error
	MemberAccess(ctx context.Context, projectID, userID int64) (gitlab.AccessLevel, error)
}

// GitLab is all of it: what the service wires in; *gitlab.Client has it.
type GitLab interface {
	ReviewAPI
	RepositoryAPI
	CommandAPI
}

var _ GitLab = (*gitlab.Client)(nil)
