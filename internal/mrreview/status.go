package mrreview

import (
	"context"
	"fmt"

	"gitlab.com/pgai/reviewer/internal/gitlab"
	"gitlab.com/pgai/reviewer/internal/report"
	"gitlab.com/pgai/reviewer/internal/review"
)

// verdict is the commit status of a review: failed when a blocking
// finding is present (or the configuration is invalid), else success.
func verdict(rep *report.Report) (state, desc string) {
	switch {
	case rep == nil:
		return "failed", ".pgai.yml does not work: see the summary note"
	case rep.Summary.Blocking > 0:
		return "failed", fmt.Sprintf("%d blocking %s", rep.Summary.Blocking, plural(rep.Summary.Blocking, "finding", "findings"))
	case rep.Summary.Errors+rep.Summary.Warnings > 0:
		return "success", fmt.Sprintf("no blocking findings, %d to look at", rep.Summary.Errors+rep.Summary.Warnings)
	}
	return "success", "no blocking findings"
}

// setStatus posts the commit status; failures are logged, not fatal (the
// summary note is what users read).
func (r *Reviewer) setStatus(ctx context.Context, job review.Job, state, url, desc string) {
	if r.o.NoStatus {
		return
	}
	err := r.o.GitLab.SetCommitStatus(ctx, job.ProjectID, gitlab.CommitStatus{
		SHA: job.HeadSHA, Name: r.o.StatusName, State: state, TargetURL: url, Description: desc,
	})
	if err != nil {
		r.log.WarnContext(ctx, "set commit status", "state", state, "err", err)
	}
}
