package gitlab

import (
	"bytes"
	"context"
	"fmt"
	"io"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// Pipeline is a CI pipeline.
type Pipeline struct {
	ID     int64
	Status string // created, waiting_for_resource, preparing, pending, running, success, failed, canceled, skipped, manual, scheduled
	Ref    string
	WebURL string
}

// Finished reports whether the pipeline reached a final state.
func (p Pipeline) Finished() bool {
	switch p.Status {
	case "success", "failed", "canceled", "skipped":
		return true
	}
	return false
}

// Job is a job of a pipeline.
type Job struct {
	ID            int64
	Name          string
	Stage         string
	Status        string
	FailureReason string
	WebURL        string
	// HasArtifacts is true when the job uploaded an artifacts archive.
	HasArtifacts bool
}

// CreatePipeline starts a pipeline on ref of a project (id or
// "group/name") with the given CI variables. Not retried: a retried POST
// could start two pipelines.
func (c *Client) CreatePipeline(ctx context.Context, project, ref string, variables map[string]string) (Pipeline, error) {
	vars := make([]*gl.PipelineVariableOptions, 0, len(variables))
	for k, v := range variables {
		vars = append(vars, &gl.PipelineVariableOptions{Key: gl.Ptr(k), Value: gl.Ptr(v), VariableType: gl.Ptr(gl.EnvVariableType)})
	}
	p, _, err := c.api.Pipelines.CreatePipeline(project, &gl.CreatePipelineOptions{Ref: gl.Ptr(ref), Variables: &vars}, ctxOpt(ctx))
	if err != nil {
		return Pipeline{}, c.wrap(fmt.Sprintf("create pipeline on %s@%s", project, ref), err)
	}
	return convPipeline(p), nil
}

func convPipeline(p *gl.Pipeline) Pipeline {
	return Pipeline{ID: p.ID, Status: p.Status, Ref: p.Ref, WebURL: p.WebURL}
}

// Pipeline reads a pipeline.
func (c *Client) Pipeline(ctx context.Context, project string, id int64) (Pipeline, error) {
	p, _, err := c.api.Pipelines.GetPipeline(project, id, ctxOpt(ctx))
	if err != nil {
		return Pipeline{}, c.wrap(fmt.Sprintf("get pipeline %d of %s", id, project), err)
	}
	return convPipeline(p), nil
}

// CancelPipeline cancels a pipeline's running and pending jobs.
func (c *Client) CancelPipeline(ctx context.Context, project string, id int64) error {
	_, _, err := c.api.Pipelines.CancelPipelineBuild(project, id, ctxOpt(ctx))
	return c.wrap(fmt.Sprintf("cancel pipeline %d of %s", id, project), err)
}

// PipelineJobs lists a pipeline's jobs (all pages).
func (c *Client) PipelineJobs(ctx context.Context, project string, id int64) ([]Job, error) {
	var out []Job
	opt := &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		js, resp, err := c.api.Jobs.ListPipelineJobs(project, id, opt, ctxOpt(ctx))
		if err != nil {
			return nil, c.wrap(fmt.Sprintf("list jobs of pipeline %d of %s", id, project), err)
		}
		for _, j := range js {
			out = append(out, Job{ID: j.ID, Name: j.Name, Stage: j.Stage, Status: j.Status, FailureReason: j.FailureReason,
				WebURL: j.WebURL, HasArtifacts: j.ArtifactsFile.Filename != ""})
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// JobArtifacts downloads a job's artifacts archive (a zip); ErrNotFound
// when the job has none.
func (c *Client) JobArtifacts(ctx context.Context, project string, jobID int64) ([]byte, error) {
	r, _, err := c.api.Jobs.GetJobArtifacts(project, jobID, ctxOpt(ctx))
	if err != nil {
		return nil, c.wrap(fmt.Sprintf("download artifacts of job %d of %s", jobID, project), err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("gitlab download artifacts of job %d: %w", jobID, err)
	}
	return b, nil
}

// Upload is a file uploaded to a project, to be shown in a note.
type Upload struct {
	// Markdown is what GitLab suggests writing in a note, e.g.
	// "![plot](/uploads/<secret>/plot.png)".
	Markdown string
	// URL is the upload's path relative to the project ("/uploads/...").
	URL string
	// FullPath is the path relative to the instance.
	FullPath string
}

// UploadFile uploads a file to a project (POST /projects/:id/uploads) so
// that a note can show it (an image, a plot). Not retried: each attempt
// would store another copy.
func (c *Client) UploadFile(ctx context.Context, projectID int64, filename string, content []byte) (Upload, error) {
	f, _, err := c.api.ProjectMarkdownUploads.UploadProjectMarkdown(projectID, bytes.NewReader(content), filename, ctxOpt(ctx))
	if err != nil {
		return Upload{}, c.wrap(fmt.Sprintf("upload %s to project %d", filename, projectID), err)
	}
	return Upload{Markdown: f.Markdown, URL: f.URL, FullPath: f.FullPath}, nil
}
